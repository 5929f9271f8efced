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
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    DateTimeField,
    Expression,
    F,
    IntegerField,
    Value,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils import timezone

from core.bulk import int_array
from requests_app import firing
from requests_app.deadlines import Clocks, subtract_working_time, working_horizon
from requests_app.firing import due_field
from requests_app.models import (
    Clock,
    Deadline,
    EscalationAction,
    EscalationFiring,
    EscalationRule,
    ServiceRequest,
    TimelineHead,
    Trigger,
)
from requests_app.sweep_record import record_sweep
from requests_app.timeline import append_in_database, append_many

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
# Batches in flight at once in a large sweep on PostgreSQL: one per core of the target machine.
SIDE_BY_SIDE = 2

_TRIGGER_ORDER = {Trigger.FRACTION: 0, Trigger.BREACH: 1, Trigger.AFTER_BREACH: 2}
_CLOCK_ORDER = {Clock.ASSIGN: 0, Clock.ANSWER: 1, Clock.EXTENSION: 2}


# --- which requests a clock applies to ---


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
    The stages are listed (`stage IN (0, 1)` rather than `stage <= 1`) so that the due time
    bounds the scan of each stage; with a range on the stage, PostgreSQL reads every running
    clock of the lower stages, due or not (200,000 index entries in the benchmark).
    """
    deadlines = Deadline.objects.filter(
        clock=rule.clock,
        running=True,
        stage__in=range(position + 1),
        due_at__lte=threshold(rule, now, clocks),
    )
    if rule.trigger == Trigger.FRACTION:
        deadlines = deadlines.filter(paused=False)  # no reminders while the enterprise answers
    return deadlines


def climb(rule: EscalationRule, position: int, request_ids: list[int]) -> int:
    """Mark the rung handled on these requests' deadlines, so the next sweep does not read them.

    Every pending row a sweep locks climbs, whether this sweep fired it or found the firing
    already there (another sweep, or stages reset after the ladder changed). PostgreSQL does
    the same inside `_fire_in_one_statement`.
    """
    rows = Deadline.objects.filter(clock=rule.clock, request_id__in=request_ids)
    return rows.filter(stage__lte=position).update(stage=position + 1)


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

    def add(self, other: "SweepResult") -> None:
        self.fired += other.fired
        self.cases += other.cases
        self.notifications += other.notifications


def sweep(now: dt.datetime | None = None) -> SweepResult:
    """Fire every rule that is due as of `now`, exactly once per request, rule and cycle."""
    started = time.perf_counter()
    result = SweepResult(now=now or timezone.now())
    clocks = Clocks.current()
    for rule, position in ordered_rules():
        pending = pending_deadlines(rule, position, result.now, clocks)
        batches = batch_bounds(pending)
        if len(batches) > 1 and _may_run_batches_side_by_side():
            _fire_side_by_side(rule, position, batches, pending, result)
            continue
        for bounds in batches:
            fire(rule, position, batch_of(pending, bounds), pending, result)
    result.seconds = time.perf_counter() - started
    record_sweep()  # for /health/: the age of the last sweep
    return result


def _may_run_batches_side_by_side() -> bool:
    # Each batch then commits on its own connection: not inside a caller's transaction, whose
    # rows the other connections could not see, and not on SQLite, which has one writer.
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _fire_side_by_side(rule, position, batches: list["Bounds"], pending, result) -> None:
    """A large sweep: `SIDE_BY_SIDE` batches at a time, each in a thread with its own connection.

    Each batch is mostly the database's work (its statements, the constraint checks at commit);
    two at once keep both cores of the machine busy. The
    batches are disjoint ranges of the index order, and each is the same transaction `fire`
    always runs: the same as two sweeps at once, which the firing key and SKIP LOCKED make safe.
    """
    with ThreadPoolExecutor(max_workers=SIDE_BY_SIDE, thread_name_prefix="sweep") as pool:
        running = [
            pool.submit(_fire_on_own_connection, rule, position, bounds, pending, result.now)
            for bounds in batches
        ]
        for task in running:
            result.add(task.result())


def _fire_on_own_connection(rule, position, bounds, pending, now) -> SweepResult:
    part = SweepResult(now=now)
    try:
        fire(rule, position, batch_of(pending, bounds), pending, part)
        return part
    finally:
        connection.close()  # this thread's own connection


# A place in the order of the partial index (clock, stage, due_at): (stage, due_at, request_id).
Position = tuple[int, dt.datetime, int]
# A batch: from its first position up to the next batch's first (None: to the end).
Bounds = tuple[Position, Position | None]

_KEYSET = ("stage", "due_at", "request_id")


def batch_bounds(pending) -> list[Bounds]:
    """Cut the pending deadlines into batches of `BATCH_SIZE`, in one query.

    The query numbers the pending rows in index order and returns the first of every batch:
    a few rows, however many are due (none when nothing is). Each batch then reads its own
    range of the index. Asking for the next `BATCH_SIZE` rows after the previous batch's last
    one instead cost a query per batch, each turning 5,000 due times into Python datetimes,
    and had to wait for the previous batch's query before the next could start.

    The batches together cover the pending set as it was read; while the sweep runs that set
    can only shrink (a clock started meanwhile has all its time left, so it is not due), and
    anything that did slip in outside the ranges would wait for the next sweep, as do the
    deadlines passed over because someone held their request's lock.
    """
    starts = list(batch_starts(pending))
    return list(zip(starts, [*starts[1:], None], strict=False))


def batch_starts(pending):
    """The first position of every batch: the pending rows numbered in index order."""
    numbered = pending.annotate(
        number=Window(RowNumber(), order_by=[F(name).asc() for name in _KEYSET])
    )
    return (
        numbered.annotate(place=(F("number") - 1) % BATCH_SIZE)
        .filter(place=0)
        .order_by(*_KEYSET)
        .values_list(*_KEYSET)
    )


def batch_of(pending, bounds: Bounds):
    """The pending deadlines of one batch: its range of the index order."""
    start, end = bounds
    batch = pending.filter(RowCompare(">=", start))
    if end is not None:
        batch = batch.filter(RowCompare("<", end))
    return batch


class RowCompare(Expression):
    """`(stage, due_at, request_id) <operator> (...)`: a row comparison, which PostgreSQL turns
    into a bound of the index scan (the ORM would spell it as ORs, which it can only filter
    by). SQLite understands it too. The columns resolve like any field reference, so the
    batch also works as a subquery (the lock's)."""

    output_field = BooleanField()

    def __init__(self, operator: str, position: Position):
        if operator not in {">=", "<"}:
            raise ValueError(operator)
        super().__init__()
        self.operator = operator
        stage, due_at, request_id = position
        self.columns = [F(name) for name in _KEYSET]
        self.values = [
            Value(stage, output_field=IntegerField()),
            Value(due_at, output_field=DateTimeField()),
            Value(request_id, output_field=BigIntegerField()),
        ]

    def get_source_expressions(self):
        return [*self.columns, *self.values]

    def set_source_expressions(self, expressions):
        self.columns, self.values = expressions[:3], expressions[3:]

    def as_sql(self, compiler, connection):
        columns, values, params = [], [], []
        for target, expressions in ((columns, self.columns), (values, self.values)):
            for expression in expressions:
                sql, expression_params = compiler.compile(expression)
                target.append(sql)
                params.extend(expression_params)
        return f"({', '.join(columns)}) {self.operator} ({', '.join(values)})", params


def fire(rule: EscalationRule, position: int, batch, pending, result: SweepResult) -> None:
    """Fire `rule` in one transaction for the requests of `batch` (pending deadlines), where it
    is still due and unfired."""
    with transaction.atomic():
        # SKIP LOCKED: a request a user is changing right now is left for the next sweep rather
        # than waited for; the lock also keeps the timeline's sequence ours while we append.
        locked = _lock(batch)
        if not locked:
            return
        # Read again under the lock, in a statement of its own so that it sees what committed
        # before we took it: a transition since the batch was chosen may have stopped the clock.
        # Only what this sweep inserted is announced: a firing another sweep made is theirs.
        if connection.vendor == "postgresql":
            _no_jit()
            rows = _fire_in_one_statement(rule, position, locked, pending, result.now)
        else:
            rows = _fire_step_by_step(rule, position, locked, pending, result.now)
            append_many(
                firing.events(rule, rows),
                result.now,
                heads={row["pk"]: row["head"] for row in rows if row["head"]},
            )
        if rows:
            context = firing.Context.load(rows, rule.recipients)
            if rule.action == EscalationAction.ACCOUNTABILITY:
                result.cases += firing.open_cases(rule, rows, result.now, context)
            result.notifications += firing.notify(rule, rows, result.now, context)
            result.fired[firing.EVENT_ACTIONS[rule.action]] += len(rows)


def _no_jit() -> None:
    # The batch statements are estimated as costly enough for PostgreSQL to compile them
    # (JIT), which takes longer (30 ms and more) than running them; for this transaction only.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")


def _lock(batch) -> list[int]:
    """Lock the batch's requests, in id order, passing over those someone else holds."""
    if connection.vendor != "postgresql":
        return list(
            ServiceRequest.objects.filter(pk__in=batch.values("request_id"))
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    # The same in SQL, with the ids as one array (`= ANY(ARRAY(...))`): the requests are then
    # found by their index, where `IN (subquery)` let the planner read the whole table.
    batch_sql, params = batch.values("request_id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {ServiceRequest._meta.db_table} WHERE id = ANY(ARRAY({batch_sql})) "
            "ORDER BY id FOR UPDATE SKIP LOCKED",
            params,
        )
        return [pk for (pk,) in cursor.fetchall()]


# What the events, cases and messages need of each request that fired, besides its clock.
_ROW_FIELDS = (
    "status",
    "reference",
    "title",
    "department_id",
    "handler_id",
    "liaison_id",
    "enterprise_id",
)
# What the cases and messages need when the database writes the events and the messages' words.
_FIRED_FIELDS = ("reference", "department_id", "handler_id", "liaison_id", "enterprise_id")


def _fire_in_one_statement(rule, position, locked, pending, now) -> list[dict]:
    """PostgreSQL: re-read, climb, insert the firings, append their events and read what
    fired, in one statement.

    The rows never travel to Python and back (binding 5,000 datetimes or strings per batch
    costs more than the statements); the events are hashed by the database
    (`timeline.append_in_database`); only what the cases and messages need of the requests
    this sweep fired comes back. Due times come back as text: psycopg's timestamptz loader
    under Django is pure Python.

    The shape keeps each step to index lookups of the batch's own rows, whatever the
    planner estimates: the due deadlines are re-read request by request (LATERAL, with OFFSET 0
    so that it is not flattened into a scan of every pending deadline), and climbed by their
    ids as one array (`= ANY(ARRAY(...))`, an index scan, where a join to the CTE let the
    planner read the whole table).
    """
    with connection.cursor() as cursor:
        cursor.execute(*fire_statement(rule, position, locked, pending, now))
        return [
            {"pk": pk, "due": _utc(due_text), **dict(zip(_FIRED_FIELDS, values, strict=True))}
            for pk, due_text, *values in cursor.fetchall()
        ]


def fire_statement(rule, position, locked, pending, now) -> tuple[str, list]:
    """The SQL and parameters of `_fire_in_one_statement` (the benchmark prints its plan)."""
    pending_sql, pending_params = pending.values("id", "request_id").query.sql_with_params()
    request = ServiceRequest._meta.db_table
    due = due_field(rule.clock)
    cycle = "0" if rule.clock == Clock.ASSIGN else "r.reopen_count"
    data_sql, data_params = firing.event_data_in_database(rule)
    append_sql, append_params = append_in_database(
        "fired_events", action=firing.EVENT_ACTIONS[rule.action], note=rule.name, now=now
    )
    fields = ", ".join(f"r.{name}" for name in _FIRED_FIELDS)
    # The requests' rows are read once, in `due`; the later steps join that in memory.
    sql = f"""
            WITH due AS (
                SELECT p.id AS deadline_id, r.id AS request_id, r.status,
                       {cycle} AS cycle, r.{due} AS due_at, {fields}
                FROM unnest(%s::bigint[]) AS locked(id),
                LATERAL (
                    SELECT * FROM ({pending_sql}) AS q WHERE q.request_id = locked.id OFFSET 0
                ) AS p
                JOIN {request} AS r ON r.id = p.request_id
            ),
            climbed AS (
                UPDATE {Deadline._meta.db_table} SET stage = %s
                WHERE id = ANY(ARRAY(SELECT deadline_id FROM due)) AND stage <= %s
            ),
            fired AS (
                INSERT INTO {EscalationFiring._meta.db_table}
                    (request_id, rule_id, cycle, due_at, fired_at)
                SELECT request_id, %s, cycle, due_at, %s FROM due
                ON CONFLICT (request_id, rule_id, cycle) DO NOTHING
                RETURNING request_id
            ),
            fired_due AS (
                SELECT due.* FROM fired JOIN due ON due.request_id = fired.request_id
            ),
            fired_events AS (
                SELECT request_id, status, {data_sql} AS data FROM fired_due
            )
            {append_sql}
            SELECT request_id, due_at::text, {", ".join(_FIRED_FIELDS)}
            FROM fired_due
            ORDER BY request_id
            """
    params = [
        int_array(locked),
        *pending_params,
        position + 1,
        position,
        rule.pk,
        now,
        *data_params,
        *append_params,
    ]
    return sql, params


def _utc(text: str | None) -> dt.datetime | None:
    # fromisoformat is C, and reads PostgreSQL's text form ("2026-10-08 01:00:00.5+00").
    return None if text is None else dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _fire_step_by_step(rule, position, locked, pending, now) -> list[dict]:
    """Other databases: the same steps as separate statements."""
    due = due_field(rule.clock)
    rows = list(
        ServiceRequest.objects.filter(
            pk__in=pending.filter(request_id__in=locked).values("request_id")
        )
        .order_by("pk")
        .values("pk", "reopen_count", due, *_ROW_FIELDS)
    )
    if not rows:
        return []
    for row in rows:
        row["cycle"] = 0 if rule.clock == Clock.ASSIGN else row.pop("reopen_count")
        row["due"] = row.pop(due)
    inserted = _insert_firings(rule, rows, now)
    climb(rule, position, request_ids=[row["pk"] for row in rows])
    rows = [row for row in rows if row["pk"] in inserted]
    heads = dict(
        (pk, (seq, hash_))
        for pk, seq, hash_ in TimelineHead.objects.filter(
            request_id__in=[row["pk"] for row in rows]
        ).values_list("request_id", "seq", "hash")
    )
    for row in rows:
        row["head"] = heads.get(row["pk"])
    return rows


def _insert_firings(rule, rows, now) -> set[int]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: the rows this sweep, and no other, now owns."""
    table = EscalationFiring._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value  # raw SQL: store datetimes as the ORM
    inserted: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            params = [
                item
                for row in chunk
                for item in (row["pk"], rule.pk, row["cycle"], adapt(row["due"]), adapt(now))
            ]
            cursor.execute(
                f"INSERT INTO {table} (request_id, rule_id, cycle, due_at, fired_at) "
                f"VALUES {values} "
                "ON CONFLICT (request_id, rule_id, cycle) DO NOTHING RETURNING request_id",
                params,
            )
            inserted.update(request_id for (request_id,) in cursor.fetchall())
    return inserted
