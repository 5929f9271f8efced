"""The in-app inbox: scoped reads of a user's own notifications, and marking them read."""

import functools
import re
from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from core import pagination
from notifications.models import Notification


def notifications_of(user) -> QuerySet:
    """A user's own notifications, newest first: nobody reads another person's inbox.

    The order is the index notification_inbox_order's, the id breaking ties: a page reads its
    rows off the index, however long the inbox."""
    if not user.is_authenticated or not user.is_active:
        return Notification.objects.none()
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def filtered(user, *, kind: str = "", unread: bool = False) -> QuerySet:
    """The user's notifications of one kind, or unread only, still newest first: each filter
    has an index in that order (notification_inbox_kind, notification_inbox_unread), so a page
    of a long inbox reads only its own rows."""
    rows = notifications_of(user)
    if kind:
        rows = rows.filter(kind=kind)
    if unread:
        rows = rows.filter(read_at__isnull=True)
    return rows


@functools.cache
def _request_link() -> re.Pattern:
    # Messages about a request link to its page (requests:detail); the id is read back from
    # there, so every writer of messages, the database's sweep included, names the request.
    marker = "987654321"
    prefix, suffix = reverse("requests:detail", args=[int(marker)]).split(marker, 1)
    return re.compile(rf"^{re.escape(prefix)}(\d+){re.escape(suffix)}")


def request_id_of(notification: Notification) -> int | None:
    """The id of the request a notification is about, or None."""
    match = _request_link().match(notification.link or "")
    return int(match[1]) if match else None


def grouped(notifications: Iterable[Notification]) -> list[tuple[int | None, list]]:
    """One page's notifications grouped by their request, in the page's order: each group
    where its newest message stands, the messages about no request together likewise."""
    groups: dict[int | None, list[Notification]] = {}
    for notification in notifications:
        groups.setdefault(request_id_of(notification), []).append(notification)
    return list(groups.items())


def unread_count(user) -> int:
    """One COUNT over the unread index (`notification_inbox_unread`), of at most COUNT_CAP + 1
    rows: every page shows it, so it stops there (more than COUNT_CAP reads "1,000+",
    core/pagination.py)."""
    if not user.is_authenticated:
        return 0
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    return unread.order_by()[: pagination.COUNT_CAP + 1].count()


def get_own_notification(user, pk) -> Notification:
    """The notification, or 404 whether it is missing or someone else's."""
    try:
        return notifications_of(user).get(pk=pk)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def mark_read(notification: Notification, *, by, now=None) -> None:
    """Mark one notification read; the first reading time is kept."""
    if notification.recipient_id != by.pk:
        raise Http404
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        # A filtered UPDATE: two tabs opening the same message keep the earlier time.
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )


def mark_all_read(*, by, now=None, ids: Iterable[int] | None = None) -> int:
    """Mark every unread notification of `by` read, or those of `ids` that are theirs (others'
    ids are passed over in silence: nobody learns whether they exist); returns how many
    changed."""
    rows = Notification.objects.filter(recipient=by, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=now or timezone.now())
