"""What a batch of firings writes: the timeline events, the accountability cases, the messages.

`escalation.fire` calls these for the requests whose firings it has just inserted (and holds
locked), with the rows it read of them; everything here is set-based over the batch.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import cast

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy, ngettext

from compliance import cases
from core.template_filters import minute_text
from notifications import messages
from officials.models import (
    Department,
    EnterpriseLink,
    LinkKind,
    Role,
    User,
    lazy_display_name,
)
from requests_app.models import Clock, EscalationAction, Recipient
from requests_app.sweep import postgres
from requests_app.timeline import NewEvent, slot

EVENT_ACTIONS: dict[str, str] = {
    EscalationAction.REMIND: "reminder",
    EscalationAction.ESCALATE: "escalated",
    EscalationAction.ACCOUNTABILITY: "accountability_opened",
}
NOTIFICATION_KINDS: dict[str, str] = {
    EscalationAction.REMIND: "reminder",
    EscalationAction.ESCALATE: "escalated",
    EscalationAction.ACCOUNTABILITY: "accountability_opened",
}
# How a message names the clock that ran out (the admin's labels name the clock itself).
CLOCK_DEADLINES = {
    Clock.ASSIGN: gettext_lazy("assign deadline"),
    Clock.ANSWER: gettext_lazy("answer deadline"),
    Clock.EXTENSION: gettext_lazy("extended deadline"),
}
NOT_ASSIGNED = gettext_lazy("no department yet (the liaison)")

# How a reminder says when its clock is due: the `when` of the "reminder" message. Before the
# due time, when it is due; after it, how long ago, in calendar time (whole days of 24 hours,
# else whole hours, else minutes): a reader counts "2 days ago" back on the wall calendar, not
# in working days. Both languages have these words; the PostgreSQL path fills in the same ones
# (`postgres.NOTIFY_BATCH`), each recipient's in their language.
DUE_AT = gettext_lazy("is due at %(due)s")
WAS_DUE = gettext_lazy("was due %(ago)s ago, at %(due)s")
_UNIT_LENGTHS = (
    ("day", dt.timedelta(days=1)),
    ("hour", dt.timedelta(hours=1)),
    ("minute", dt.timedelta(minutes=1)),
)
AGO_UNITS = tuple(unit for unit, _length in _UNIT_LENGTHS)


def due_field(clock: str) -> str:
    """The request's column that holds the due time of `clock` (an extension moves the answer)."""
    return "assign_due_at" if clock == Clock.ASSIGN else "answer_due_at"


def cycle_field(clock: str) -> str | None:
    """The request's column that counts the cycles of `clock`; None: it has one, cycle 0.

    A reopened request runs its answer clock (and any extension) again, so the ladder may fire
    again; it is assigned once.
    """
    return None if clock == Clock.ASSIGN else "reopen_count"


def event_data(rule, *, due_at, cycle) -> dict:
    """The data of a firing's timeline event: the one definition, for Python and the database.

    `due_at` as `isoformat()` gives the UTC due time; PostgreSQL's firing statement passes
    `timeline.slot(...)` for the two values it fills in itself (`database_event_data`).
    """
    return {"rule": rule.pk, "clock": rule.clock, "due_at": due_at, "cycle": cycle}


def database_event_data(rule) -> dict:
    """`event_data` with the request's values left for the database to fill in."""
    return event_data(rule, due_at=slot("due_at"), cycle=slot("cycle"))


def events(rule, rows) -> list[NewEvent]:
    """One hash-chained event per request, continuing each request's chain (rows are locked)."""
    action = EVENT_ACTIONS[rule.action]
    return [
        NewEvent(
            request_id=row["pk"],
            action=action,
            status=row["status"],
            note=rule.name,
            data=event_data(rule, due_at=row["due"].isoformat(), cycle=row["cycle"]),
        )
        for row in rows
    ]


# The fields of a request that `Context.recipients` reads.
_DECIDES_RECIPIENTS = ("handler_id", "department_id", "liaison_id", "enterprise_id")


@dataclass
class Context:
    """Everything a batch's messages and cases need, loaded in a fixed number of queries."""

    departments: dict[int, Department]
    enterprises: dict[int, tuple[str, str]]  # id -> (name, region)
    users: dict[int, User]
    handlers_by_department: dict[int, list[User]]
    leaders_by_enterprise: dict[int, list[User]]
    inspectors_by_region: dict[str, list[User]]
    _told: dict[tuple, list[User]] = field(default_factory=dict)

    @classmethod
    def load(cls, rows, recipients) -> "Context":
        """`recipients`: the rule's recipient codes (inspectors are read only when named)."""
        from officials.models import Enterprise
        from officials.selectors import inspectors_by_region

        department_ids = {row["department_id"] for row in rows if row["department_id"]}
        enterprise_ids = {row["enterprise_id"] for row in rows}
        departments = Department.objects.in_bulk(department_ids)
        enterprises = {
            pk: (name, region)
            for pk, name, region in Enterprise.objects.filter(pk__in=enterprise_ids).values_list(
                "pk", "name", "region"
            )
        }
        user_ids = {row[key] for row in rows for key in ("handler_id", "liaison_id") if row[key]}
        user_ids |= {d.head_id for d in departments.values() if d.head_id}
        users = User.objects.in_bulk(user_ids)
        handlers: defaultdict[int, list[User]] = defaultdict(list)
        for user in User.objects.filter(
            role=Role.HANDLER, is_active=True, department_id__in=department_ids
        ):
            if user.department_id is not None:  # filtered by department: always set
                handlers[user.department_id].append(user)
        leaders: defaultdict[int, list[User]] = defaultdict(list)
        for link in (
            EnterpriseLink.objects.active()
            .filter(
                kind=LinkKind.LEADER,
                enterprise_id__in=enterprise_ids,
                official__is_active=True,
            )
            .select_related("official")
        ):
            leaders[link.enterprise_id].append(link.official)
        # The inspectors of each region in the batch, once per batch (two queries), by the
        # rule their consoles are scoped by; read only when the rule names them.
        inspectors: dict[str, list[User]] = {}
        if Recipient.INSPECTORS in recipients:
            inspectors = inspectors_by_region(region for _name, region in enterprises.values())
        return cls(departments, enterprises, users, handlers, leaders, inspectors)

    def told(self, codes: list[str], row) -> list[User]:
        """Everyone `codes` name for this request; requests with the same people share the list."""
        key = (tuple(codes), *(row[name] for name in _DECIDES_RECIPIENTS))
        found = self._told.get(key)
        if found is None:
            found = self._told[key] = [
                user for code in codes for user in self.recipients(code, row)
            ]
        return found

    def recipients(self, code: str, row) -> list[User]:
        if code == Recipient.ASSIGNEE:
            if row["handler_id"]:
                return [self.users[row["handler_id"]]]
            if row["department_id"]:
                return self.handlers_by_department.get(row["department_id"], [])
            return [self.users[row["liaison_id"]]] if row["liaison_id"] else []
        if code == Recipient.LIAISON:
            return [self.users[row["liaison_id"]]] if row["liaison_id"] else []
        if code == Recipient.LEADER:
            return self.leaders_by_enterprise.get(row["enterprise_id"], [])
        if code == Recipient.DEPARTMENT_HEAD:
            department = self.departments.get(row["department_id"])
            return [self.users[department.head_id]] if department and department.head_id else []
        if code == Recipient.INSPECTORS:
            return self.inspectors_by_region[self.enterprises[row["enterprise_id"]][1]]
        return []


def open_cases(rule, rows, now, context: Context) -> int:
    """One case per breach, opened by compliance (`compliance.cases`) from plain facts: the
    request, its department and who answers for it, the region, the rule and the breach time."""
    breaches = [
        cases.Breach(
            request_id=row["pk"],
            reference=row["reference"],
            enterprise_id=row["enterprise_id"],
            department_id=row["department_id"],
            # The handler answers for a breach; before assignment, the liaison who held it.
            official_id=row["handler_id"] or (None if row["department_id"] else row["liaison_id"]),
            region=context.enterprises[row["enterprise_id"]][1],
            rule=rule.name,
            breach_at=row["due"],
            rule_en=rule.name_en,
        )
        for row in rows
    ]
    return cases.open_breach_cases(breaches, now=now)


def overdue_by(due: dt.datetime, now: dt.datetime) -> tuple[str, int] | None:
    """(unit, count) of how long ago `due` passed, in calendar time; None while it is ahead.

    Whole days once a day has passed, else whole hours, else minutes (at least one).
    """
    if due >= now:
        return None
    elapsed = now - due
    for unit, length in _UNIT_LENGTHS:
        if elapsed >= length:
            return unit, elapsed // length
    return "minute", 1


def _ago_words(unit: str, count: int) -> str:
    """`count` units in the active language, "%(count)s" left in (the database fills it in)."""
    if unit == "day":
        return ngettext("%(count)s day", "%(count)s days", count)
    if unit == "hour":
        return ngettext("%(count)s hour", "%(count)s hours", count)
    return ngettext("%(count)s minute", "%(count)s minutes", count)


def _when_words(due_text: str, overdue: tuple[str, int] | None) -> str:
    if overdue is None:
        return str(DUE_AT) % {"due": due_text}
    unit, count = overdue
    ago = _ago_words(unit, count) % {"count": count}
    return str(WAS_DUE) % {"ago": ago, "due": due_text}


# Lazy: each is read (str()) in the language of the recipient it is written for.
_lazy_when_words = lazy(_when_words, str)
_lazy_ago_words = lazy(_ago_words, str)


def when_due(due: dt.datetime, now: dt.datetime) -> Promise:
    """The reminder's `when`, read in each recipient's language (a lazy string)."""
    due_text = minute_text(due)
    return cast(Promise, _lazy_when_words(due_text, overdue_by(due, now)))


def when_words() -> dict[str, Promise]:
    """The words of `when_due` for the database to fill in (`postgres.notify_batch`), by name:
    each language's "due at" and "was due … ago", and each unit's singular and plural."""
    words: dict[str, Promise] = {"when_due": DUE_AT, "when_was": WAS_DUE}
    for unit in AGO_UNITS:
        # One and two: the singular and the plural of English; Chinese has one form.
        words[f"ago_{unit}_one"] = cast(Promise, _lazy_ago_words(unit, 1))
        words[f"ago_{unit}_other"] = cast(Promise, _lazy_ago_words(unit, 2))
    return words


def message_defaults(clock: str) -> dict[str, Promise]:
    """What the database is given besides the requests' rows to write a sweep message: the
    clock's name, the words for a request no department holds yet, and the reminder's `when`."""
    return {"clock": CLOCK_DEADLINES[Clock(clock)], "department": NOT_ASSIGNED, **when_words()}


def _told(rule, rows, context: Context) -> tuple[str, str, list]:
    kind = NOTIFICATION_KINDS[rule.action]
    # reverse() once: building a link per row is a noticeable share of a 100,000-row sweep.
    link = reverse("requests:detail", args=[0]).replace("/0/", "/{}/")
    return kind, link, [(row, context.told(rule.recipients, row)) for row in rows]


def notify(rule, rows, now, context: Context) -> int:
    """The batch's messages, rendered in Python (the portable path)."""
    kind, link, told = _told(rule, rows, context)
    clock = CLOCK_DEADLINES[rule.clock]  # lazy: each recipient reads it in their own language
    # Likewise each department's name, one lazy name per department for the whole batch.
    names = {pk: lazy_display_name(department) for pk, department in context.departments.items()}
    items = []
    for row, recipients in told:
        message_context = {
            "reference": row["reference"],
            "title": row["title"],
            "enterprise": context.enterprises[row["enterprise_id"]][0],
            # Never assigned: the case concerns the liaison who did not hand it on.
            "department": names.get(row["department_id"], NOT_ASSIGNED),
            "clock": clock,
            "due": minute_text(row["due"]),
        }
        if rule.action == EscalationAction.REMIND:  # the one message that says when
            message_context["when"] = when_due(row["due"], now)
        items.append((recipients, message_context, link.format(row["pk"])))
    return messages.save_rows(messages.rows_for_many(kind, items, now=now))


def notify_in_database(rule, rows, now, context: Context) -> int:
    """PostgreSQL: the same words as `notify`, filled in by the database from the requests'
    own rows (`postgres.NOTIFY_BATCH`): only the (request, recipient) pairs travel."""
    kind, link, told = _told(rule, rows, context)
    words = messages.inbox_words(
        kind,
        [(row["pk"], recipients) for row, recipients in told],
        fields=postgres.NOTICE_FIELDS,
        # Never assigned: the case concerns the liaison who did not hand it on.
        defaults=message_defaults(rule.clock),
    )
    if words is None:
        return 0
    with connection.cursor() as cursor:
        count, ids = postgres.notify_batch(
            cursor,
            words=words,
            requests=[row["pk"] for row, _ in told],
            due_column=due_field(rule.clock),
            time_zone=timezone.get_current_timezone_name(),
            link=link,
            now=now,
        )
    messages.emails_after_commit(ids)
    return count
