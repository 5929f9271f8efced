"""The health of a running portal: database, Redis, the sweep's age, next year's calendar.

`GET /health/` answers 200 when the database (and Redis, when configured) answer, else 503; the
sweep's age (read from the database, so every process agrees) is reported for monitoring and
judged stale past `HEALTH_SWEEP_MAX_AGE` seconds; `calendar.next_year_official` is false while
next year has no official working-day calendar, for monitoring to remind an admin to load it.
`replica` (null without one) says how far a streaming replica is behind, in bytes and seconds, and
is stale past `HEALTH_REPLICA_MAX_LAG` seconds; it never makes the portal unhealthy, since reads
fall back to the primary.
`python -m portal.health [--http URL] [--sweep]` runs the same checks for a container health check.
"""

import datetime as dt
import json
import logging
import sys

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def _check_redis() -> dict | None:
    if not settings.REDIS_URL:
        return None  # the embedded mode has no Redis to ask
    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
    except Exception as error:
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True}


def _check_sweep(now: dt.datetime) -> dict:
    try:
        # Imported here: `python -m portal.health` loads this module before django.setup().
        from requests_app.sweep_record import last_sweep_at

        last = last_sweep_at()
    except Exception as error:
        return {"last_at": None, "age_seconds": None, "stale": True, "error": type(error).__name__}
    if last is None:
        return {"last_at": None, "age_seconds": None, "stale": True}
    age = max(0, int((now - last).total_seconds()))
    stale = age > settings.HEALTH_SWEEP_MAX_AGE
    return {"last_at": last.isoformat(), "age_seconds": age, "stale": stale}


def _check_calendar(now: dt.datetime) -> dict:
    # The portal's years are years of its own zone (settings.TIME_ZONE), as the clocks count them.
    next_year = timezone.localdate(now).year + 1
    try:
        from requests_app.working_time import is_official_year  # after django.setup(), as above

        official = is_official_year(next_year)
    except Exception as error:
        return {"next_year_official": False, "error": type(error).__name__}
    return {"next_year_official": official}


def _check_replica() -> dict | None:
    from core.replica import replica_lag  # after django.setup(), as above

    return replica_lag()


def report(now: dt.datetime | None = None) -> dict:
    """Every check; `ok` is false when a service the portal cannot work without is down."""
    now = now or timezone.now()
    database, redis_ = _check_database(), _check_redis()
    ok = database["ok"] and (redis_ is None or redis_["ok"])
    return {
        "ok": bool(ok),
        "status": "ok" if ok else "fail",
        "database": database,
        "redis": redis_,
        "sweep": _check_sweep(now),
        "calendar": _check_calendar(now),
        # Not part of `ok`: with the replica down or behind, reads fall back to the primary.
        "replica": _check_replica(),
    }


@never_cache
@require_GET
def health(request):
    body = report()
    return JsonResponse(body, status=200 if body["status"] == "ok" else 503)


def main(argv: list[str]) -> int:
    """Exit 0 when healthy: `--http URL` asks a running web process, `--sweep` also wants a
    recent sweep (the beat's check), no option checks the services directly (the worker's)."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    if "--http" in argv:
        import urllib.request

        url = argv[argv.index("--http") + 1]
        hosts = [host for host in settings.ALLOWED_HOSTS if "*" not in host and host[:1] != "."]
        headers = {"X-Forwarded-Proto": "https"}
        if hosts:
            headers["Host"] = hosts[0]
        try:
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 (the operator's URL)
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                body = json.load(response)
        except Exception as error:
            print(f"unhealthy: {error}", file=sys.stderr)
            return 1
    else:
        body = report()
    print(json.dumps(body))
    if body["status"] != "ok":
        return 1
    if "--sweep" in argv and body["sweep"]["stale"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
