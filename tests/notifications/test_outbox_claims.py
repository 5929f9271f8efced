"""The outbox's claims: a killed worker, an overlapping task or an overlapping sweep sends once.

The first tests run anywhere (the claims are conditional UPDATEs). The last one is the real
thing: a Celery worker on Redis and PostgreSQL is killed with SIGKILL in the middle of a backlog,
a second worker (two processes, so tasks overlap) recovers it, and every e-mail is delivered
exactly once, counted in the files the workers' mail server writes.
"""

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, connections, transaction
from django.utils import timezone

from notifications import messages, outbox
from notifications.email import EMAIL_MAX_ATTEMPTS
from notifications.models import Notification
from notifications.tasks import send_notification_emails
from portal.celery import app

NOW = dt.datetime(2026, 10, 12, 2, tzinfo=dt.UTC)


def backlog(recipient, count: int, created_at) -> list[Notification]:
    return Notification.objects.bulk_create(
        Notification(
            recipient=recipient,
            kind="reminder",
            subject=f"Outbox {index:02}",
            body="…",
            created_at=created_at,
        )
        for index in range(count)
    )


@time_machine.travel(NOW, tick=False)
def test_overlapping_requeues_enqueue_each_row_once(cast, monkeypatch):
    enqueued: list[list[int]] = []
    monkeypatch.setattr(messages, "enqueue_emails", lambda ids: enqueued.append(ids) or True)
    rows = backlog(cast.hank, 3, NOW - dt.timedelta(hours=1))

    assert messages.requeue_unsent() == 3
    assert messages.requeue_unsent() == 0  # the first sweep's claim holds
    assert [sorted(ids) for ids in enqueued] == [sorted(row.pk for row in rows)]

    # The broker lost the message: the next sweep after the interval hands the rows over again.
    with time_machine.travel(NOW + dt.timedelta(minutes=11), tick=False):
        assert messages.requeue_unsent() == 3
    assert len(enqueued) == 2


@time_machine.travel(NOW, tick=False)
def test_a_sweep_leaves_a_row_a_worker_is_sending_until_its_claim_lapses(
    cast, monkeypatch, settings
):
    settings.NOTIFICATIONS_EMAIL_CLAIM_SECONDS = 120  # shorter than the sweep's 10 minutes
    enqueued: list[list[int]] = []
    monkeypatch.setattr(messages, "enqueue_emails", lambda ids: enqueued.append(ids) or True)
    sending, waiting = backlog(cast.hank, 2, NOW - dt.timedelta(hours=1))
    assert outbox.claim_for_sending(sending.pk, NOW)

    assert messages.requeue_unsent() == 1
    assert enqueued == [[waiting.pk]]

    lapsed = NOW + dt.timedelta(seconds=settings.NOTIFICATIONS_EMAIL_CLAIM_SECONDS + 1)
    with time_machine.travel(lapsed, tick=False):
        # The worker is presumed dead; `waiting` is still queued by the first sweep.
        assert messages.requeue_unsent() == 1
    assert enqueued[-1] == [sending.pk]


@time_machine.travel(NOW, tick=False)
def test_a_task_sends_only_the_rows_it_claims(cast, eager_tasks):
    sent_elsewhere, held, free = backlog(cast.hank, 3, NOW - dt.timedelta(hours=1))
    Notification.objects.filter(pk=sent_elsewhere.pk).update(emailed_at=NOW)
    assert outbox.claim_for_sending(held.pk, NOW - dt.timedelta(seconds=5))

    assert send_notification_emails.delay([sent_elsewhere.pk, held.pk, free.pk]).get() == 1
    assert [message.subject for message in mail.outbox] == [free.subject]
    assert not outbox.claim_for_sending(free.pk, NOW)  # sent: nothing left to claim

    # The claim outlived its timeout (the worker died mid-send): the next task takes it over.
    later = NOW + dt.timedelta(seconds=settings.NOTIFICATIONS_EMAIL_CLAIM_SECONDS)
    with time_machine.travel(later, tick=False):
        assert send_notification_emails.delay([held.pk]).get() == 1
    assert [message.subject for message in mail.outbox] == [free.subject, held.subject]


@time_machine.travel(NOW, tick=False)
def test_rows_given_up_are_not_requeued_and_a_refusal_frees_the_claim(cast, monkeypatch):
    enqueued: list[list[int]] = []
    monkeypatch.setattr(messages, "enqueue_emails", lambda ids: enqueued.append(ids) or True)
    given_up, refused = backlog(cast.hank, 2, NOW - dt.timedelta(hours=1))
    Notification.objects.filter(pk=given_up.pk).update(email_attempts=EMAIL_MAX_ATTEMPTS)
    assert outbox.claim_for_sending(refused.pk, NOW)
    outbox.release_failed(refused.pk)

    assert messages.requeue_unsent() == 1
    assert enqueued == [[refused.pk]]
    refused.refresh_from_db()
    assert (refused.email_attempts, refused.email_claimed_at) == (1, None)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: row locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_sweep_skips_the_rows_another_sweep_is_claiming(cast, monkeypatch):
    """While one sweep's claim is not yet committed, a second sweep neither waits for it nor
    reads the rows as unclaimed: it skips them (FOR UPDATE SKIP LOCKED)."""
    enqueued: list[list[int]] = []
    monkeypatch.setattr(messages, "enqueue_emails", lambda ids: enqueued.append(ids) or True)
    rows = backlog(cast.hank, 3, timezone.now() - dt.timedelta(hours=1))
    claiming, second_done = threading.Event(), threading.Event()
    first: list[int] = []

    def first_sweep():
        try:
            with transaction.atomic():
                first.extend(outbox.claim_unsent(timezone.now(), dt.timedelta(minutes=10)))
                claiming.set()
                second_done.wait(timeout=10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first_sweep)
    thread.start()
    try:
        assert claiming.wait(timeout=10)
        started = time.monotonic()
        assert messages.requeue_unsent() == 0
        assert time.monotonic() - started < 5  # it did not wait for the first sweep's commit
    finally:
        second_done.set()
        thread.join(timeout=10)
    assert sorted(first) == [row.pk for row in rows]
    assert enqueued == []


@time_machine.travel(NOW, tick=False)
def test_rows_the_broker_refused_wait_for_the_next_sweep_not_for_the_interval(cast, monkeypatch):
    refused: list[list[int]] = []
    monkeypatch.setattr(messages, "enqueue_emails", lambda ids: bool(refused.append(ids)))
    backlog(cast.hank, 2, NOW - dt.timedelta(hours=1))
    assert messages.requeue_unsent() == 2
    with time_machine.travel(NOW + dt.timedelta(minutes=1), tick=False):
        assert messages.requeue_unsent() == 2  # a minute later, not ten
    assert len(refused) == 2 and refused[0] == refused[1]


# --- a real worker, killed ------------------------------------------------------------------


class SlowMailServer(BaseEmailBackend):
    """The workers' mail server: each message takes a moment (a mail server's round trip) and is
    written to a file of its own; the message whose subject is OUTBOX_TEST_HANG_ON hangs before
    it is delivered, for the test to kill the worker while it holds the claim."""

    def send_messages(self, email_messages):
        folder = Path(os.environ["EMAIL_FILE_PATH"])
        folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            if message.subject == os.environ.get("OUTBOX_TEST_HANG_ON"):
                (folder / "hanging").touch()
                time.sleep(3600)  # in the worker process, until the test kills it
            time.sleep(float(os.environ.get("OUTBOX_TEST_DELAY", "0")))
            (folder / f"{uuid.uuid4().hex}.eml").write_bytes(message.message().as_bytes())
        return len(email_messages)


QUEUE = "celery"
WAIT_SECONDS = 90


def worker_database_url() -> str:
    """The pytest-django test database, as a DATABASE_URL the workers' settings understand."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}{db['HOST'] or 'localhost'}{port}/{db['NAME']}"


def wait_until(condition, what: str):
    """Poll for the workers' results (bounded); time itself is never moved here."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"the workers did not {what} within {WAIT_SECONDS} s")


@pytest.fixture
def broker():
    """The test's own Redis database (REDIS_URL), the queue declared and purged."""
    with app.connection_for_write(settings.REDIS_URL) as conn:
        queue = app.amqp.queues[QUEUE]
        queue(conn.default_channel).declare()
        conn.default_channel.queue_purge(QUEUE)
        yield conn
        conn.default_channel.queue_purge(QUEUE)


def start_worker(tmp_path, name: str, *, concurrency: int, **env) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": f"{__name__}.SlowMailServer",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "QINQING_VAR_DIR": str(tmp_path / "var"),
        **env,
    }
    pool = ["--pool=solo"] if concurrency == 1 else ["--pool=prefork"]
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", "worker", *pool]
        + [f"--concurrency={concurrency}", "-Q", QUEUE, "--without-gossip", "--without-mingle"]
        + ["--without-heartbeat", "--loglevel=INFO", f"--hostname=outbox-{name}@%h"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        stdout=(tmp_path / f"{name}.log").open("w"),
        stderr=subprocess.STDOUT,
    )


def delivered(tmp_path) -> list[str]:
    """The subject of every message the mail server accepted, duplicates included."""
    return sorted(
        line.removeprefix("Subject: ")
        for path in (tmp_path / "mail").glob("*.eml")
        for line in path.read_text().splitlines()
        if line.startswith("Subject: ")
    )


@pytest.mark.postgres
@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL)")
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): the workers must see the test's rows",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_backlog_then_recovery_sends_every_email_exactly_once(
    cast, broker, tmp_path, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    rows = backlog(cast.hank, 30, timezone.now() - dt.timedelta(hours=1))
    subjects = sorted(row.subject for row in rows)
    first = start_worker(
        tmp_path, "first", concurrency=1, OUTBOX_TEST_HANG_ON="Outbox 12", OUTBOX_TEST_DELAY="0"
    )
    second = None
    try:
        for start in range(0, 30, 5):
            ids = [row.pk for row in rows[start : start + 5]]
            send_notification_emails.apply_async(args=[ids], connection=broker)
        wait_until(lambda: (tmp_path / "mail" / "hanging").exists(), "reach the 13th e-mail")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        before_the_kill = delivered(tmp_path)
        assert len(before_the_kill) >= 10  # the first two tasks' and some of the third's
        assert len(set(before_the_kill)) == len(before_the_kill)
        assert "Outbox 12" not in before_the_kill
        hung = Notification.objects.get(subject="Outbox 12")
        assert hung.email_claimed_at is not None and hung.emailed_at is None

        # The dead worker's claims (its set: the hung e-mail and the rest of its task's ids)
        # outlive their timeout (backdated rather than waited for).
        lapsed = timezone.now() - dt.timedelta(seconds=settings.NOTIFICATIONS_EMAIL_CLAIM_SECONDS)
        held = Notification.objects.filter(email_claimed_at__isnull=False, emailed_at=None)
        assert held.update(email_claimed_at=lapsed) >= 1
        # Two overlapping sweeps hand the unsent rows over again (once); a second worker with
        # two processes takes them and the rest of the first one's queue, so the same ids run
        # in two tasks at once.
        assert messages.requeue_unsent() == 18
        assert messages.requeue_unsent() == 0
        second = start_worker(tmp_path, "second", concurrency=2, OUTBOX_TEST_DELAY="0.05")
        wait_until(
            lambda: not Notification.objects.filter(emailed_at__isnull=True).exists(),
            "send the backlog",
        )
        # Let every queued task run to its end before counting what went out.
        wait_until(lambda: broker.default_channel.client.llen(QUEUE) == 0, "empty the queue")
        second.terminate()  # warm shutdown: running tasks finish
        second.wait(timeout=60)
        assert delivered(tmp_path) == subjects
    finally:
        for process in (first, second):
            if process and process.poll() is None:
                process.kill()
                process.wait(timeout=10)
