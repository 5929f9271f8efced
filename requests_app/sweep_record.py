"""When the deadline sweep last finished, for `/health/` (portal/health.py) to judge its age."""

import datetime as dt
import logging

from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

SWEEP_KEY = "qinqing:health:last-sweep"


def record_sweep(at: dt.datetime | None = None) -> None:
    """Remember when a sweep finished; a cache that is down must never fail the sweep."""
    try:
        cache.set(SWEEP_KEY, (at or timezone.now()).isoformat(), timeout=None)
    except Exception:  # the sweep's work is done and committed; only the record is lost
        logger.warning("Could not record the sweep's time in the cache", exc_info=True)


def last_sweep_at() -> dt.datetime | None:
    value = cache.get(SWEEP_KEY)
    return dt.datetime.fromisoformat(value) if value else None
