"""Every outbound message: its words, who receives it, the inbox row, and the e-mail after commit.

Messages are written into the inbox in the recipient's language at once (cheap string
formatting, so a sweep can notify thousands); the e-mail is rendered and sent later by Celery.
A mail server or broker that is down never blocks or undoes the change that caused the message:
the row stays with `emailed_at` empty and the next sweep hands it to the worker again.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portal.bulk import insert_rows
from portal.models import Notification

logger = logging.getLogger(__name__)

EMAIL_MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Message:
    subject: object  # lazy translatable format strings, filled from the context
    body: object


MESSAGES: dict[str, Message] = {
    "request_assigned": Message(
        _("Your request %(reference)s has been assigned"),
        _("“%(title)s” has been assigned to %(department)s. An answer is due by %(answer_due)s."),
    ),
    "handler_assigned": Message(
        _("New request for your department: %(reference)s"),
        _(
            "“%(title)s” from %(enterprise)s has been assigned to %(department)s. Please sign "
            "for it; the answer is due by %(answer_due)s."
        ),
    ),
    "info_requested": Message(
        _("More information is needed for %(reference)s"),
        _("%(department)s asks about “%(title)s”: %(note)s"),
    ),
    "feedback_given": Message(
        _("Your request %(reference)s has been answered"),
        _("%(department)s answered “%(title)s”: %(note)s Please review the answer."),
    ),
    "request_closed": Message(
        _("Request %(reference)s is closed"),
        _("“%(title)s” was closed after the review."),
    ),
    "extension_pending": Message(
        _("Extension to approve: %(reference)s"),
        _("%(department)s asks for more time on “%(title)s” until %(until)s. Plan: %(note)s"),
    ),
    "reminder": Message(
        _("Reminder: %(reference)s is due %(due)s"),
        _("The %(clock)s of “%(title)s” (%(enterprise)s) is %(due)s."),
    ),
    "escalated": Message(
        _("Escalated to you: %(reference)s"),
        _(
            "The %(clock)s of “%(title)s” (%(enterprise)s) passed at %(due)s. "
            "Please supervise (督办)."
        ),
    ),
    "accountability_opened": Message(
        _("Accountability case opened: %(reference)s"),
        _(
            "The %(clock)s of “%(title)s” (%(enterprise)s) passed at %(due)s; "
            "a case has been opened for %(department)s."
        ),
    ),
}


def language_of(user) -> str:
    return user.language or settings.LANGUAGE_CODE


COLUMNS = (
    "recipient_id",
    "kind",
    "subject",
    "body",
    "body_html",
    "link",
    "created_at",
    "read_at",
    "email_wanted",
    "emailed_at",
    "email_attempts",
)


def rows_for_many(kind: str, items: list[tuple[Iterable, dict, str]], now=None) -> list[tuple]:
    """Inbox rows (tuples in COLUMNS order) for many (recipients, context, link) items.

    Rows are rendered language by language, switching the active translation once per
    language, and lazy context values are translated once per language, not once per row:
    a sweep builds hundreds of thousands of these.
    """
    now = now or timezone.now()
    by_language: dict[str, list] = {}
    for recipients, context, link in items:
        seen: set[int] = set()
        for user in recipients:
            if user is None or not user.is_active or user.pk in seen:
                continue
            seen.add(user.pk)
            by_language.setdefault(language_of(user), []).append((user, context, link))
    message = MESSAGES[kind]
    rows = []
    for language, entries in by_language.items():
        with translation.override(language):
            subject_format, body_format = str(message.subject), str(message.body)
            translated: dict[int, str] = {}
            for user, context, link in entries:
                values = {}
                for key, value in context.items():
                    if isinstance(value, Promise):
                        if id(value) not in translated:
                            translated[id(value)] = str(value)
                        value = translated[id(value)]
                    values[key] = value
                rows.append(
                    (
                        user.pk,
                        kind,
                        (subject_format % values)[:200],
                        body_format % values,
                        "",
                        link,
                        now,
                        None,
                        bool(user.email),
                        None,
                        0,
                    )
                )
    return rows


def build(
    recipients: Iterable, kind: str, context: dict, link: str = "", now=None
) -> list[Notification]:
    """Unsaved inbox rows, one per distinct active recipient, each in their own language."""
    return [
        Notification(**dict(zip(COLUMNS, row, strict=True)))
        for row in rows_for_many(kind, [(recipients, context, link)], now)
    ]


def save_rows(rows: list[tuple]) -> int:
    """Store inbox rows; hand their e-mails to Celery once the surrounding transaction commits."""
    wanted = COLUMNS.index("email_wanted")
    mailed = [row for row in rows if row[wanted]]
    # Ids are drawn only for rows with an e-mail to send: the task is given their ids.
    ids = insert_rows(Notification, COLUMNS, mailed, with_ids=True)
    insert_rows(Notification, COLUMNS, [row for row in rows if not row[wanted]])
    if ids:
        transaction.on_commit(lambda: enqueue_emails(ids))
    return len(rows)


def save_and_send(rows: list[Notification]) -> list[Notification]:
    """Store unsaved Notification objects the same way (see `save_rows`)."""
    save_rows([tuple(getattr(row, column) for column in COLUMNS) for row in rows])
    return rows


def enqueue_emails(ids: list[int]) -> None:
    from portal.tasks import send_notification_emails

    try:
        send_notification_emails.delay(ids)
    except Exception:  # the broker is down: the rows wait for the next sweep, nothing is lost
        logger.warning(
            "Could not enqueue %d e-mails; the next sweep retries.", len(ids), exc_info=True
        )


def requeue_unsent(now=None, older_than_minutes: int = 10) -> int:
    """Hand e-mails that never went out (broker or worker down) to Celery again."""
    now = now or timezone.now()
    cutoff = now - timezone.timedelta(minutes=older_than_minutes)
    ids = list(
        Notification.objects.filter(
            email_wanted=True,
            emailed_at__isnull=True,
            created_at__lt=cutoff,
            email_attempts__lt=EMAIL_MAX_ATTEMPTS,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:5000]
    )
    for start in range(0, len(ids), 500):
        enqueue_emails(ids[start : start + 500])
    return len(ids)


def send_email(notification: Notification) -> None:
    """Render and send one e-mail in the recipient's language; raises if the mail server fails."""
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    user = notification.recipient
    with translation.override(language_of(user)):
        context = {
            "notification": notification,
            "user": user,
            "site_url": settings.SITE_URL.rstrip("/"),
            # No request, so no i18n context processor: the HTML's lang attribute needs it here.
            "LANGUAGE_CODE": translation.get_language(),
        }
        text = render_to_string("email/notification.txt", context)
        html = render_to_string("email/notification.html", context)
    mail = EmailMultiAlternatives(
        notification.subject, text, settings.DEFAULT_FROM_EMAIL, [user.email]
    )
    mail.attach_alternative(html, "text/html")
    mail.send()
