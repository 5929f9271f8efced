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
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from compliance.models import AccountabilityCase, CaseSource, CaseStatus
from officials.models import Department, EnterpriseLink, LinkKind, Role, User
from portal import notifications
from portal.bulk import insert_rows
from requests_app.deadlines import Clocks, subtract_working_time, working_horizon
from requests_app.models import (
    ANSWER_CLOCK_STATUSES,
    Clock,
    EscalationAction,
    EscalationFiring,
    EscalationRule,
    ExtensionState,
    Recipient,
    ServiceRequest,
    Status,
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


def clock_running(clock: str, trigger: str = Trigger.FRACTION) -> Q:
    """Requests whose `clock` is running now (a paused answer clock is not running).

    For the breach rules a paused clock still counts if it had already run out when it was
    paused: a sweep that was down at the breach must not lose it to a later pause.
    """
    if clock == Clock.ASSIGN:
        return Q(status=Status.SUBMITTED)
    answer = Q(status__in=ANSWER_CLOCK_STATUSES)
    if trigger != Trigger.FRACTION:
        answer |= Q(status=Status.INFO_NEEDED, answer_due_at__lt=F("answer_paused_at"))
    if clock == Clock.EXTENSION:
        return answer & Q(extension_state=ExtensionState.APPROVED)
    return answer & ~Q(extension_state=ExtensionState.APPROVED)


def due_field(clock: str) -> str:
    return "assign_due_at" if clock == Clock.ASSIGN else "answer_due_at"


def cycle_of(clock: str):
    return 0 if clock == Clock.ASSIGN else F("reopen_count")


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


def ordered_rules() -> list[EscalationRule]:
    """Active rules in the order a request meets them, so a catch-up fires them in order."""
    rules = list(EscalationRule.objects.filter(active=True))
    return sorted(
        rules,
        key=lambda r: (
            _CLOCK_ORDER[r.clock],
            _TRIGGER_ORDER[r.trigger],
            -(r.fraction or 0) if r.trigger == Trigger.FRACTION else (r.days_after or 0),
            r.pk,
        ),
    )


def due_requests(rule: EscalationRule, now: dt.datetime, clocks: Clocks):
    """The set-based query: open requests past the rule's threshold, not yet fired this cycle."""
    fired = EscalationFiring.objects.filter(
        request=OuterRef("pk"),
        rule=rule,
        cycle=0 if rule.clock == Clock.ASSIGN else OuterRef("reopen_count"),
    )
    return (
        ServiceRequest.objects.filter(clock_running(rule.clock, rule.trigger))
        .filter(**{f"{due_field(rule.clock)}__lte": threshold(rule, now, clocks)})
        .filter(~Exists(fired))
    )


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
    for rule in ordered_rules():
        candidates = due_requests(rule, result.now, clocks)
        while True:
            fired = _fire_batch(rule, candidates, result)
            if fired < BATCH_SIZE:
                break
    result.seconds = time.perf_counter() - started
    return result


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


def _fire_batch(rule: EscalationRule, candidates, result: SweepResult) -> int:
    """Fire `rule` for up to BATCH_SIZE due requests in one transaction; return how many."""
    with transaction.atomic():
        # SKIP LOCKED: a request a user is changing right now is left for the next sweep rather
        # than waited for; the lock also keeps the timeline's sequence ours while we append.
        rows = list(
            candidates.select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values(*_ROW_FIELDS)[:BATCH_SIZE]
        )
        if not rows:
            return 0
        selected = rows
        due = due_field(rule.clock)
        inserted = _insert_firings(rule, rows, due, result.now)
        rows = [row for row in rows if row["pk"] in inserted]
        if rows:
            append_many(_append_events(rule, rows, due), result.now)
            context = _Context.load(rows)
            if rule.action == EscalationAction.ACCOUNTABILITY:
                result.cases += _open_cases(rule, rows, due, result.now, context)
            result.notifications += _notify(rule, rows, due, result.now, context)
            result.fired[EVENT_ACTIONS[rule.action]] += len(rows)
        # The caller loops while batches come back full; rows fired by a concurrent sweep are
        # no longer returned by the next query, so the loop ends.
        return len(selected)


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
    rows_out = notifications.build_many(kind, items, now=now)
    notifications.save_and_send(rows_out)
    return len(rows_out)
