"""Per-kind notification preferences: reading them for delivery, and a user changing them.

A kind a user never changed has no row and keeps the behaviour from before preferences: into
the inbox, and by e-mail at once where the user has an address (`DEFAULT`). The e-mail and the
digest copy the inbox message, and the digest is a way of e-mailing, so only four settings
make sense per kind (`CHOICES`); anything else is refused rather than silently reinterpreted.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from notifications.models import Kind, Preference

# Users whose preferences one query reads: well under any database's limit on parameters.
CHUNK = 5000


@dataclass(frozen=True)
class Flags:
    inbox: bool = True
    email: bool = True
    digest: bool = False

    def problem(self) -> str | None:
        """Why this combination cannot be delivered, or None."""
        if not self.inbox and (self.email or self.digest):
            return str(_("E-mail and the daily digest copy the inbox message: keep the inbox on."))
        if self.digest and not self.email:
            return str(_("The daily digest is an e-mail: turn e-mail on to receive it."))
        return None

    def as_dict(self) -> dict[str, bool]:
        return {"inbox": self.inbox, "email": self.email, "digest": self.digest}


DEFAULT = Flags()
FIELDS = ("inbox", "email", "digest")

# The settings page's one choice per kind, and the flags each stands for.
CHOICES = {
    "off": (Flags(inbox=False, email=False, digest=False), _("Not at all")),
    "inbox": (Flags(inbox=True, email=False, digest=False), _("Inbox only")),
    "email": (Flags(inbox=True, email=True, digest=False), _("Inbox and e-mail at once")),
    "digest": (Flags(inbox=True, email=True, digest=True), _("Inbox and the daily digest")),
}


def choice_of(flags: Flags) -> str:
    return next(name for name, (choice, _label) in CHOICES.items() if choice == flags)


def preferences_of(user) -> dict[str, Flags]:
    """Every kind's flags for one user, the defaults filled in (one query)."""
    stored = {
        row.kind: Flags(row.inbox, row.email, row.digest)
        for row in Preference.objects.filter(user=user)
    }
    return {kind: stored.get(kind, DEFAULT) for kind in Kind.values}


def flags_for(user_ids: Iterable[int], kind: str) -> dict[int, Flags]:
    """The flags of `kind` for these users; only those who changed it are in the answer (the
    others have DEFAULT). One query per CHUNK users: a sweep tells thousands at once."""
    ids = list(user_ids)
    answer: dict[int, Flags] = {}
    for start in range(0, len(ids), CHUNK):
        rows = Preference.objects.filter(kind=kind, user_id__in=ids[start : start + CHUNK])
        for user_id, inbox, email, digest in rows.values_list("user_id", *FIELDS):
            answer[user_id] = Flags(inbox, email, digest)
    return answer


class InvalidPreferences(ValueError):
    """Preferences that cannot be delivered; `errors` by kind."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def merged(current: Mapping[str, Flags], changes: Mapping[str, Mapping[str, bool]]) -> dict:
    """The preferences after `changes` (a kind's flags left out keep their value); raises
    InvalidPreferences naming each kind whose result cannot be delivered."""
    result = dict(current)
    errors = {}
    for kind, flags in changes.items():
        values = {**result[kind].as_dict(), **flags}
        result[kind] = Flags(**values)
        problem = result[kind].problem()
        if problem:
            errors[kind] = problem
    if errors:
        raise InvalidPreferences(errors)
    return result


def set_preferences(user, changes: Mapping[str, Mapping[str, bool]]) -> dict[str, Flags]:
    """Change some kinds' flags of `user`; validates all before writing any."""
    with transaction.atomic():
        result = merged(preferences_of(user), changes)
        changed = list(changes)
        # A kind back at the default keeps no row: the table holds only what users changed.
        Preference.objects.filter(user=user, kind__in=changed).delete()
        Preference.objects.bulk_create(
            [
                Preference(user=user, kind=kind, **result[kind].as_dict())
                for kind in changed
                if result[kind] != DEFAULT
            ]
        )
    return result
