"""/health/: the database, Redis when configured, and the age of the last deadline sweep."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache

from portal import health
from requests_app import sweep_record
from requests_app.escalation import sweep
from tests.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_sweep_recorded():
    cache.delete(sweep_record.SWEEP_KEY)
    yield
    cache.delete(sweep_record.SWEEP_KEY)


def test_healthy_without_a_sweep_yet_says_so(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
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


def test_a_cache_that_is_down_never_fails_the_sweep(monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(sweep_record.cache, "set", down)
    sweep_record.record_sweep()  # logged, not raised


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
