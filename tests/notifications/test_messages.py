"""Outbound messages: e-mail in the recipient's language, sent after commit by Celery, retried.

The e-mail leaves through `notifications.tasks.send_notification_emails`, enqueued when the
transaction that wrote the inbox rows commits. Here Celery runs eagerly (in-process) and
Django's locmem backend collects the mail; a failing mail server and a broker that is down are
simulated, and neither may undo or block the change that caused the message.
"""

import datetime as dt
import smtplib
from unittest import mock

import pytest
import time_machine
from celery.exceptions import Retry
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from notifications import messages as notifications
from notifications.email import EMAIL_MAX_ATTEMPTS
from notifications.messages import build, requeue_unsent
from notifications.models import Notification
from notifications.tasks import send_notification_emails
from requests_app.escalation import sweep
from requests_app.firing import CLOCK_DEADLINES, NOT_ASSIGNED, message_defaults, when_due
from requests_app.models import EscalationFiring, RequestEvent, ServiceRequest, Status
from requests_app.tasks import run_deadline_sweep
from requests_app.workflow import transition
from tests.factories import ServiceRequestFactory

pytestmark = pytest.mark.django_db

SITE = "https://qinqing.example"
REFUSED = "hilda@example.org"


class BrokenMailServer(BaseEmailBackend):
    """A mail server that is down: every message is refused."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPException("451 4.3.0 Mail server temporarily unavailable")


class RefusesHilda(LocmemBackend):
    """Delivers to the outbox like locmem, but the connection drops on one address."""

    def send_messages(self, messages):
        if any(REFUSED in message.to for message in messages):
            raise ConnectionError("Connection reset by peer")
        return super().send_messages(messages)


def assign(cast, request: ServiceRequest) -> ServiceRequest:
    return transition(request.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank)


def rows_about(request: ServiceRequest) -> list[Notification]:
    link = reverse("requests:detail", args=[request.pk])
    return list(Notification.objects.filter(link=link).order_by("id"))


def mail_to(address: str):
    [message] = [message for message in mail.outbox if message.to == [address]]
    return message


# --- content -------------------------------------------------------------------------------------

ASSIGNED = [
    # language, subject, greeting, link text
    ("en", "New request for your department: {ref}", "Dear Hank,", "Open it in Qinqing:"),
    ("zh-hans", "本单位新交办诉求：{ref}", "Hank，您好：", "在亲清平台中查看："),
]


@pytest.mark.parametrize("language, subject, greeting, link_text", ASSIGNED)
def test_an_email_goes_out_after_commit_in_the_recipients_language(
    cast, eager_tasks, django_capture_on_commit_callbacks, language, subject, greeting, link_text
):
    eager_tasks.SITE_URL = SITE
    cast.hank.language = language
    cast.hank.save(update_fields=["language"])
    request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assign(cast, request)
        assert mail.outbox == []  # nothing leaves before the transaction commits
    assert callbacks

    message = mail_to("hank@example.org")
    assert message.subject == subject.format(ref=request.reference)
    assert message.body.startswith(greeting)
    url = f"{SITE}{reverse('requests:detail', args=[request.pk])}"
    assert f"{link_text} {url}" in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert f'<html lang="{language}">' in html
    assert greeting in html and f'href="{url}"' in html
    row = Notification.objects.get(recipient=cast.hank)
    assert (row.subject, row.kind, row.email_attempts) == (message.subject, "handler_assigned", 1)
    assert row.emailed_at is not None
    # alice has no language of her own: she reads the portal's default, Chinese.
    assert mail_to("alice@example.org").subject == f"您的诉求 {request.reference} 已交办"


REMINDERS = [
    # language, subject, body
    (
        "en",
        "Reminder: {ref} is due at 2026-10-08 09:00",
        "The assign deadline of “{title}” (Acme Valves) is due at 2026-10-08 09:00.",
    ),
    (
        "zh-hans",
        "催办：{ref} 将于 2026-10-08 09:00 到期",
        "“{title}”（Acme Valves）的交办时限将于 2026-10-08 09:00 到期。",
    ),
]


@pytest.mark.parametrize("language, subject, body", REMINDERS)
def test_a_reminder_of_the_sweep_is_mailed_in_the_recipients_language(
    cast, eager_tasks, django_capture_on_commit_callbacks, language, subject, body
):
    cast.liam.language = language
    cast.liam.save(update_fields=["language"])
    filed = dt.datetime(2026, 9, 30, 9, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, now=filed)
    # 75 % of the assign clock, over National Day (see tests/requests_app/test_escalation.py).
    with django_capture_on_commit_callbacks(execute=True):
        sweep(now=dt.datetime(2026, 10, 7, 19, tzinfo=dt.UTC))  # 2026-10-08 03:00 in Shanghai
    message = mail_to("liam@example.org")
    assert message.subject == subject.format(ref=request.reference)
    assert body.format(title=request.title) in message.body


# --- failures ------------------------------------------------------------------------------------


def test_a_mail_server_that_is_down_leaves_the_transition_committed_and_the_mail_retried(
    cast, eager_tasks, django_capture_on_commit_callbacks
):
    eager_tasks.EMAIL_BACKEND = f"{__name__}.BrokenMailServer"
    request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)

    told_of_filing = {row.pk for row in rows_about(request)}  # the liaison's "new request"
    with django_capture_on_commit_callbacks(execute=True):
        changed = assign(cast, request)

    assert changed.status == Status.ASSIGNED
    assert ServiceRequest.objects.get(pk=request.pk).status == Status.ASSIGNED
    assert RequestEvent.objects.filter(request=request, action="assign").exists()
    rows = [row for row in rows_about(request) if row.pk not in told_of_filing]
    assert {row.recipient.username for row in rows} == {"alice", "hank"}
    assert [row.emailed_at for row in rows] == [None, None]
    # Eagerly, Celery runs each retry at once: the first try and every retry failed, and then
    # it gave up, leaving the rows for the sweep's re-send.
    assert [row.email_attempts for row in rows] == [EMAIL_MAX_ATTEMPTS + 1] * 2
    assert mail.outbox == []

    eager_tasks.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_notification_emails.delay([row.pk for row in rows])
    for row in rows:
        row.refresh_from_db()
        assert row.emailed_at is not None
        assert row.email_attempts == EMAIL_MAX_ATTEMPTS + 2
    assert sorted(message.to[0] for message in mail.outbox) == [
        "alice@example.org",
        "hank@example.org",
    ]


def test_the_task_raises_retry_for_the_refused_emails_only(cast, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusesHilda"
    delivered, refused = Notification.objects.bulk_create(
        build([cast.hank, cast.hilda], "reminder", _context(), "/requests/1/")
    )
    assert refused.recipient == cast.hilda

    with pytest.raises(Retry):
        send_notification_emails([delivered.pk, refused.pk])

    delivered.refresh_from_db()
    refused.refresh_from_db()
    assert (delivered.emailed_at is not None, delivered.email_attempts) == (True, 1)
    assert (refused.emailed_at, refused.email_attempts) == (None, 1)
    assert [message.to for message in mail.outbox] == [["hank@example.org"]]


def test_a_retry_sends_only_what_failed_and_a_later_success_marks_it(cast, eager_tasks):
    eager_tasks.EMAIL_BACKEND = f"{__name__}.RefusesHilda"
    delivered, refused = Notification.objects.bulk_create(
        build([cast.hank, cast.hilda], "reminder", _context(), "/requests/1/")
    )
    outcome = send_notification_emails.delay([delivered.pk, refused.pk])
    assert outcome.failed()  # retried up to the limit, then given up
    delivered.refresh_from_db()
    refused.refresh_from_db()
    assert delivered.email_attempts == 1  # the retries carried the refused row alone
    assert (refused.emailed_at, refused.email_attempts) == (None, EMAIL_MAX_ATTEMPTS + 1)
    assert len(mail.outbox) == 1

    cast.hilda.email = "hilda@mail.example.org"  # the address is fixed
    cast.hilda.save(update_fields=["email"])
    assert send_notification_emails.delay([delivered.pk, refused.pk]).get() == 1
    refused.refresh_from_db()
    assert refused.emailed_at is not None
    assert [message.to[0] for message in mail.outbox] == [
        "hank@example.org",
        "hilda@mail.example.org",
    ]


def _context() -> dict:
    return {
        "reference": "QQ20260000001",
        "title": "Road to the plant gate is broken",
        "enterprise": "Acme Valves",
        "department": "Gulou Roads Bureau",
        "clock": "answer",
        "due": "2026-10-10 09:00",
        "when": "is due at 2026-10-10 09:00",
    }


def test_requeue_unsent_hands_old_unsent_emails_to_celery_again(cast, eager_tasks):
    now = timezone.now()

    def row(subject: str, minutes_ago: int, **fields) -> Notification:
        return Notification.objects.create(
            recipient=cast.hank,
            kind="reminder",
            subject=subject,
            body="…",
            created_at=now - dt.timedelta(minutes=minutes_ago),
            **fields,
        )

    lost = row("lost", 30)
    row("recent: its own task may still be on the way", 5)
    row("already sent", 30, emailed_at=now - dt.timedelta(minutes=29), email_attempts=1)
    row("given up", 30, email_attempts=EMAIL_MAX_ATTEMPTS)
    row("no address", 30, email_wanted=False)

    assert requeue_unsent(now) == 1
    assert [message.subject for message in mail.outbox] == ["lost"]
    lost.refresh_from_db()
    assert lost.emailed_at is not None
    assert requeue_unsent(now) == 0


def test_the_beat_task_sweeps_and_resends_lost_emails(cast, eager_tasks):
    request = ServiceRequestFactory(
        enterprise=cast.acme, by=cast.alice, now=timezone.now() - dt.timedelta(days=30)
    )
    lost = Notification.objects.create(
        recipient=cast.hank,
        kind="reminder",
        subject="lost",
        body="…",
        created_at=timezone.now() - dt.timedelta(hours=1),
    )
    summary = run_deadline_sweep.delay().get()
    assert summary.startswith("Sweep at ") and "1 escalations" in summary
    assert EscalationFiring.objects.filter(request=request).count() == 4
    lost.refresh_from_db()
    assert lost.emailed_at is not None


@time_machine.travel(dt.datetime(2026, 10, 12, 2, tzinfo=dt.UTC), tick=True)
def test_a_broker_that_is_down_never_breaks_a_transition_or_a_sweep(
    cast, eager_tasks, django_capture_on_commit_callbacks, caplog
):
    request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    down = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with mock.patch.object(send_notification_emails, "delay", side_effect=down) as delay:
        with django_capture_on_commit_callbacks(execute=True):
            changed = assign(cast, request)
        with django_capture_on_commit_callbacks(execute=True):
            result = sweep(now=changed.answer_due_at)
    assert delay.call_count == 3  # the transition's e-mails, the reminder's, the case's
    assert "Could not enqueue" in caplog.text

    assert ServiceRequest.objects.get(pk=request.pk).status == Status.ASSIGNED
    assert RequestEvent.objects.filter(request=request, action="assign").exists()
    assert result.fired["accountability_opened"] == 1
    assert EscalationFiring.objects.filter(request=request).count() == 2
    unsent = Notification.objects.filter(email_wanted=True, emailed_at__isnull=True)
    waiting = unsent.count()
    assert waiting == len(rows_about(request)) > 0
    assert set(unsent.values_list("email_attempts", flat=True)) == {0}

    # The broker is back: the next sweep's re-send delivers everything, once.
    assert requeue_unsent(changed.answer_due_at + dt.timedelta(minutes=11)) == waiting
    assert not unsent.exists()
    assert len(mail.outbox) == waiting


# --- rows filled in by the database (the sweep's PostgreSQL path) -------------------------------

FILLED_AT = dt.datetime(2026, 10, 8, 1, tzinfo=dt.UTC)


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): the database fills in the words",
)
@pytest.mark.parametrize("kind", ["reminder", "escalated", "accountability_opened"])
def test_rows_filled_in_by_the_database_are_the_rows_python_renders(
    cast, kind, monkeypatch, django_capture_on_commit_callbacks
):
    """The sweep's statement (`postgres.notify_batch`, from `inbox_words`) must write, word for
    word, what rows_for_many renders: each recipient once per item, in their own language, the
    lazy values translated, NULLs taken from the defaults, subjects cut at 200 characters,
    e-mails enqueued only for addresses."""
    from requests_app.sweep import postgres
    from tests.conftest import drive

    cast.hank.language = "en"
    cast.hank.save(update_fields=["language"])
    cast.hilda.email = ""
    cast.hilda.save(update_fields=["email"])
    cast.leona.is_active = False
    # One assigned, one not yet (department NULL); the title's percent sign shows that values
    # are never read as format codes.
    assigned = drive(
        cast,
        ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title="100% “broken” gate"),
        "assigned",
    )
    waiting = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title="Permit")
    recipients = {
        assigned.pk: [cast.hank, cast.liam, cast.hank, None, cast.leona],
        waiting.pk: [cast.hilda, cast.liam],
    }
    clock = CLOCK_DEADLINES["answer"]
    expected = notifications.rows_for_many(
        kind,
        [
            (
                recipients[request.pk],
                {
                    "reference": request.reference,
                    "title": request.title,
                    "enterprise": cast.acme.name,
                    "department": request.department.name if request.department else NOT_ASSIGNED,
                    "clock": clock,
                    "due": timezone.localtime(request.assign_due_at).strftime("%Y-%m-%d %H:%M"),
                    "when": when_due(request.assign_due_at, FILLED_AT),
                },
                f"/requests/{request.pk}/",
            )
            for request in (assigned, waiting)
        ],
        now=FILLED_AT,
    )
    enqueued: list[list[int]] = []
    monkeypatch.setattr(notifications, "enqueue_emails", enqueued.append)

    words = notifications.inbox_words(
        kind,
        list(recipients.items()),
        fields=postgres.NOTICE_FIELDS,
        defaults=message_defaults("answer"),
    )
    with django_capture_on_commit_callbacks(execute=True), connection.cursor() as cursor:
        count, ids = postgres.notify_batch(
            cursor,
            words=words,
            requests=list(recipients),
            due_column="assign_due_at",
            time_zone=timezone.get_current_timezone_name(),
            link="/requests/{}/",
            now=FILLED_AT,
        )
        notifications.emails_after_commit(ids)

    stored = Notification.objects.filter(created_at=FILLED_AT).order_by("id")
    columns = notifications.COLUMNS
    assert count == len(expected) == 4  # hank, liam; hilda, liam
    assert sorted(stored.values_list(*columns)) == sorted(expected)
    assert {row.recipient.language or "zh-hans" for row in stored} == {"en", "zh-hans"}
    assert enqueued == [list(stored.filter(email_wanted=True).values_list("pk", flat=True))]


def test_the_database_is_given_numbered_words_and_each_pair_once(cast):
    """inbox_words numbers each language's placeholders by the statement's fields, translates
    the defaults per language, and pairs each item with its distinct active recipients."""
    cast.hank.language = "en"
    cast.leona.is_active = False
    fields = ("reference", "title", "enterprise", "department", "clock", "due")
    words = notifications.inbox_words(
        "escalated",
        [(7, [cast.hank, cast.liam, cast.hank, None, cast.leona]), (8, [cast.liam])],
        fields=fields,
        defaults={"clock": CLOCK_DEADLINES["assign"], "department": NOT_ASSIGNED},
    )
    assert (words.items, words.readers) == ([7, 7, 8], [cast.hank.pk, cast.liam.pk, cast.liam.pk])
    assert words.recipients == [cast.hank.pk, cast.liam.pk]
    english = words.languages[0] - 1
    assert words.subjects[english] == "Escalated to you: %1$s"
    assert "%6$s" in words.bodies[english] and "%(" not in "".join(words.bodies)
    assert words.defaults["clock"][english] == "assign deadline"
    assert words.placeholders == {"reference", "title", "enterprise", "clock", "due"}
    assert (
        notifications.inbox_words("escalated", [(9, [cast.leona])], fields=fields, defaults={})
        is None
    )


def test_only_named_placeholders_the_statement_passes_can_be_filled_in_by_the_database(cast):
    with pytest.raises(ValueError, match="Only %\\(name\\)s"):
        notifications._numbered("%d overdue", ("due",))
    with pytest.raises(ValueError, match="does not fill in"):
        notifications._numbered("due %(due)s at %(place)s", ("due",))
    assert notifications._numbered("100%% due %(due)s", ("title", "due")) == "100%% due %2$s"
