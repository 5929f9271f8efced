"""The daily digest: one e-mail per user and day, in their language, never twice.

Time is moved with time-machine: the messages are written during a day in Shanghai, and the
digest runs after that day ends.
"""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import digest, messages
from notifications.digest import send_digests
from notifications.models import Digest, Notification
from notifications.preferences import set_preferences
from notifications.tasks import send_daily_digests

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2026, 3, 3)
MORNING = dt.datetime(2026, 3, 3, 9, 30, tzinfo=SHANGHAI)
EVENING = dt.datetime(2026, 3, 3, 23, 50, tzinfo=SHANGHAI)
NEXT_DAY = dt.datetime(2026, 3, 4, 0, 10, tzinfo=SHANGHAI)
DIGEST = {"inbox": True, "email": True, "digest": True}


@pytest.fixture
def mailbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SITE_URL = "https://qinqing.example"
    return mail.outbox


def remind(users, reference: str, when: dt.datetime) -> None:
    with time_machine.travel(when, tick=False):
        context = {"reference": reference, "title": "Broken road", "enterprise": "Acme Valves"}
        rows = messages.rows_for_many(
            "reminder", [(users, {**context, "clock": "", "when": "is due"}, "/requests/7/")]
        )
        messages.save_rows(rows)


def digests_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def test_a_days_digest_kinds_go_out_as_one_email_after_midnight(cast, mailbox):
    set_preferences(cast.liam, {"reminder": DIGEST})
    remind([cast.liam, cast.hank], "QQ-1", MORNING)
    remind([cast.liam], "QQ-2", EVENING)
    # Liam's rows wait for the digest; Hank's reminders are mailed at once as before.
    assert not Notification.objects.filter(recipient=cast.liam, email_wanted=True).exists()
    assert Notification.objects.filter(recipient=cast.hank, email_wanted=True).count() == 1

    with time_machine.travel(EVENING, tick=False):
        assert send_digests() == 0  # the day is not over: nothing yet
    with time_machine.travel(NEXT_DAY, tick=False):
        assert send_digests() == 1

    [message] = digests_to("liam@example.org")
    assert "QQ-1" in message.body and "QQ-2" in message.body
    assert message.body.index("QQ-1") < message.body.index("QQ-2")  # in the day's order
    assert "2026-03-03" in message.subject
    assert digests_to("hank@example.org") == []
    assert Digest.objects.get(user=cast.liam).items == 2


def test_running_again_or_late_sends_nothing_twice(cast, mailbox):
    set_preferences(cast.liam, {"reminder": DIGEST})
    remind([cast.liam], "QQ-1", MORNING)
    with time_machine.travel(NEXT_DAY, tick=False):
        assert send_daily_digests() == 1
        assert send_daily_digests() == 0
    with time_machine.travel(NEXT_DAY + dt.timedelta(hours=20), tick=False):
        assert send_digests() == 0  # the catch-up looks back, finds it sent
    assert len(digests_to("liam@example.org")) == 1


def test_a_missed_run_is_caught_up_the_next_day(cast, mailbox):
    set_preferences(cast.liam, {"reminder": DIGEST})
    remind([cast.liam], "QQ-1", MORNING)
    with time_machine.travel(NEXT_DAY + dt.timedelta(days=1), tick=False):
        assert send_digests() == 1
    assert Digest.objects.get(user=cast.liam).day == DAY


def test_a_digest_claimed_by_a_concurrent_run_is_left_to_it(cast, mailbox):
    """Two runs at once: the one that claims the (user, day) row sends; the other finds it
    claimed and sends nothing, until the claim is old enough to be presumed lost."""
    set_preferences(cast.liam, {"reminder": DIGEST})
    remind([cast.liam], "QQ-1", MORNING)
    now = NEXT_DAY.astimezone(dt.UTC)
    Digest.objects.create(user=cast.liam, day=DAY)
    assert digest.claim([cast.liam.pk], DAY, now) == [cast.liam.pk]  # the other run's claim
    assert digest.claim([cast.liam.pk], DAY, now) == []
    assert digest.send_digests_of(DAY, now + dt.timedelta(seconds=1)) == 0
    assert digests_to("liam@example.org") == []
    later = now + digest.claim_timeout() + dt.timedelta(seconds=1)
    assert digest.send_digests_of(DAY, later) == 1  # the claim lapsed: its worker is gone
    assert digest.send_digests_of(DAY, later) == 0
    assert len(digests_to("liam@example.org")) == 1


@pytest.mark.parametrize(
    ("language", "greeting", "subject"),
    [("en", "Dear Liam,", "Reminder: QQ-1 is due"), ("zh-hans", "Liam，您好：", "催办：QQ-1")],
)
def test_the_digest_is_in_the_users_language(cast, mailbox, language, greeting, subject):
    cast.liam.language = language
    cast.liam.save(update_fields=["language"])
    set_preferences(cast.liam, {"reminder": DIGEST})
    remind([cast.liam], "QQ-1", MORNING)
    with time_machine.travel(NEXT_DAY, tick=False):
        send_digests()
    [message] = digests_to("liam@example.org")
    assert message.body.startswith(greeting)
    assert subject in message.body  # the messages were written in it too
    [(html, _mimetype)] = message.alternatives
    assert f'<html lang="{language}">' in html


def test_a_kind_e_mailed_at_once_is_never_digested(cast, mailbox):
    remind([cast.liam], "QQ-1", MORNING)  # the default: e-mail at once
    set_preferences(cast.liam, {"reminder": DIGEST})  # changed later that day
    remind([cast.liam], "QQ-2", EVENING)
    with time_machine.travel(NEXT_DAY, tick=False):
        send_digests()
    [message] = digests_to("liam@example.org")
    assert "QQ-2" in message.body and "QQ-1" not in message.body


def test_users_without_an_address_or_digest_kinds_get_none(cast, mailbox):
    set_preferences(cast.liam, {"reminder": DIGEST})
    cast.liam.email = ""
    cast.liam.save(update_fields=["email"])
    set_preferences(cast.hank, {"reminder": {"email": False}})
    remind([cast.liam, cast.hank], "QQ-1", MORNING)
    with time_machine.travel(NEXT_DAY, tick=False):
        assert send_digests() == 0
    assert mail.outbox == [] and not Digest.objects.exists()


def test_the_digest_run_reads_a_constant_number_of_queries_per_set(cast, mailbox):
    for user in (cast.liam, cast.hank, cast.leona):
        set_preferences(user, {"reminder": DIGEST})
    remind([cast.liam], "QQ-1", MORNING)
    with time_machine.travel(NEXT_DAY, tick=False), CaptureQueriesContext(connection) as few:
        send_digests()
    Digest.objects.all().delete()
    mail.outbox.clear()
    remind([cast.hank, cast.leona], "QQ-2", MORNING)
    with time_machine.travel(NEXT_DAY, tick=False), CaptureQueriesContext(connection) as more:
        send_digests()
    assert len(mail.outbox) == 3
    # One stamp per digest sent (so a killed worker resends at most one), nothing else per user.
    assert len(more) - len(few) == 2


def test_times_are_the_portals_days(cast, mailbox):
    start, end = digest.day_bounds(DAY)
    assert start == dt.datetime(2026, 3, 2, 16, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(days=1)
    assert timezone.localdate(NEXT_DAY) == DAY + dt.timedelta(days=1)
