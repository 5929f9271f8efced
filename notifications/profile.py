"""The user's own settings: name, e-mail address, language and message preferences.

The language decides every message written to the user from then on (inbox and e-mail,
notifications/messages.py and notifications/email.py), so the page's language switch saves it
here too (`save_language`).
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from notifications.email import language_of
from notifications.preferences import Flags, preferences_of, set_preferences


@dataclass(frozen=True)
class Me:
    id: int
    username: str
    name: str
    role: str
    language: str
    email: str
    notify: dict[str, Flags]


def me(user, notify: dict[str, Flags] | None = None) -> Me:
    return Me(
        id=user.pk,
        username=user.username,
        name=user.name,
        role=user.role,
        # The language messages are written in: the saved choice, else the portal's default.
        language=language_of(user),
        email=user.email,
        notify=notify if notify is not None else preferences_of(user),
    )


def update_me(user, *, notify=None, **fields) -> Me:
    """Change any of `name`, `language`, `email` and the preferences (`notify`, by kind), all
    or nothing: preferences that cannot be delivered leave the rest unchanged too."""
    with transaction.atomic():
        for field, value in fields.items():
            setattr(user, field, value)
        if fields:
            user.save(update_fields=list(fields))
        result = set_preferences(user, notify) if notify else None
    return me(user, result)


def save_language(user, language: str) -> None:
    """The page's language switch: remember the choice for the user's messages."""
    if language in dict(settings.LANGUAGES) and user.language != language:
        user.language = language
        user.save(update_fields=["language"])
