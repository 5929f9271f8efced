"""The access log: each read of a confidential report or a case file leaves a row."""

from collections.abc import Iterable

from django.utils import timezone

from compliance.models import AccessLog
from officials.models import User

PAGE = "page"
API = "api"
ADMIN = "admin"


def log_reads(*, by: User, target: str, ids: Iterable[int], via: str) -> None:
    """One row per object read. Written in the reading request itself: a read with no row
    would be an unaccounted look at a whistle-blower's report."""
    now = timezone.now()
    AccessLog.objects.bulk_create(
        AccessLog(reader=by, target=target, object_id=pk, via=via, read_at=now) for pk in ids
    )


def log_read(*, by: User, target: str, pk: int, via: str) -> None:
    log_reads(by=by, target=target, ids=[pk], via=via)
