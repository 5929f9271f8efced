"""Template context shared by every page: the unread count of the user's inbox, and for admins
the warning that next year's working-day calendar is not loaded."""

from functools import cached_property

from django.utils import timezone

from notifications.inbox import unread_count
from officials.models import Role
from requests_app.calendar import unsettled_next_year


class InboxBadge:
    """Counts lazily and once: pages that never show the header (the admin) pay nothing."""

    def __init__(self, user):
        self._user = user

    @cached_property
    def unread(self) -> int:
        return unread_count(self._user)


def inbox(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"inbox": InboxBadge(user)}


class CalendarBanner:
    """Asked once, and only by a page that shows the banner (the portal's pages, not the admin).

    Whether next year is settled comes from the working-time cache that the clocks read anyway:
    no query once this process has read the calendar table.
    """

    @cached_property
    def year(self) -> int | None:
        return unsettled_next_year(timezone.localdate())


def calendar_warning(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.role != Role.ADMIN:
        return {}
    return {"calendar_banner": CalendarBanner()}
