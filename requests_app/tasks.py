"""Celery tasks of the request loop: thin wrappers that hold no business logic."""

import datetime as dt

from celery import group, shared_task
from django.conf import settings
from django.utils import timezone

from notifications.messages import requeue_unsent
from requests_app import checkpoints
from requests_app.calendar import warn_of_unsettled_year
from requests_app.escalation import in_database, sweep

# A sweep (or a part of one) that fails is tried again, backing off: it is safe to run twice.
SWEEP_RETRIES = {
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "max_retries": 5,
    "acks_late": True,
}


@shared_task(**SWEEP_RETRIES)
def run_deadline_sweep() -> str:
    """The beat's minute tick: fire what is due, and re-send e-mails that never went out.

    With SWEEP_WORKERS > 1 on PostgreSQL, the sweep is handed out as a group of tasks, one per
    part of the requests, for as many workers to fire at once (SQLite has one writer).
    """
    parts = settings.SWEEP_WORKERS
    if parts > 1 and in_database():
        now = timezone.now()
        group(sweep_part.s(now.isoformat(), parts, part) for part in range(parts)).apply_async()
        requeue_unsent(now)
        return f"Sweep at {now.isoformat()}: handed to {parts} tasks."
    result = sweep()
    requeue_unsent(result.now)
    return result.summary()


@shared_task(**SWEEP_RETRIES)
def sweep_part(now: str, parts: int, part: int) -> str:
    """One part of a shared sweep: the requests whose id % parts == part, as of `now`."""
    return sweep(dt.datetime.fromisoformat(now), partition=(parts, part)).summary()


@shared_task(acks_late=True)
def warn_of_unsettled_calendar() -> int:
    """The beat's daily check: from 1 November, tell each admin once that next year's calendar
    is not loaded (requests_app.calendar.warn_of_unsettled_year). Returns how many were told."""
    return warn_of_unsettled_year()


@shared_task(acks_late=True)
def sign_timeline_checkpoint() -> str:
    """The beat's daily checkpoint of every timeline head (requests_app.checkpoints.create)."""
    record = checkpoints.create()
    return f"checkpoint {record['id']}: {record['requests']} requests, root {record['root']}"


@shared_task(acks_late=True)
def verify_timelines() -> str:
    """The beat's nightly check of every chain against the latest checkpoint; the inspectors of
    each failing request's region are told (requests_app.checkpoints.nightly_check)."""
    return checkpoints.nightly_check().summary()
