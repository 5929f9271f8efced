"""The in-app inbox: scoped reads of a user's own notifications, and marking them read."""

from django.db.models import QuerySet
from django.http import Http404
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


def unread_count(user) -> int:
    """One COUNT over the (recipient, read_at) index, of at most COUNT_CAP + 1 rows: every page
    shows it, so it stops there (more than COUNT_CAP reads "1,000+", core/pagination.py)."""
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


def mark_all_read(*, by, now=None) -> int:
    """Mark every unread notification of `by` read; returns how many changed."""
    return Notification.objects.filter(recipient=by, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
