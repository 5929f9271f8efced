"""E-mails go out in sets: claimed and loaded in a few statements per set, over one connection
to the mail server, and each marked as soon as the mail server took it."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications import outbox, tasks
from notifications.models import Notification
from notifications.tasks import send_notification_emails
from tests.notifications.test_outbox_claims import NOW, backlog

pytestmark = pytest.mark.django_db


def _statements(count: int, cast) -> tuple[int, list[Notification]]:
    rows = backlog(cast.hank, count, NOW - dt.timedelta(hours=1))
    with CaptureQueriesContext(connection) as queries:
        assert send_notification_emails.delay([row.pk for row in rows]).get() == count
    return len(queries), rows


@time_machine.travel(NOW, tick=False)
def test_one_statement_per_email_and_a_few_per_set(cast, eager_tasks, monkeypatch):
    monkeypatch.setattr(tasks, "CLAIM_SET", 10)
    one, _ = _statements(10, cast)
    two, _ = _statements(20, cast)
    three, rows = _statements(30, cast)
    # Each further set of ten costs the same: ten marks, and its claim (savepoint, select,
    # update, release) and load.
    assert three - two == two - one <= 10 + 5
    assert len(mail.outbox) == 60
    assert not Notification.objects.filter(pk__in=[r.pk for r in rows], emailed_at=None).exists()


class CountingBackend(EmailBackend):
    opened = 0

    def open(self):
        CountingBackend.opened += 1
        return super().open()


@time_machine.travel(NOW, tick=False)
def test_a_set_goes_out_over_one_connection(cast, eager_tasks, settings, monkeypatch):
    settings.EMAIL_BACKEND = "tests.notifications.test_outbox_sets.CountingBackend"
    monkeypatch.setattr(tasks, "CLAIM_SET", 5)
    CountingBackend.opened = 0
    _statements(12, cast)
    assert CountingBackend.opened == 3


class UnreachableBackend(EmailBackend):
    def open(self):
        raise ConnectionRefusedError("the mail server is down")


@time_machine.travel(NOW, tick=False)
def test_an_unreachable_mail_server_frees_the_set_for_the_retry(cast, eager_tasks, settings):
    settings.EMAIL_BACKEND = "tests.notifications.test_outbox_sets.UnreachableBackend"
    rows = backlog(cast.hank, 3, NOW - dt.timedelta(hours=1))
    failed: list[int] = []
    assert tasks._send_set(outbox.claim_set([row.pk for row in rows], NOW), failed) == 0
    assert sorted(failed) == sorted(row.pk for row in rows)
    stored = Notification.objects.filter(pk__in=[row.pk for row in rows])
    assert {(n.emailed_at, n.email_claimed_at, n.email_attempts) for n in stored} == {
        (None, None, 1)
    }
