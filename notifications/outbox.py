"""The outbox's claims: each e-mail is handed to the broker once and sent once, even when a
worker is killed mid-backlog or two sweeps overlap.

Two stamps on the inbox row (notifications/models.py):
- `email_queued_at`: a sweep's claim. `claim_unsent` stamps the rows it will enqueue inside one
  transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's IMMEDIATE transactions already
  serialise writers), so an overlapping sweep skips them until the claim is older than the
  sweep's interval and the message is presumed lost with its broker.
- `email_claimed_at`: a worker's claim. `claim_set` stamps a set of rows in one transaction
  (locked with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two tasks never claim the same row;
  `claim_for_sending` is the same for one row); a row is sent only by the task that claimed it.
  A worker killed while sending leaves its claims behind; once older than
  NOTIFICATIONS_EMAIL_CLAIM_SECONDS another task may take them over.

The one e-mail a worker is killed *after* the mail server accepted it and *before* its row is
marked can go out twice: no mail server takes part in a database transaction. Every other
kill, and every overlap, sends once.
"""

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q

from notifications.email import EMAIL_MAX_ATTEMPTS
from notifications.models import Notification

# How many e-mails one sweep hands to the broker at most (the next sweep takes the rest).
REQUEUE_LIMIT = 5000


def _unsent() -> Q:
    return Q(email_wanted=True, emailed_at__isnull=True)


def _claim_lapsed(field: str, before: dt.datetime) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": before})


def claim_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=settings.NOTIFICATIONS_EMAIL_CLAIM_SECONDS)


def claim_unsent(now: dt.datetime, older_than: dt.timedelta) -> list[int]:
    """Stamp and return the ids of unsent e-mails a sweep should hand to the broker again.

    A row qualifies when it is older than `older_than` (its own task may still be on the way),
    no sweep queued it within `older_than`, and no worker holds a live claim on it.
    """
    cutoff = now - older_than
    with transaction.atomic():
        rows = Notification.objects.filter(
            _unsent(),
            _claim_lapsed("email_queued_at", cutoff),
            _claim_lapsed("email_claimed_at", now - claim_timeout()),
            email_attempts__lt=EMAIL_MAX_ATTEMPTS,  # given up: left for the admin
            created_at__lt=cutoff,
        ).order_by("created_at")
        if connection.features.has_select_for_update_skip_locked:
            # A concurrent sweep's rows are locked until it commits its stamps: skip them.
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        ids = list(rows.values_list("pk", flat=True)[:REQUEUE_LIMIT])
        for start in range(0, len(ids), 500):
            Notification.objects.filter(pk__in=ids[start : start + 500]).update(email_queued_at=now)
    return ids


def release_unqueued(ids: list[int], queued_at: dt.datetime) -> None:
    """The broker refused the rows a sweep claimed: free them for the next sweep."""
    Notification.objects.filter(pk__in=ids, email_queued_at=queued_at).update(email_queued_at=None)


def claim_set(pks: list[int], now: dt.datetime) -> list[int]:
    """Claim, in one transaction, those of these rows that are unsent and not held by a live
    claim; return their ids. The attempts are not checked (see `claim_for_sending`)."""
    with transaction.atomic():
        rows = Notification.objects.filter(
            _unsent(), _claim_lapsed("email_claimed_at", now - claim_timeout()), pk__in=pks
        )
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        claimed = list(rows.values_list("pk", flat=True))
        Notification.objects.filter(pk__in=claimed).update(email_claimed_at=now)
    return claimed


def claim_for_sending(pk: int, now: dt.datetime) -> bool:
    """Claim one row for this task; False when it is sent or held by a live claim.

    The attempts are not checked: the task's own retries count them, and a task given an id
    explicitly (an admin's re-send) may try once more.
    """
    claimed = (
        Notification.objects.filter(_unsent(), pk=pk)
        .filter(_claim_lapsed("email_claimed_at", now - claim_timeout()))
        .update(email_claimed_at=now)
    )
    return claimed == 1


def mark_sent(pk: int, now: dt.datetime) -> None:
    Notification.objects.filter(pk=pk).update(
        emailed_at=now, email_attempts=F("email_attempts") + 1
    )


def release_set(pks: list[int]) -> None:
    """The mail server could not be reached: count an attempt for each and free the rows."""
    Notification.objects.filter(pk__in=pks).update(
        email_attempts=F("email_attempts") + 1, email_claimed_at=None
    )


def release_failed(pk: int) -> None:
    """The mail server refused: count the attempt and free the row for the task's retry."""
    Notification.objects.filter(pk=pk).update(
        email_attempts=F("email_attempts") + 1, email_claimed_at=None
    )
