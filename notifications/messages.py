"""Every outbound message: its words, who receives it, the inbox row, and the e-mail after commit.

Messages are written into the inbox in the recipient's language at once (cheap string
formatting, so a sweep can notify thousands); the e-mail is rendered and sent later by Celery.
Each recipient's preference for the kind (notifications/preferences.py) decides whether there
is a row at all, and whether its e-mail goes out at once or waits for the daily digest
(notifications/digest.py).
A mail server or broker that is down never blocks or undoes the change that caused the message:
the row stays with `emailed_at` empty and the next sweep hands it to the worker again.
"""

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.bulk import insert_rows
from notifications import outbox, preferences
from notifications.email import language_of
from notifications.models import Notification
from notifications.tasks import send_notification_emails

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    subject: object  # lazy translatable format strings, filled from the context
    body: object


MESSAGES: dict[str, Message] = {
    "new_request": Message(
        _("New request from %(enterprise)s: %(reference)s"),
        _("“%(title)s” was filed and is yours to assign to a department by %(assign_due)s."),
    ),
    "request_unrouted": Message(
        _("No liaison for %(reference)s"),
        _(
            "“%(title)s” from %(enterprise)s has no liaison who may take it (none is linked, or "
            "every linked liaison recused). Please assign it by %(assign_due)s."
        ),
    ),
    "liaison_reassigned": Message(
        _("Request %(reference)s passed to you"),
        _(
            "“%(title)s” from %(enterprise)s is now yours: the previous liaison recused (回避). "
            "Please assign it by %(assign_due)s."
        ),
    ),
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
    "request_rejected": Message(
        _("Your request %(reference)s was not taken up"),
        _("“%(title)s” is outside what the portal handles: %(note)s"),
    ),
    "request_merged": Message(
        _("Your request %(reference)s was merged into another"),
        _("“%(title)s” repeats another request and is handled with it. %(note)s"),
    ),
    "request_withdrawn": Message(
        _("Request %(reference)s was withdrawn"),
        _("%(enterprise)s withdrew “%(title)s”. %(note)s"),
    ),
    "info_requested": Message(
        _("More information is needed for %(reference)s"),
        _("%(department)s asks about “%(title)s”: %(note)s"),
    ),
    "feedback_given": Message(
        _("Your request %(reference)s has been answered"),
        _("%(department)s answered “%(title)s”: %(note)s Please review the answer."),
    ),
    "info_provided": Message(
        _("%(enterprise)s answered your question on %(reference)s"),
        _(
            "The answer about “%(title)s”: %(note)s The answer clock runs again; the answer is "
            "due by %(answer_due)s."
        ),
    ),
    "answer_rejected": Message(
        _("The answer to %(reference)s was not accepted"),
        _(
            "The review of “%(title)s” (%(enterprise)s) rejected the answer: %(note)s The request "
            "is reopened; a new answer is due by %(answer_due)s."
        ),
    ),
    "follow_up_closed": Message(
        _("A follow-up call closed your request %(reference)s"),
        _(
            "A liaison recorded a follow-up call (回访) about “%(title)s” and closed the request: "
            "%(note)s If this is not what you told them, you may dispute it on the request's page "
            "until %(dispute_until)s."
        ),
    ),
    "follow_up_reopened": Message(
        _("A follow-up call reopened your request %(reference)s"),
        _(
            "A liaison recorded a follow-up call (回访) about “%(title)s”: the answer was not "
            "accepted and %(department)s works on it again. %(note)s"
        ),
    ),
    "request_disputed": Message(
        _("The enterprise disputes the follow-up on %(reference)s"),
        _(
            "%(enterprise)s says the follow-up call about “%(title)s” does not record what they "
            "said: %(note)s The request is reopened; a new answer is due by %(answer_due)s."
        ),
    ),
    "request_closed": Message(
        _("Request %(reference)s is closed"),
        _("“%(title)s” was closed after the review."),
    ),
    "extension_pending": Message(
        _("Extension to approve: %(reference)s"),
        _("%(department)s asks for more time on “%(title)s” until %(until)s. Plan: %(note)s"),
    ),
    "extension_approved": Message(
        _("Extension approved: %(reference)s"),
        _("The extension for “%(title)s” was approved: the answer is now due by %(answer_due)s."),
    ),
    "extension_refused": Message(
        _("Extension refused: %(reference)s"),
        _(
            "The extension for “%(title)s” was refused: %(note)s The answer is still due by "
            "%(answer_due)s."
        ),
    ),
    "reminder": Message(
        # `when` is the sweep's (requests_app.firing.when_due): before the due time "is due at
        # <date>"; after it "was due 2 days ago, at <date>" (calendar time), in the reader's
        # language. A reminder after the deadline never says it "will be due" on a past date.
        _("Reminder: %(reference)s %(when)s"),
        _("The %(clock)s of “%(title)s” (%(enterprise)s) %(when)s."),
    ),
    "escalated": Message(
        _("Escalated to you: %(reference)s"),
        _("The %(clock)s of “%(title)s” (%(enterprise)s) passed at %(due)s. Please supervise."),
    ),
    "accountability_opened": Message(
        _("Accountability case opened: %(reference)s"),
        _(
            "The %(clock)s of “%(title)s” (%(enterprise)s) passed at %(due)s; "
            "a case has been opened for %(department)s."
        ),
    ),
    # Confidential reports and case decisions (compliance/inspection): a report's message names
    # its kind and number, never its reporter; a decision's names the outcome, not the file.
    "report_received": Message(
        _("Confidential report #%(number)s received"),
        _("A confidential report (%(kind)s) was filed in your jurisdiction. Please review it."),
    ),
    # What the reporter added later through the receipt: only that something came, never what
    # or from whom (the text and files are read on the report's page).
    "report_added": Message(
        _("Confidential report #%(number)s: more information"),
        _(
            "The reporter added information to confidential report #%(number)s (%(kind)s). "
            "Please review it."
        ),
    ),
    "case_decided": Message(
        _("Accountability case #%(number)s decided"),
        _("The discipline inspectors decided case #%(number)s: %(outcome)s. Measure: %(measure)s."),
    ),
    # Compliance findings (compliance/services.py): a violation of a list item by an official of
    # the inspector's region, and the case it opened where the admin configured the item so.
    "finding_violation": Message(
        _("Violation of %(rule)s by %(official)s"),
        _("%(official)s (%(enterprise)s): %(message)s"),
    ),
    "case_opened": Message(
        _("Accountability case #%(number)s opened: %(rule)s"),
        _("A case was opened for %(official)s (%(enterprise)s): %(message)s"),
    ),
    # Red and yellow flags (reports/flags.py): a department's run of yellow flags opened a case.
    "flag_case_opened": Message(
        _("Accountability case #%(number)s opened: %(department)s"),
        _(
            "%(department)s received a yellow flag in %(count)s consecutive quarters (up to "
            "%(period)s); a case was opened."
        ),
    ),
    # The working-day calendar (requests_app/calendar.py): from 1 November, once per admin.
    "calendar_missing": Message(
        _("The working-day calendar for %(year)s is not loaded"),
        _(
            "The State Council's holiday schedule for %(year)s is not in the portal yet. Until "
            "it is, clocks count Monday to Friday as working days in %(year)s, and escalations "
            "and accountability cases that %(year)s decides wait (reminders still go out). "
            "Please load the notice on the calendar page, or confirm the Monday–Friday fallback "
            "there."
        ),
    ),
    # The nightly check of every timeline (requests_app/checkpoints.py): once per finding.
    "timeline_tampered": Message(
        _("The history of %(reference)s does not verify"),
        _(
            "The nightly check of case histories found that the history of %(reference)s "
            "(“%(title)s”) no longer matches what the portal sealed: %(findings)s Please "
            "compare it with the archived checkpoints before relying on it."
        ),
    ),
}


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
    language; each item's message is rendered once per language and shared by all its
    recipients who read that language, and lazy context values are translated once per
    language, not once per row: a sweep builds hundreds of thousands of these.
    """
    now = now or timezone.now()
    told = [_distinct_active(recipients) for recipients, _context, _link in items]
    # Each recipient's preferences for this kind, read once for the whole batch.
    flags = preferences.flags_for({user.pk for users in told for user in users}, kind)
    by_language: dict[str, list[tuple[int, list]]] = {}
    for index, users in enumerate(told):
        for user in users:
            if not flags.get(user.pk, preferences.DEFAULT).inbox:
                continue  # the user turned this kind off: no inbox row, so no e-mail either
            readers = by_language.setdefault(language_of(user), [])
            if readers and readers[-1][0] == index:
                readers[-1][1].append(user)
            else:
                readers.append((index, [user]))
    message = MESSAGES[kind]
    rows = []
    for language, readers in by_language.items():
        with translation.override(language):
            subject_format, body_format = str(message.subject), str(message.body)
            translated: dict[int, str] = {}
            for index, users in readers:
                _recipients, context, link = items[index]
                values = {}
                for key, value in context.items():
                    if isinstance(value, Promise):
                        if id(value) not in translated:
                            translated[id(value)] = str(value)
                        value = translated[id(value)]
                    values[key] = value
                subject, body = (subject_format % values)[:200], body_format % values
                rows.extend(
                    (user.pk, kind, subject, body, "", link, now, None, wanted, None, 0)
                    for user in users
                    for wanted in [_email_now(user, flags.get(user.pk, preferences.DEFAULT))]
                )
    return rows


def _email_now(user, flags: preferences.Flags) -> bool:
    """Whether the row's e-mail goes out at once. A digest kind's rows wait for the daily
    digest (notifications/digest.py), which collects them by `email_wanted` being false."""
    return bool(user.email) and flags.email and not flags.digest


def _distinct_active(recipients: Iterable) -> list:
    seen: set[int] = set()
    users = []
    for user in recipients:
        if user is None or not user.is_active or user.pk in seen:
            continue
        seen.add(user.pk)
        users.append(user)
    return users


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
    emails_after_commit(ids)
    return len(rows)


def save_and_send(rows: list[Notification]) -> list[Notification]:
    """Store unsaved Notification objects the same way (see `save_rows`)."""
    save_rows([tuple(getattr(row, column) for column in COLUMNS) for row in rows])
    return rows


# A Python format placeholder, "%(name)s", or an escaped "%%".
_PLACEHOLDER = re.compile(r"%(?:\((\w+)\)s|%)")


@dataclass(frozen=True)
class InboxWords:
    """Inbox rows for many (item, recipients), prepared for a database statement to fill in.

    The same rows as `save_rows(rows_for_many(...))`, for callers whose message values are
    columns in the database (the sweep: `requests_app.sweep.postgres.NOTIFY_BATCH`). Each
    language's words are translated here once, their placeholders numbered for PostgreSQL's
    format() by the order of the statement's `fields`; only (item, recipient) pairs travel.
    """

    kind: str
    recipients: list[int]  # each distinct active recipient once
    languages: list[int]  # each recipient's language: its position (from 1) in the lists below
    email_wanted: list[bool]
    items: list[int]  # the (item, recipient) pairs, as two lists
    readers: list[int]
    subjects: list[str]  # by language
    bodies: list[str]
    defaults: dict[str, list[str]]  # a value's words by language, where the database has NULL
    placeholders: frozenset[str]  # the values the message names (the others need not be read)
    # The languages themselves, by position: a statement picks a name's English form by them.
    language_codes: tuple[str, ...] = ()


def inbox_words(
    kind: str,
    items: list[tuple[int, Iterable]],
    *,
    fields: Sequence[str],
    defaults: dict[str, Promise],
) -> InboxWords | None:
    """The words and pairs of `kind`'s messages for many (item, recipients); None when nobody
    active is told. `fields`: the values the statement passes to format(), in order; every
    placeholder of the message must be one of them."""
    languages: dict[str, int] = {}  # language -> its position (from 1) in the lists
    recipients: dict[int, tuple[int, bool]] = {}
    pair_items, pair_users = [], []
    # Items often share one list of recipients (a sweep batch: the same leader and liaison for
    # thousands of requests); each list is checked once. `items` keeps the lists alive, so
    # their ids stay theirs for this call.
    checked: dict[int, list[int]] = {}
    active: dict[int, list] = {}
    for _item, users in items:
        if id(users) not in active:
            active[id(users)] = _distinct_active(users)
    # Each recipient's preferences for this kind, read once for the whole batch.
    flags = preferences.flags_for({user.pk for users in active.values() for user in users}, kind)
    for item, users in items:
        pks = checked.get(id(users))
        if pks is None:
            pks = checked[id(users)] = []
            for user in active[id(users)]:
                told = flags.get(user.pk, preferences.DEFAULT)
                if not told.inbox:
                    continue  # the user turned this kind off: no inbox row, no e-mail
                if user.pk not in recipients:
                    language = languages.setdefault(language_of(user), len(languages) + 1)
                    recipients[user.pk] = (language, _email_now(user, told))
                pks.append(user.pk)
        pair_items.extend([item] * len(pks))
        pair_users.extend(pks)
    if not pair_items:
        return None
    message = MESSAGES[kind]
    subjects, bodies, fallbacks = [], [], {name: [] for name in defaults}
    named: set[str] = set()
    for language in languages:
        with translation.override(language):
            subject, body = str(message.subject), str(message.body)
            named.update(name for name in _PLACEHOLDER.findall(subject + body) if name)
            subjects.append(_numbered(subject, fields))
            bodies.append(_numbered(body, fields))
            for name, value in defaults.items():
                fallbacks[name].append(str(value))
    return InboxWords(
        kind=kind,
        recipients=list(recipients),
        languages=[language for language, _wanted in recipients.values()],
        email_wanted=[wanted for _language, wanted in recipients.values()],
        items=pair_items,
        readers=pair_users,
        subjects=subjects,
        bodies=bodies,
        defaults=fallbacks,
        placeholders=frozenset(named),
        language_codes=tuple(languages),
    )


def _numbered(text: str, fields: Sequence[str]) -> str:
    """Turn "%(due)s" into "%6$s" for PostgreSQL's format(); `fields` gives the positions."""
    if "%" in _PLACEHOLDER.sub("", text):  # %d, %s and the like: Python formatting only
        raise ValueError(f"Only %(name)s placeholders can be filled in by the database: {text!r}")
    unknown = {name for name in _PLACEHOLDER.findall(text) if name} - set(fields)
    if unknown:
        raise ValueError(f"The database does not fill in {sorted(unknown)}: {text!r}")
    return _PLACEHOLDER.sub(
        lambda match: f"%{fields.index(match[1]) + 1}$s" if match[1] else "%%", text
    )


def emails_after_commit(ids: list[int]) -> None:
    """Hand the e-mails of stored inbox rows to Celery once the surrounding transaction commits."""
    if ids:
        transaction.on_commit(lambda: enqueue_emails(ids))


def enqueue_emails(ids: list[int]) -> bool:
    """Hand e-mails to Celery; False when the broker refused them."""
    try:
        send_notification_emails.delay(ids)
    except Exception:  # the broker is down: the rows wait for the next sweep, nothing is lost
        logger.warning(
            "Could not enqueue %d e-mails; the next sweep retries.", len(ids), exc_info=True
        )
        return False
    return True


def requeue_unsent(now=None, older_than_minutes: int = 10) -> int:
    """Hand e-mails that never went out (broker or worker down) to Celery again.

    The rows are claimed first (notifications/outbox.py), so sweeps that overlap, or a sweep
    that runs while a worker is still sending, never enqueue one row twice.
    """
    now = now or timezone.now()
    ids = outbox.claim_unsent(now, timezone.timedelta(minutes=older_than_minutes))
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        if not enqueue_emails(batch):
            outbox.release_unqueued(batch, now)  # the broker is down: the next sweep retries
    return len(ids)
