"""Celery tasks of reports: thin wrappers that take ids and hold no business logic."""

from celery import shared_task

from core.replica import reads_from_replica
from reports import exports, flags, stalled
from reports.figures import Period


@shared_task(acks_late=True)
def run_export(job_id: int) -> None:
    """Write an export job's file; a failure is recorded on the job for its page to show."""
    try:
        # The computing pass may read from the replica once it holds the job's commit; the
        # job's progress and file are written to the primary (core/replica.py).
        with reads_from_replica(caught_up=True):
            exports.run_job(job_id)
    except Exception as error:
        exports.fail_job(job_id, f"{type(error).__name__}: {error}")
        raise


@shared_task
def fail_stalled_exports() -> int:
    """Fail running exports whose worker stopped making progress (reports.stalled)."""
    return stalled.fail_stalled()


@shared_task
def purge_expired_exports() -> int:
    """Remove export files past their keeping time (REPORTS_EXPORT_KEEP_HOURS)."""
    return exports.purge_expired()


@shared_task
def award_last_quarter_flags() -> int:
    """At the start of a quarter: award the red and yellow flags of the quarter just ended."""
    from django.utils import timezone

    period = Period.containing(timezone.now()).previous()
    return len(flags.award_flags(period))


@shared_task
def keep_current_quarter() -> None:
    """Compute the whole portal's figures of the current quarter and cache them (snapshots)."""
    from django.utils import timezone

    from reports import snapshots

    snapshots.refresh_portal(Period.containing(timezone.now()))


@shared_task
def keep_read_quarters() -> int:
    """Compute again the current quarter of the departments' and jurisdictions' dashboards read
    lately, and of every inspection jurisdiction (snapshots.keep_read_scopes); the number kept."""
    from django.utils import timezone

    from reports import snapshots

    return snapshots.keep_read_scopes(Period.containing(timezone.now()))


@shared_task
def recompute_last_quarter() -> int:
    """Recompute the last finished quarter's snapshots: the portal's now, the others on view."""
    from django.utils import timezone

    from reports import snapshots

    period = Period.containing(timezone.now()).previous()
    forgotten, _figures = snapshots.recompute_finished(period)
    return forgotten
