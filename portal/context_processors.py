"""Template context shared by every page: the unread count of the user's inbox."""

from functools import cached_property

from notifications.inbox import unread_count


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
