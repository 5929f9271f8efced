"""When the deadline sweep last finished, for `/health/` (portal/health.py) to judge its age.

The time is one database row (`SweepRun`), not a per-process cache: the web process that answers
`/health/` is rarely the process that swept (the embedded mode's worker thread, Celery beat), and
the database is the one store they all share.
"""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from requests_app.models import SweepRun

logger = logging.getLogger(__name__)


def record_sweep(at: dt.datetime | None = None) -> None:
    """Remember when a sweep finished, in one upsert; a failed write must never fail the sweep."""
    run = SweepRun(id=SweepRun.SINGLETON, finished_at=at or timezone.now())
    try:
        # A savepoint: should the write fail inside a caller's transaction, only it rolls back.
        with transaction.atomic():
            SweepRun.objects.bulk_create(
                [run], update_conflicts=True, unique_fields=["id"], update_fields=["finished_at"]
            )
    except Exception:  # the sweep's work is done and committed; only the record is lost
        logger.warning("Could not record the sweep's time", exc_info=True)


def last_sweep_at() -> dt.datetime | None:
    """When any process last finished a sweep, or None before the first."""
    return (
        SweepRun.objects.filter(id=SweepRun.SINGLETON).values_list("finished_at", flat=True).first()
    )
