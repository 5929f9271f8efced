"""Export jobs whose worker died: failed once silent for a set time, so their page says so."""

import datetime as dt
import logging

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from reports.models import ExportJob, ExportStatus

logger = logging.getLogger(__name__)


# A stalled job's error, for the admin; its page (templates/reports/job.html) recognises it and
# tells the requester, in their language, to ask again.
STALLED_ERROR = "stalled: the worker made no progress"


def fail_stalled(now=None) -> int:
    """Fail running jobs with no progress for REPORTS_EXPORT_STALL_MINUTES; answers how many.

    Their worker died (killed, out of memory, redeployed): the broker would hand the task to
    another worker only after its visibility timeout, an hour, while the page said "running".
    Failing them tells the requester at once; a late redelivery leaves a failed job alone
    (reports.exports.run_job). A job the broker never delivered stays "waiting", as before.
    """
    now = now or timezone.now()
    silent_since = now - dt.timedelta(minutes=settings.REPORTS_EXPORT_STALL_MINUTES)
    stalled = ExportJob.objects.filter(status=ExportStatus.RUNNING).filter(
        Q(progressed_at__lt=silent_since)
        | Q(progressed_at__isnull=True, created_at__lt=silent_since)
    )
    failed = stalled.update(status=ExportStatus.FAILED, error=STALLED_ERROR, finished_at=now)
    if failed:
        logger.warning("Failed %d export jobs that made no progress since %s", failed, silent_since)
    return failed
