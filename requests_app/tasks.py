"""Celery tasks of the request loop: thin wrappers that hold no business logic."""

from celery import shared_task

from notifications.messages import requeue_unsent
from requests_app import checkpoints
from requests_app.calendar import warn_of_unsettled_year
from requests_app.escalation import sweep


@shared_task(
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
    acks_late=True,
)
def run_deadline_sweep() -> str:
    """The beat's minute tick: fire what is due, and re-send e-mails that never went out."""
    result = sweep()
    requeue_unsent(result.now)
    return result.summary()


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
