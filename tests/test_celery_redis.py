"""A real round trip: tasks go through Redis to a Celery worker the test starts; results in the DB.

The worker is another process, so it needs committed rows in a database it can reach: this runs
on PostgreSQL with Redis (CI's second run sets DATABASE_URL and REDIS_URL). It uses its own Redis
database number, purged first, so a worker of a running portal on the same Redis never sees
these messages and this worker never sees theirs.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from notifications import messages
from notifications.models import Notification
from notifications.tasks import send_notification_emails
from portal.celery import app
from requests_app.checkpoints import verify_chain
from requests_app.models import EscalationFiring, RequestEvent
from requests_app.tasks import run_deadline_sweep
from tests.factories import ServiceRequestFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not settings.REDIS_URL,
        reason="needs Redis (set REDIS_URL; CI sets it on the PostgreSQL run)",
    ),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): the worker process must see the test data",
    ),
    # The worker reads what this test commits; the migrations' data is restored afterwards.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

REPO = Path(__file__).resolve().parent.parent
QUEUE = "celery"  # the default queue, in a Redis database of its own
WAIT_SECONDS = 60
POLL_SECONDS = 0.2


def dedicated_redis_url() -> str:
    """REDIS_URL with another database number (15, or 14 if REDIS_URL already uses 15)."""
    parts = urlsplit(settings.REDIS_URL)
    number = 14 if parts.path.strip("/") == "15" else 15
    return urlunsplit(parts._replace(path=f"/{number}"))


def test_database_url() -> str:
    """The pytest-django test database, as a DATABASE_URL the worker's settings understand."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    credentials = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}{db['HOST'] or 'localhost'}{port}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


def wait_until(condition, what: str):
    """Poll the database for the worker's results (bounded); time itself is never moved here."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"the worker did not {what} within {WAIT_SECONDS} s")


def _parts_done(log: Path) -> str:
    """The worker's log once two parts of a shared sweep have succeeded, else ""."""
    text = log.read_text()
    done = [
        line for line in text.splitlines() if "tasks.sweep_part[" in line and "succeeded" in line
    ]
    return text if len(done) == 2 else ""


@pytest.fixture
def broker():
    """A connection to the dedicated Redis database, with the queue declared and purged."""
    with app.connection_for_write(dedicated_redis_url()) as conn:
        queue = app.amqp.queues[QUEUE]
        queue(conn.default_channel).declare()
        conn.default_channel.queue_purge(QUEUE)
        yield conn


@pytest.fixture
def worker(broker, tmp_path, settings):
    """A real `celery worker` on the dedicated Redis database and the test database."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": dedicated_redis_url(),
        "CELERY_BROKER_URL": dedicated_redis_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "QINQING_VAR_DIR": str(tmp_path / "var"),
        # The minute tick hands the sweep out as two parts through the broker (SWEEP_WORKERS).
        "SWEEP_WORKERS": "2",
    }
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            QUEUE,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            "--hostname=qinqing-test@%h",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield mail_dir
    finally:
        process.terminate()  # warm shutdown: the current task finishes
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        if process.returncode not in (0, -15):
            print((tmp_path / "worker.log").read_text())


def test_the_worker_runs_the_sweep_and_sends_the_emails_through_redis(cast, broker, worker):
    mail_dir = worker
    # Filed a month ago (by the real clock the worker reads): every rule of the ladder is due.
    overdue = [
        ServiceRequestFactory(
            enterprise=cast.acme,
            by=cast.alice,
            now=timezone.now() - timezone.timedelta(days=30),
        )
        for _ in range(3)
    ]
    # An inbox row written without its e-mail (as if the broker had been down at the time).
    [lost] = Notification.objects.bulk_create(
        messages.build(
            [cast.hank],
            "reminder",
            {
                "reference": "QQ-ROUND-TRIP",
                "title": "Round trip",
                "enterprise": "Acme Valves",
                "department": "Gulou Roads Bureau",
                "clock": "answer",
                "when": "is due at 2026-10-10 09:00",
            },
            "/requests/1/",
        )
    )

    run_deadline_sweep.apply_async(connection=broker)
    send_notification_emails.apply_async(args=[[lost.pk]], connection=broker)

    firings = wait_until(
        lambda: EscalationFiring.objects.count() == 12 and EscalationFiring.objects.all(),
        "fire the four rules for the three requests",
    )
    assert {firing.request_id for firing in firings} == {r.pk for r in overdue}
    # Both parts of the shared sweep ran, as tasks of their own through Redis.
    log = wait_until(lambda: _parts_done(mail_dir.parent / "worker.log"), "finish both parts")
    assert "handed to 2 tasks" in log
    for request in overdue:
        actions = RequestEvent.objects.filter(request=request).values_list("action", flat=True)
        assert sorted(actions) == sorted(
            ["submitted", "reminder", "escalated", "reminder", "accountability_opened"]
        )
        assert verify_chain(request).ok
    # The sweep's own e-mails went out through Redis to the same worker after its commit.
    sweep_mail = Notification.objects.exclude(pk=lost.pk).filter(email_wanted=True)
    assert sweep_mail.exists()
    wait_until(
        lambda: not sweep_mail.filter(emailed_at__isnull=True).exists(),
        "send the sweep's e-mails",
    )
    wait_until(
        lambda: Notification.objects.filter(pk=lost.pk, emailed_at__isnull=False).exists(),
        "send the e-mail it was given",
    )
    written = "\n".join(path.read_text() for path in mail_dir.iterdir())
    assert "QQ-ROUND-TRIP" in written and "To: hank@example.org" in written
    for request in overdue:
        assert request.reference in written
