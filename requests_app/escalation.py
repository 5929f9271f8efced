"""The escalation ladder: the sweep that turns breached or nearly breached clocks into action.

The sweep is set-based. For each active rule it computes one threshold moment from `now` on the
working-day calendar (in Python: calendars are not SQL), then lets the database find, over the
indexed due columns, every open request whose clock has passed that threshold and that has not
fired the rule in its current clock cycle. Each batch runs in one transaction: lock the requests
(skipping rows a user is changing right now; the next sweep gets them), insert the firings with
ON CONFLICT DO NOTHING ... RETURNING, and only for the rows actually inserted append the
timeline events, open the accountability cases and write the notifications. The unique key
(request, rule, cycle) makes the sweep safe to run late, twice, or in two processes at once.
`now` always comes from the application, never from the database clock.
"""

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from compliance.models import AccountabilityCase, CaseSource, CaseStatus
from officials.models import Department, EnterpriseLink, LinkKind, Role, User
from portal import notifications
from portal.bulk import insert_rows
from requests_app.deadlines import Clocks, subtract_working_time, working_horizon
from requests_app.models import (
    Clock,
    Deadline,
    EscalationAction,
    EscalationFiring,
    EscalationRule,
    Recipient,
    ServiceRequest,
    Trigger,
)
from requests_app.timeline import NewEvent, append_many

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000

EVENT_ACTIONS = {
    EscalationAction.REMIND: "reminder",
    EscalationAction.ESCALATE: "escalated",
    EscalationAction.ACCOUNTABILITY: "accountability_opened",
}
NOTIFICATION_KINDS = {
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
_TRIGGER_ORDER = {Trigger.FRACTION: 0, Trigger.BREACH: 1, Trigger.AFTER_BREACH: 2}
_CLOCK_ORDER = {Clock.ASSIGN: 0, Clock.ANSWER: 1, Clock.EXTENSION: 2}


# --- which requests a clock applies to ---


def due_field(clock: str) -> str:
    return "assign_due_at" if clock == Clock.ASSIGN else "answer_due_at"


def threshold(rule: EscalationRule, now: dt.datetime, clocks: Clocks) -> dt.datetime:
    """Requests whose due time is at or before this moment are due for `rule` (pure)."""
    if rule.trigger == Trigger.BREACH:
        return now
    if rule.trigger == Trigger.AFTER_BREACH:
        return subtract_working_time(now, dt.timedelta(days=rule.days_after), clocks.calendar)
    duration = (
        clocks.policy.assign_duration
        if rule.clock == Clock.ASSIGN
        else clocks.policy.answer_duration
    )
    left = duration * (1 - float(rule.fraction))
    return working_horizon(now, left, clocks.calendar)


def _rung_order(rule: EscalationRule) -> tuple:
    step = (rule.fraction or 0) if rule.trigger == Trigger.FRACTION else (rule.days_after or 0)
    return (_CLOCK_ORDER[rule.clock], _TRIGGER_ORDER[rule.trigger], step, rule.pk)


def ordered_rules() -> list[tuple[EscalationRule, int]]:
    """Active rules in the order a request meets them, each with its rung on its clock.

    A catch-up after an outage thus fires them in order. Rungs count inactive rules too, so
    switching a rule off does not shift the others' positions under `Deadline.stage`.
    """
    rules = sorted(EscalationRule.objects.all(), key=_rung_order)
    positions: Counter = Counter()
    ladder = []
    for rule in rules:
        if rule.active:
            ladder.append((rule, positions[rule.clock]))
        positions[rule.clock] += 1
    return ladder


def pending_deadlines(rule: EscalationRule, position: int, now: dt.datetime, clocks: Clocks):
    """Running clocks past the rule's threshold that have not climbed past its rung.

    This reads the partial index (clock, stage, due_at): requests that stay overdue after
    escalating have a higher stage and are not touched, so an idle sweep costs next to nothing.
    """
    deadlines = Deadline.objects.filter(
        clock=rule.clock,
        running=True,
        stage__lte=position,
        due_at__lte=threshold(rule, now, clocks),
    )
    if rule.trigger == Trigger.FRACTION:
        deadlines = deadlines.filter(paused=False)  # no reminders while the enterprise answers
    return deadlines


def climb(rule: EscalationRule, position: int, request_ids: list[int]) -> int:
    """Mark the rung handled on these requests' deadlines, so the next sweep does not read them.

    Every pending row a sweep locks climbs, whether this sweep fired it or found the firing
    already there (another sweep, or stages reset after the ladder changed).
    """
    if connection.vendor == "postgresql":
        return _climb_many(rule, position, request_ids)
    rows = Deadline.objects.filter(clock=rule.clock, request_id__in=request_ids)
    return rows.filter(stage__lte=position).update(stage=position + 1)


def _climb_many(rule: EscalationRule, position: int, request_ids: list[int]) -> int:
    # One array parameter, not thousands of placeholders (PostgreSQL).
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Deadline._meta.db_table} SET stage = %s "
            "WHERE clock = %s AND stage <= %s AND request_id = ANY(%s::bigint[])",
            [position + 1, rule.clock, position, request_ids],
        )
        return cursor.rowcount


# --- the sweep ---


@dataclass
class SweepResult:
    now: dt.datetime
    fired: Counter = field(default_factory=Counter)
    cases: int = 0
    notifications: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"Sweep at {timezone.localtime(self.now):%Y-%m-%d %H:%M:%S %Z}: "
            f"{self.fired['reminder']} reminders, {self.fired['escalated']} escalations, "
            f"{self.fired['accountability_opened']} accountability cases opened, "
            f"{self.notifications} notifications ({self.seconds:.2f} s)."
        )


def sweep(now: dt.datetime | None = None) -> SweepResult:
    """Fire every rule that is due as of `now`, exactly once per request, rule and cycle."""
    started = time.perf_counter()
    result = SweepResult(now=now or timezone.now())
    clocks = Clocks.current()
    for rule, position in ordered_rules():
        pending = pending_deadlines(rule, position, result.now, clocks)
        after = None
        while True:
            batch = _next_batch(pending, after)
            if batch:
                fire(rule, position, [request_id for _, request_id in batch], pending, result)
            if len(batch) < BATCH_SIZE:
                break
            after = batch[-1]
    result.seconds = time.perf_counter() - started
    return result


def _next_batch(pending, after: tuple | None) -> list[tuple]:
    """The next (due_at, request_id) of pending deadlines, in index order, after `after`.

    Keyset pagination: a request skipped because a user holds its lock is passed over rather
    than read again and again in this sweep; the next sweep picks it up.
    """
    if after is not None:
        due_at, request_id = after
        pending = pending.filter(Q(due_at__gt=due_at) | Q(due_at=due_at, request_id__gt=request_id))
    return list(
        pending.order_by("due_at", "request_id").values_list("due_at", "request_id")[:BATCH_SIZE]
    )


_ROW_FIELDS = (
    "pk",
    "status",
    "reopen_count",
    "assign_due_at",
    "answer_due_at",
    "reference",
    "title",
    "department_id",
    "handler_id",
    "liaison_id",
    "enterprise_id",
)


def fire(
    rule: EscalationRule, position: int, request_ids: list[int], pending, result: SweepResult
) -> None:
    """Fire `rule` for these requests in one transaction, where it is still due and unfired."""
    with transaction.atomic():
        # SKIP LOCKED: a request a user is changing right now is left for the next sweep rather
        # than waited for; the lock also keeps the timeline's sequence ours while we append.
        locked = list(
            ServiceRequest.objects.filter(pk__any_of=request_ids)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values(*_ROW_FIELDS)
        )
        # Read again under the lock: a transition committed since the batch was chosen may
        # have stopped the clock (the workflow updates the deadline with the request).
        still_due = set(
            pending.filter(request_id__any_of=[row["pk"] for row in locked]).values_list(
                "request_id", flat=True
            )
        )
        rows = [row for row in locked if row["pk"] in still_due]
        if not rows:
            return
        due = due_field(rule.clock)
        inserted = _insert_firings(rule, rows, due, result.now)
        climb(rule, position, request_ids=[row["pk"] for row in rows])
        # Only what this sweep inserted is announced: a firing another sweep made is theirs.
        rows = [row for row in rows if row["pk"] in inserted]
        if rows:
            append_many(_append_events(rule, rows, due), result.now)
            context = _Context.load(rows)
            if rule.action == EscalationAction.ACCOUNTABILITY:
                result.cases += _open_cases(rule, rows, due, result.now, context)
            result.notifications += _notify(rule, rows, due, result.now, context)
            result.fired[EVENT_ACTIONS[rule.action]] += len(rows)


def _insert_firings(rule, rows, due, now) -> set[int]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the rows this sweep, and no other, now owns."""
    table = EscalationFiring._meta.db_table
    cycles = [0 if rule.clock == Clock.ASSIGN else row["reopen_count"] for row in rows]
    head = f"INSERT INTO {table} (request_id, rule_id, cycle, due_at, fired_at) "
    tail = " ON CONFLICT (request_id, rule_id, cycle) DO NOTHING RETURNING request_id"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Three array parameters instead of thousands of placeholders: binding a huge
            # VALUES list costs more than the insert itself.
            cursor.execute(
                head + "SELECT r, %s, c, d, %s FROM unnest(%s::bigint[], %s::integer[], "
                "%s::timestamptz[]) AS v(r, c, d)" + tail,
                [rule.pk, now, [row["pk"] for row in rows], cycles, [row[due] for row in rows]],
            )
            return {request_id for (request_id,) in cursor.fetchall()}
        adapt = connection.ops.adapt_datetimefield_value  # raw SQL: store datetimes as the ORM
        inserted: set[int] = set()
        for start in range(0, len(rows), 500):
            chunk = list(zip(rows[start : start + 500], cycles[start : start + 500], strict=True))
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            params = [
                item
                for row, cycle in chunk
                for item in (row["pk"], rule.pk, cycle, adapt(row[due]), adapt(now))
            ]
            cursor.execute(head + f"VALUES {values}" + tail, params)
            inserted.update(request_id for (request_id,) in cursor.fetchall())
        return inserted


def _append_events(rule, rows, due) -> list[NewEvent]:
    """One hash-chained event per request, continuing each request's chain (rows are locked)."""
    action = EVENT_ACTIONS[rule.action]
    return [
        NewEvent(
            request_id=row["pk"],
            action=action,
            status=row["status"],
            note=rule.name,
            data={
                "rule": rule.pk,
                "clock": rule.clock,
                "due_at": row[due].isoformat(),
                "cycle": 0 if rule.clock == Clock.ASSIGN else row["reopen_count"],
            },
        )
        for row in rows
    ]


@dataclass
class _Context:
    """Everything a batch's messages and cases need, loaded in a fixed number of queries."""

    departments: dict[int, Department]
    enterprises: dict[int, tuple[str, str]]  # id -> (name, region)
    users: dict[int, User]
    handlers_by_department: dict[int, list[User]]
    leaders_by_enterprise: dict[int, list[User]]
    inspectors: list[tuple[User, set[str] | None]]

    @classmethod
    def load(cls, rows) -> "_Context":
        from officials.models import Enterprise
        from officials.selectors import jurisdiction_regions

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
        handlers = defaultdict(list)
        for user in User.objects.filter(
            role=Role.HANDLER, is_active=True, department_id__in=department_ids
        ):
            handlers[user.department_id].append(user)
        leaders = defaultdict(list)
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
        inspectors = []
        for user in User.objects.filter(role=Role.INSPECTOR, is_active=True).select_related(
            "department"
        ):
            regions = jurisdiction_regions(user)
            inspectors.append((user, None if regions is None else {r["region"] for r in regions}))
        return cls(departments, enterprises, users, handlers, leaders, inspectors)

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
            region = self.enterprises[row["enterprise_id"]][1]
            return [
                user for user, regions in self.inspectors if regions is None or region in regions
            ]
        return []


def _open_cases(rule, rows, due, now, context: _Context) -> int:
    """One case per breach: the request, its department and handler, the breach time."""
    columns = (
        "source",
        "status",
        "request_id",
        "department_id",
        "official_id",
        "region",
        "cause",
        "rule",
        "breach_at",
        "opened_at",
    )
    cases = [
        (
            CaseSource.BREACH.value,
            CaseStatus.OPEN.value,
            row["pk"],
            row["department_id"],
            # The handler answers for a breach; before assignment, the liaison who held it.
            row["handler_id"] or (None if row["department_id"] else row["liaison_id"]),
            context.enterprises[row["enterprise_id"]][1],
            f"{row['reference']}: {rule.name}"[:300],
            rule.name[:100],
            row[due],
            now,
        )
        for row in rows
    ]
    insert_rows(AccountabilityCase, columns, cases)
    return len(cases)


def _notify(rule, rows, due, now, context: _Context) -> int:
    kind = NOTIFICATION_KINDS[rule.action]
    clock = CLOCK_DEADLINES[rule.clock]  # lazy: each recipient reads it in their own language
    # reverse() once: building a link per row is a noticeable share of a 100,000-row sweep.
    link = reverse("requests:detail", args=[0]).replace("/0/", "/{}/")
    items = []
    for row in rows:
        department = context.departments.get(row["department_id"])
        message_context = {
            "reference": row["reference"],
            "title": row["title"],
            "enterprise": context.enterprises[row["enterprise_id"]][0],
            # Never assigned: the case concerns the liaison who did not hand it on.
            "department": department.name if department else NOT_ASSIGNED,
            "clock": clock,
            "due": timezone.localtime(row[due]).strftime("%Y-%m-%d %H:%M"),
        }
        recipients = [user for code in rule.recipients for user in context.recipients(code, row)]
        items.append((recipients, message_context, link.format(row["pk"])))
    return notifications.save_rows(notifications.rows_for_many(kind, items, now=now))
