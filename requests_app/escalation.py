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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django.utils import timezone

from portal.bulk import int_array
from portal.health import record_sweep
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
from requests_app.timeline import append_many

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
        batch = next_batch(pending, after=None)
        if len(batch) == BATCH_SIZE and _may_run_batches_side_by_side():
            _fire_side_by_side(rule, position, batch, pending, result)
            continue
        while batch:
            fire(rule, position, request_ids(batch), pending, result)
            if len(batch) < BATCH_SIZE:
                break
            batch = next_batch(pending, after=batch[-1])
    result.seconds = time.perf_counter() - started
    record_sweep()  # for /health/: the age of the last sweep
    return result


def _may_run_batches_side_by_side() -> bool:
    # Each batch then commits on its own connection: not inside a caller's transaction, whose
    # rows the other connections could not see, and not on SQLite, which has one writer.
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _fire_side_by_side(rule, position, first: list[int], pending, result: SweepResult) -> None:
    """A large sweep: `SIDE_BY_SIDE` batches at a time, each in a thread with its own connection.

    While one batch's Python work (hashing, recipients) runs, the database works on the other
    (statements, constraint checks at commit), so both cores of the machine are used. The
    batches are disjoint (the next batch leaves out those in flight) and each is the same
    transaction `fire` always runs, the same as two sweeps at once, which the firing key and
    SKIP LOCKED make safe.
    """
    running: set[Future] = set()
    batch, more = first, True
    with ThreadPoolExecutor(max_workers=SIDE_BY_SIDE, thread_name_prefix="sweep") as pool:
        while batch or running:
            after = None
            if batch:
                running.add(
                    pool.submit(
                        _fire_on_own_connection,
                        rule,
                        position,
                        request_ids(batch),
                        pending,
                        result.now,
                    )
                )
                after = batch[-1]
            if len(running) == SIDE_BY_SIDE or not more:
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for task in done:
                    part, _ = task.result()
                    result.add(part)
            batch = []
            if more and after is not None:
                # The batches in flight lie before `after`: the next one cannot overlap them.
                batch = next_batch(pending, after=after)
                more = len(batch) == BATCH_SIZE


def _fire_on_own_connection(rule, position, batch, pending, now) -> tuple[SweepResult, list[int]]:
    part = SweepResult(now=now)
    try:
        return part, fire(rule, position, batch, pending, part)
    finally:
        connection.close()  # this thread's own connection


# Where a batch ended in the index order: (stage, due_at, request_id) of its last deadline.
Position = tuple[int, dt.datetime, int]


def next_batch(pending, *, after: Position | None) -> list[Position]:
    """The next pending deadlines in the order of the partial index (clock, stage, due_at),
    starting after the position where the previous batch ended (keyset pagination).

    The order starts with `stage` so that the index returns the rows already sorted and the
    LIMIT stops the scan early. Starting after the last position, rather than at the top of
    the range, matters on PostgreSQL: every deadline a batch handled climbed to a higher stage,
    but its old index entry stays until vacuum, and a scan from the top would step over all of
    them again, batch after batch. Deadlines passed over because someone held their request's
    lock lie behind the position too, so they wait for the next sweep rather than being read
    again and again in this one.
    """
    return list(batch_query(pending, after=after))


def batch_query(pending, *, after: Position | None):
    if after is not None:
        pending = pending.filter(_after(after))
    return pending.order_by(*_KEYSET).values_list(*_KEYSET)[:BATCH_SIZE]


def _after(position: Position) -> RawSQL:
    # A row comparison, which PostgreSQL turns into the starting point of the index scan; the
    # ORM would spell it as ORs, which it can only filter by. SQLite understands it too.
    stage, due_at, request_id = position
    table = connection.ops.quote_name(Deadline._meta.db_table)
    columns = ", ".join(f"{table}.{connection.ops.quote_name(name)}" for name in _KEYSET)
    due_at = Deadline._meta.get_field("due_at").get_db_prep_value(due_at, connection)
    # Names come from the model's metadata, values go as parameters.
    return RawSQL(  # noqa: S611
        f"({columns}) > (%s, %s, %s)", (stage, due_at, request_id), output_field=BooleanField()
    )


_KEYSET = ("stage", "due_at", "request_id")


def request_ids(batch: list[Position]) -> list[int]:
    return [request_id for _, _, request_id in batch]


def fire(
    rule: EscalationRule, position: int, request_ids: list[int], pending, result: SweepResult
) -> list[int]:
    """Fire `rule` for these requests in one transaction, where it is still due and unfired.

    Returns the requests passed over because someone else holds their lock.
    """
    with transaction.atomic():
        # SKIP LOCKED: a request a user is changing right now is left for the next sweep rather
        # than waited for; the lock also keeps the timeline's sequence ours while we append.
        locked = _lock(request_ids)
        passed = sorted(set(request_ids).difference(locked))
        if not locked:
            return passed
        # Read again under the lock, in a statement of its own so that it sees what committed
        # before we took it: a transition since the batch was chosen may have stopped the clock.
        if connection.vendor == "postgresql":
            rows = _fire_in_one_statement(rule, position, locked, pending, result.now)
        else:
            rows = _fire_step_by_step(rule, position, locked, pending, result.now)
        # Only what this sweep inserted is announced: a firing another sweep made is theirs.
        if rows:
            append_many(
                firing.events(rule, rows),
                result.now,
                heads={row["pk"]: row["head"] for row in rows if row["head"]},
            )
            context = firing.Context.load(rows, rule.recipients)
            if rule.action == EscalationAction.ACCOUNTABILITY:
                result.cases += firing.open_cases(rule, rows, result.now, context)
            result.notifications += firing.notify(rule, rows, result.now, context)
            result.fired[firing.EVENT_ACTIONS[rule.action]] += len(rows)
    return passed


def _lock(request_ids: list[int]) -> list[int]:
    if connection.vendor != "postgresql":
        return list(
            ServiceRequest.objects.filter(pk__in=request_ids)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    # The same in SQL, with the ids bound as one array literal (see portal.bulk.int_array):
    # the ORM prepares a list parameter value by value.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {ServiceRequest._meta.db_table} WHERE id = ANY(%s::bigint[]) "
            "ORDER BY id FOR UPDATE SKIP LOCKED",
            [int_array(request_ids)],
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


def _fire_in_one_statement(rule, position, locked, pending, now) -> list[dict]:
    """PostgreSQL: re-read, climb, insert the firings and read what fired, in one statement.

    The rows never travel to Python and back (binding 5,000 datetimes or strings per batch
    costs more than the statements); only the requests this sweep fired come back. Due times
    come back as text: psycopg's timestamptz loader under Django is pure Python.
    """
    pending_sql, pending_params = pending.values("request_id").query.sql_with_params()
    request = ServiceRequest._meta.db_table
    due = due_field(rule.clock)
    cycle = "0" if rule.clock == Clock.ASSIGN else "r.reopen_count"
    fields = ", ".join(f"r.{name}" for name in _ROW_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH due AS (
                SELECT p.request_id FROM ({pending_sql}) AS p
                WHERE p.request_id = ANY(%s::bigint[])
            ),
            climbed AS (
                UPDATE {Deadline._meta.db_table} AS d SET stage = %s FROM due
                WHERE d.request_id = due.request_id AND d.clock = %s AND d.stage <= %s
            ),
            fired AS (
                INSERT INTO {EscalationFiring._meta.db_table}
                    (request_id, rule_id, cycle, due_at, fired_at)
                SELECT r.id, %s, {cycle}, r.{due}, %s
                FROM due JOIN {request} AS r ON r.id = due.request_id
                ON CONFLICT (request_id, rule_id, cycle) DO NOTHING
                RETURNING request_id, cycle
            )
            SELECT r.id, f.cycle, r.{due}::text, h.seq, h.hash, {fields}
            FROM fired AS f
            JOIN {request} AS r ON r.id = f.request_id
            LEFT JOIN {TimelineHead._meta.db_table} AS h ON h.request_id = f.request_id
            ORDER BY r.id
            """,
            [*pending_params, int_array(locked), position + 1, rule.clock, position, rule.pk, now],
        )
        return [
            {
                "pk": pk,
                "cycle": cycle,
                "due": _utc(due_text),
                "head": None if seq is None else (seq, hash_),
                **dict(zip(_ROW_FIELDS, values, strict=True)),
            }
            for pk, cycle, due_text, seq, hash_, *values in cursor.fetchall()
        ]


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
