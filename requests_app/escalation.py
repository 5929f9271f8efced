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

No escalation or accountability case fires on a clock that a year without a settled calendar
decides: each rung's selection leaves such clocks out (a tighter threshold, and ranges of due
times that wait), and they fire once that year is settled (`requests_app.sweep.waiting`).
"""

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue

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

from requests_app import firing
from requests_app.deadlines import Clocks
from requests_app.firing import cycle_field, due_field
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
from requests_app.sweep import postgres
from requests_app.sweep.waiting import DECIDING, Held, Waits
from requests_app.sweep_record import record_sweep
from requests_app.timeline import append_many
from requests_app.working_time import subtract_working_time, working_horizon

logger = logging.getLogger(__name__)

BATCH_SIZE = 5000
# A share of the requests, by id: (parts, part) is every request whose id % parts == part. A
# sweep across several Celery workers gives each worker one part (`sweep_in_parts`); each part
# climbs the whole ladder, rung by rung, for its own requests, so a request's rungs still fire
# in order and no part waits for another.
Partition = tuple[int, int]
WHOLE: Partition = (1, 0)
# Batches in flight at once in a large sweep on PostgreSQL: one per core of the target machine.
SIDE_BY_SIDE = 2
# A sweep that fired at least this many vacuums the deadline table before it returns
# (`postgres.tidy_deadlines`): each climb left a dead row, and an index entry for it.
TIDY_AFTER = 50_000

_TRIGGER_ORDER: dict[str, int] = {Trigger.FRACTION: 0, Trigger.BREACH: 1, Trigger.AFTER_BREACH: 2}
_CLOCK_ORDER: dict[str, int] = {Clock.ASSIGN: 0, Clock.ANSWER: 1, Clock.EXTENSION: 2}


# --- which requests a clock applies to ---


def threshold(rule: EscalationRule, now: dt.datetime, clocks: Clocks) -> dt.datetime:
    """Requests whose due time is at or before this moment are due for `rule` (pure)."""
    if rule.trigger == Trigger.BREACH:
        return now
    if rule.trigger == Trigger.AFTER_BREACH:
        assert rule.days_after is not None  # the rule's clean() requires it for this trigger
        return subtract_working_time(now, dt.timedelta(days=rule.days_after), clocks.calendar)
    duration = (
        clocks.policy.assign_duration
        if rule.clock == Clock.ASSIGN
        else clocks.policy.answer_duration
    )
    assert rule.fraction is not None  # the rule's clean() requires it for this trigger
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


@dataclass(frozen=True)
class Rung:
    """A rule at its place on its clock's ladder, as one sweep judges it: the running clocks due
    by `due_by` (None: none yet), except those with a due time in `held` (waiting for a year's
    calendar, `requests_app.sweep.waiting`)."""

    rule: EscalationRule
    position: int
    due_by: dt.datetime | None
    held: Held = ()


def judged_ladder(ladder, now: dt.datetime, clocks: Clocks, waits: Waits | None = None):
    """Each rung of `ladder` (`ordered_rules()`) as of `now`: its threshold, tightened where an
    unsettled year would decide an escalation or accountability case at or below it."""
    waits = Waits.as_of(now, clocks) if waits is None else waits
    deciding: defaultdict[str, list[EscalationRule]] = defaultdict(list)
    rungs = []
    for rule, position in ladder:  # in the order of each clock's rungs
        due_by: dt.datetime | None = threshold(rule, now, clocks)
        if rule.action in DECIDING:
            deciding[rule.clock].append(rule)
        held: Held = ()
        if waits.any and deciding[rule.clock]:
            # This rung, or one below it on the clock, must not be decided by an unsettled
            # year; a rung above one that waits waits with it (it would climb past it).
            held = waits.held(rule.clock)
            for decider in deciding[rule.clock]:
                safe = settled_threshold(decider, now, waits)
                due_by = None if safe is None or due_by is None else min(due_by, safe)
        rungs.append(Rung(rule, position, due_by, held))
    return rungs


def settled_threshold(rule: EscalationRule, now: dt.datetime, waits: Waits) -> dt.datetime | None:
    """The rule's threshold on whatever schedule the unsettled years turn out to have: a clock
    due by it is due on any (None: no such moment, the calendar has no settled working days)."""
    if rule.trigger == Trigger.BREACH:
        return now  # the due time itself: no year decides it
    try:
        return threshold(rule, now, waits.bound(rule))
    except ValueError:  # years on end without a settled working day: nothing is decided yet
        return None


def pending_deadlines(rule: EscalationRule, position: int, now: dt.datetime, clocks: Clocks):
    """Running clocks past the rule's threshold that have not climbed past its rung, and that
    no unsettled year decides (the ladder is read to know the rungs below)."""
    rungs = judged_ladder(ordered_rules(), now, clocks)
    rung = next((r for r in rungs if r.rule.pk == rule.pk), None)
    if rung is None:  # an inactive rule: judged on its own
        rung = judged_ladder([(rule, position)], now, clocks)[0]
    if rung.due_by is None:
        return Deadline.objects.none()
    return _pending(rule, position, rung.due_by, rung.held)


def _pending(
    rule: EscalationRule,
    position: int,
    due_by: dt.datetime,
    held: Held = (),
    *,
    partition: Partition = WHOLE,
):
    """Running clocks due by `due_by` that have not climbed past the rule's rung, except those
    due in a `held` range (the ORM; PostgreSQL's statements select the same by
    `pending_in_database`).

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
        due_at__lte=due_by,
    )
    if _skips_paused(rule):
        deadlines = deadlines.filter(paused=False)
    for after, until in held:  # due times an unsettled year placed: they wait
        deadlines = deadlines.exclude(due_at__gt=after, due_at__lte=until)
    parts, part = partition
    if parts > 1:
        deadlines = deadlines.alias(part=F("request_id") % parts).filter(part=part)
    return deadlines


def _skips_paused(rule: EscalationRule) -> bool:
    return rule.trigger == Trigger.FRACTION  # no reminders while the enterprise answers


def pending_in_database(
    rule: EscalationRule,
    position: int,
    due_by: dt.datetime,
    held: Held = (),
    *,
    partition: Partition = WHOLE,
):
    """The same selection for PostgreSQL's statements (`postgres.Pending`)."""
    return postgres.Pending(
        clock=rule.clock,
        position=position,
        due_by=due_by,
        skip_paused=_skips_paused(rule),
        held=held,
        partition=partition,
    )


def climb(rule: EscalationRule, position: int, request_ids: list[int]) -> int:
    """Mark the rung handled on these requests' deadlines, so the next sweep does not read them.

    Every pending row a sweep locks climbs, whether this sweep fired it or found the firing
    already there (another sweep, or stages reset after the ladder changed). PostgreSQL does
    the same inside its firing statement (`postgres.FIRE_BATCH`).
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


def sweep(now: dt.datetime | None = None, *, partition: Partition = WHOLE) -> SweepResult:
    """Fire every rule that is due as of `now`, exactly once per request, rule and cycle
    (for the requests of `partition` only, when a sweep is shared among workers)."""
    started = time.perf_counter()
    result = SweepResult(now=now or timezone.now())
    clocks = Clocks.current()
    for rung in judged_ladder(ordered_rules(), result.now, clocks):
        rule, position, due_by, held = rung.rule, rung.position, rung.due_by, rung.held
        if due_by is None:
            continue  # waits for a year's calendar
        batches = batch_bounds(_pending(rule, position, due_by, held, partition=partition))
        if len(batches) > 1 and _commits_on_its_own():
            _fire_side_by_side(rule, position, batches, due_by, result, held, partition)
            continue
        for bounds in batches:
            fire(rule, position, bounds, due_by, result, held, partition=partition)
    if sum(result.fired.values()) >= TIDY_AFTER and _commits_on_its_own():
        _tidy()
    result.seconds = time.perf_counter() - started
    record_sweep()  # for /health/: the age of the last sweep
    return result


def _commits_on_its_own() -> bool:
    """PostgreSQL, and not inside a caller's transaction: what batches side by side need (each
    commits on its own connection, and other connections could not see a caller's uncommitted
    rows; SQLite has one writer), and the VACUUM after a large sweep (never in a transaction)."""
    return in_database() and not connection.in_atomic_block


def _tidy() -> None:
    """Vacuum the deadline table after a large sweep.

    Every deadline a sweep fires climbs a rung: a new row version, and the old one's entry
    left in the pending index. The next sweep, a minute later with nothing due, walked the
    million dead entries a 1,000,000-firing sweep left and visited each row to learn it was
    gone (236-522 ms at 10M requests, against 40 ms once vacuumed). Autovacuum removes them
    too (sooner for this table since migration 0023), but not at a moment anyone can count
    on; here it costs about 0.6 s after a million firings.
    """
    with connection.cursor() as cursor:
        postgres.tidy_deadlines(cursor)


def in_database() -> bool:
    """Whether the sweep runs its PostgreSQL statements (`requests_app.sweep.postgres`) or
    the portable path (the ORM and Python, here and in firing.py).

    The sweep's one question about the database: everything that differs follows from it.
    """
    return connection.vendor == "postgresql"


def _fire_side_by_side(
    rule, position, batches: list["Bounds"], due_by, result, held, partition
) -> None:
    """A large sweep: `SIDE_BY_SIDE` threads, each with its own connection, taking the batches
    in order, one at a time, until none is left.

    Each batch is mostly the database's work (its statements, the constraint checks at commit);
    two at once keep both cores of the machine busy. The batches are disjoint ranges of the
    index order, and each is the same transaction `fire` always runs: the same as two sweeps at
    once, which the firing key and SKIP LOCKED make safe.
    """
    waiting: SimpleQueue = SimpleQueue()
    for bounds in batches:
        waiting.put(bounds)
    with ThreadPoolExecutor(max_workers=SIDE_BY_SIDE, thread_name_prefix="sweep") as pool:
        arguments = (rule, position, waiting, due_by, result.now, held, partition)
        running = [pool.submit(_fire_on_own_connection, *arguments) for _ in range(SIDE_BY_SIDE)]
        for task in running:
            result.add(task.result())


def _fire_on_own_connection(
    rule, position, waiting: SimpleQueue, due_by, now, held, partition
) -> SweepResult:
    """Fire the batches `waiting` holds, one after another, on this thread's connection.

    The connection is kept from one batch to the next and closed once the queue is empty. A
    new connection for every batch started a PostgreSQL process for every 5,000 firings, each
    faulting in the shared buffers it touched: at 10M requests a million firings took 100 s
    that way and 88 s this way (docs/performance.md).
    """
    part = SweepResult(now=now)
    try:
        while True:
            try:
                bounds = waiting.get_nowait()
            except Empty:
                return part
            fire(rule, position, bounds, due_by, part, held, partition=partition)
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
    batch also works as a subquery (the lock's). PostgreSQL's lock spells the same comparison
    in its own statement (`postgres.LOCK_BATCH`)."""

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
        columns: list[str] = []
        values: list[str] = []
        params: list = []
        for target, expressions in ((columns, self.columns), (values, self.values)):
            for expression in expressions:
                sql, expression_params = compiler.compile(expression)
                target.append(sql)
                params.extend(expression_params)
        return f"({', '.join(columns)}) {self.operator} ({', '.join(values)})", params


def fire(
    rule: EscalationRule,
    position: int,
    bounds: Bounds,
    due_by,
    result: SweepResult,
    held: Held = (),
    *,
    partition: Partition = WHOLE,
) -> None:
    """Fire `rule` in one transaction for the requests of one batch (`bounds`) of its pending
    deadlines (due by `due_by`, not due in a `held` range), where it is still due and unfired."""
    with transaction.atomic():
        # SKIP LOCKED: a request a user is changing right now is left for the next sweep rather
        # than waited for; the lock also keeps the timeline's sequence ours while we append.
        # Then read again under the lock, in a statement of its own so that it sees what
        # committed before we took it: a transition since the batch was chosen may have stopped
        # the clock. Only what this sweep inserted is announced: a firing another sweep made is
        # theirs.
        if in_database():
            rows = _fire_in_database(rule, position, bounds, due_by, result.now, held, partition)
        else:
            rows = _fire_portably(rule, position, bounds, due_by, result.now, held, partition)
        if rows:
            context = firing.Context.load(rows, rule.recipients)
            if rule.action == EscalationAction.ACCOUNTABILITY:
                result.cases += firing.open_cases(rule, rows, result.now, context)
            notify = firing.notify_in_database if in_database() else firing.notify
            result.notifications += notify(rule, rows, result.now, context)
            result.fired[firing.EVENT_ACTIONS[rule.action]] += len(rows)


def _fire_in_database(rule, position, bounds: Bounds, due_by, now, held, partition) -> list[dict]:
    """PostgreSQL: lock the batch, then fire it in one statement (`requests_app.sweep.postgres`)."""
    pending = pending_in_database(rule, position, due_by, held, partition=partition)
    start, end = bounds
    with connection.cursor() as cursor:
        locked = postgres.lock_batch(cursor, pending=pending, start=start, end=end)
        if not locked:
            return []
        postgres.no_jit(cursor)
        return postgres.fire_batch(cursor, **fire_batch_args(rule, pending, locked, now))


def fire_batch_args(rule, pending: postgres.Pending, locked: list[int], now) -> dict:
    """What `postgres.fire_batch` is given for a rule's batch (the benchmark explains it)."""
    return {
        "due_column": due_field(rule.clock),
        "cycle_column": cycle_field(rule.clock),
        "pending": pending,
        "locked": locked,
        "rule_id": rule.pk,
        "action": firing.EVENT_ACTIONS[rule.action],
        "note": rule.name,
        "data": firing.database_event_data(rule),
        "now": now,
    }


def _fire_portably(rule, position, bounds: Bounds, due_by, now, held, partition) -> list[dict]:
    """Other databases: the same steps as separate statements, the events hashed in Python."""
    pending = _pending(rule, position, due_by, held, partition=partition)
    locked = _lock(batch_of(pending, bounds))
    if not locked:
        return []
    rows = _fire_step_by_step(rule, position, locked, pending, now)
    append_many(
        firing.events(rule, rows),
        now,
        heads={row["pk"]: row["head"] for row in rows if row["head"]},
    )
    return rows


def _lock(batch) -> list[int]:
    """Lock the batch's requests, in id order, passing over those someone else holds."""
    return list(
        ServiceRequest.objects.filter(pk__in=batch.values("request_id"))
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


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


def _fire_step_by_step(rule, position, locked, pending, now) -> list[dict]:
    """Other databases: the same steps as separate statements."""
    due, cycle = due_field(rule.clock), cycle_field(rule.clock)
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
        reopen_count = row.pop("reopen_count")
        row["cycle"] = 0 if cycle is None else reopen_count
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
