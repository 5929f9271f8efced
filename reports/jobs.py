"""Export jobs: recorded, then handed to a worker once the record is committed."""

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from reports.models import ExportJob
from reports.tasks import run_export

logger = logging.getLogger(__name__)


def start_job(*, by, params: dict, fmt: str, total: int) -> ExportJob:
    """Record an export job and hand it to a worker once the record is committed."""
    keep = dt.timedelta(hours=settings.REPORTS_EXPORT_KEEP_HOURS)
    job = ExportJob.objects.create(
        requested_by=by,
        params=params,
        format=fmt,
        total=total,
        expires_at=timezone.now() + keep,
    )
    transaction.on_commit(lambda: _enqueue(run_export, job.pk))
    return job


def _enqueue(task, job_id: int) -> None:
    # A broker that is down must not turn the page into an error: the job stays "waiting"
    # (its page says so) and the requester can ask again.
    try:
        task.delay(job_id)
    except Exception:
        logger.exception("Could not hand export job %s to a worker", job_id)
