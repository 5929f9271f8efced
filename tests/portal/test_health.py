"""/health/: the database, Redis when configured, the age of the last deadline sweep (one row
every process shares) and whether next year's working-day calendar is official."""

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction

from portal import health
from requests_app import sweep_record
from requests_app.escalation import sweep
from requests_app.models import CalendarYear, SweepRun
from tests.conftest import at

pytestmark = pytest.mark.django_db


def in_another_process(work):
    """Run `work` as another process would: another thread, so its own database connection."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return outcome.get("value")


def test_healthy_without_a_sweep_yet_says_so(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["ok"] is True
    assert body["database"] == {"ok": True}
    assert body["redis"] is None  # the embedded mode has no Redis
    assert body["sweep"] == {"last_at": None, "age_seconds": None, "stale": True}
    assert "no-cache" in response["Cache-Control"]


def test_a_sweep_is_recorded_and_ages(client, settings):
    settings.REDIS_URL = ""
    settings.HEALTH_SWEEP_MAX_AGE = 300
    with time_machine.travel(at("2026-10-12 09:00"), tick=False):
        sweep()
    with time_machine.travel(at("2026-10-12 09:04"), tick=False):
        body = client.get("/health/").json()
    assert body["sweep"]["age_seconds"] == 240
    assert body["sweep"]["stale"] is False
    assert dt.datetime.fromisoformat(body["sweep"]["last_at"]) == at("2026-10-12 09:00")
    with time_machine.travel(at("2026-10-12 09:06"), tick=False):
        body = client.get("/health/").json()
    assert body["sweep"]["stale"] is True
    assert body["status"] == "ok"  # a late sweep is for monitoring, not a reason to stop serving


def test_a_database_that_does_not_answer_is_503(client, settings, monkeypatch):
    settings.REDIS_URL = ""
    monkeypatch.setattr(health, "_check_database", lambda: {"ok": False, "error": "Boom"})
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "fail"


def test_redis_that_does_not_answer_is_503(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["redis"] == {"ok": False, "error": "ConnectionError"}


def test_the_sweep_time_is_one_row_in_the_database_not_a_cache():
    sweep_record.record_sweep(at("2026-10-12 09:00"))
    sweep_record.record_sweep(at("2026-10-12 09:01"))
    cache.clear()  # nothing of it lives in a process's cache
    assert SweepRun.objects.get().finished_at == at("2026-10-12 09:01")
    assert sweep_record.last_sweep_at() == at("2026-10-12 09:01")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_every_process_agrees_on_the_last_sweep(client, settings):
    """The embedded mode's worker sweeps, the web process answers /health/: both see one time."""
    settings.REDIS_URL = ""
    settings.HEALTH_SWEEP_MAX_AGE = 300
    with time_machine.travel(at("2026-10-12 09:00"), tick=False):
        in_another_process(sweep)
    cache.clear()
    with time_machine.travel(at("2026-10-12 09:02"), tick=False):
        body = client.get("/health/").json()
    assert dt.datetime.fromisoformat(body["sweep"]["last_at"]) == at("2026-10-12 09:00")
    assert body["sweep"]["stale"] is False
    # And the other way round: recorded here, read there.
    sweep_record.record_sweep(at("2026-10-12 09:05"))
    assert in_another_process(sweep_record.last_sweep_at) == at("2026-10-12 09:05")


def test_a_failed_record_never_fails_the_sweep(monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("database down")

    monkeypatch.setattr(SweepRun.objects, "bulk_create", down)
    sweep()  # logged, not raised
    assert "Could not record the sweep's time" in caplog.text
    assert sweep_record.last_sweep_at() is None


def test_a_failed_record_leaves_the_callers_transaction_usable(monkeypatch):
    with transaction.atomic():
        SweepRun.objects.create(finished_at=at("2026-10-12 09:00"))
        # A write the database refuses (the singleton check): only its savepoint rolls back.
        monkeypatch.setattr(SweepRun, "SINGLETON", 2)
        sweep_record.record_sweep(at("2026-10-12 09:05"))
        monkeypatch.undo()
        assert sweep_record.last_sweep_at() == at("2026-10-12 09:00")


@pytest.mark.parametrize(
    "today, stored, official",
    [
        ("2025-11-05 10:00", None, True),  # 2026: loaded from chinesecalendar by the migration
        ("2026-11-05 10:00", None, False),  # 2027: no published schedule yet
        ("2026-11-05 10:00", False, True),  # an admin loaded it (official)
        ("2026-11-05 10:00", True, False),  # a provisional row is not official
        ("2027-01-01 00:30", False, False),  # still 2026 in UTC, 2027 here: 2028 is asked
    ],
)
def test_the_calendar_says_whether_next_year_is_official(client, settings, today, stored, official):
    settings.REDIS_URL = ""
    if stored is not None:
        CalendarYear.objects.update_or_create(year=2027, defaults={"provisional": stored})
    with time_machine.travel(at(today), tick=False):
        body = client.get("/health/").json()
    assert body["calendar"] == {"next_year_official": official}


def test_health_is_exempt_from_the_https_redirect(client, settings):
    """Container health checks speak plain HTTP to the process; every other page redirects."""
    settings.SECURE_SSL_REDIRECT = True
    settings.REDIS_URL = ""
    assert client.get("/health/").status_code == 200
    redirected = client.get("/accounts/login/")
    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")


@pytest.mark.parametrize(
    "argv, sweep_at, code",
    [
        ([], None, 0),  # the worker's check: the services answer
        (["--sweep"], None, 1),  # the beat's check: no sweep yet
        (["--sweep"], "2026-10-12 09:00", 0),
    ],
)
def test_the_command_line_check(settings, capsys, argv, sweep_at, code):
    settings.REDIS_URL = ""
    with time_machine.travel(at("2026-10-12 09:01"), tick=False):
        if sweep_at:
            sweep_record.record_sweep(at(sweep_at))
        assert health.main(argv) == code
    assert '"database": {"ok": true}' in capsys.readouterr().out


def test_the_container_check_runs_as_a_module():
    """`python -m portal.health` imports this module before Django is set up (the compose file's
    health checks run it so): it must get as far as asking, and answer 1 for a dead URL."""
    done = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "portal.health", "--http", "http://127.0.0.1:9/health/"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 1, done.stderr
    assert "unhealthy:" in done.stderr
    assert "Traceback" not in done.stderr
