"""The report figures, defined once: which requests each figure counts, and how rates are formed.

Every count is a condition (a `Q`) on the requests received in the period, so the same definition
is counted by one set-based query (`Count(filter=...)`; `late_answer_rounds` adds a column with
`Sum(filter=...)` instead) and listed by the page a figure links to (`members`). Rates divide one
count by another; times are working time, counted by requests_app.working_time (a working day
contributes its 24 local hours, a non-working day none), and "overdue now" is
requests_app.models.overdue_q. docs/reports.md ("Reports: definitions") says the same in words;
keep the two in step.
"""

import datetime as dt
import math
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.models import Count, F, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from requests_app.models import ServiceRequest, Status, overdue_q
from requests_app.working_time import WorkingClock, local_zone

# --- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A quarter of local time (settings.TIME_ZONE): [start, end)."""

    year: int
    quarter: int

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, 3 * self.quarter - 2, 1, tzinfo=local_zone())

    @property
    def end(self) -> dt.datetime:
        if self.quarter == 4:
            return dt.datetime(self.year + 1, 1, 1, tzinfo=local_zone())
        return dt.datetime(self.year, 3 * self.quarter + 1, 1, tzinfo=local_zone())

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.quarter}"

    def previous(self) -> "Period":
        if self.quarter == 1:
            return Period(self.year - 1, 4)
        return Period(self.year, self.quarter - 1)

    @classmethod
    def containing(cls, moment: dt.datetime) -> "Period":
        local = timezone.localtime(moment, local_zone())
        return cls(local.year, (local.month - 1) // 3 + 1)


MIN_YEAR, MAX_YEAR = 2000, 2100


# --- the counts ---------------------------------------------------------------------------------
# Each count takes (period, now) and answers the condition on a request received in the period.
# "now" matters only for clocks still running: a clock past its due time counts as missed.


def _late_assign() -> Q:
    return Q(assigned_at__isnull=False, assigned_at__gt=F("assign_due_at"))


def _answered_late() -> Q:
    """At least one answer round came after its clock.

    Every round (the first answer and each answer after a reopen) is judged against the clock it
    ran on: requests_app.changes.feedback adds one to `late_rounds` for each answer given after
    its clock's due time, so a late round stays counted when a later round comes in time.
    """
    return Q(late_rounds__gt=0)


def _running_answer_breached(now) -> Q:
    """The answer clock runs (a reopened round's too) and has passed its due time by `now`."""
    return overdue_q(now, clock="answer")


def _answered_on_time(now) -> Q:
    """`answer_on_time`: answered, every round within its clock, and no round running past due.

    The one definition of an answer on time: the quarterly figures, their breakdowns, the flags'
    scores and the list behind the figure all read it from here.
    """
    return Q(answered_at__isnull=False, late_rounds=0) & ~_running_answer_breached(now)


def _closed(period: Period, now) -> Q:
    return Q(status=Status.CLOSED, closed_at__lt=period.end)


def _rated(period: Period, now, *, on_follow_up: bool) -> Q:
    """Closed with a rating given by the enterprise itself, or on a liaison's follow-up call.

    The two are never mixed: a rating a liaison wrote down on a call (回访) is not the
    enterprise's own, so it counts in `satisfaction_follow_up` and never in `satisfaction`.
    """
    return _closed(period, now) & Q(rating__isnull=False, rated_on_follow_up=on_follow_up)


def _satisfied_ratings(three_counts: bool) -> int:
    return 3 if three_counts else 4


@dataclass(frozen=True)
class Count_:
    """A figure added up over received requests: its name (the API's), its label, and the
    condition on a request. Most count the requests that meet the condition; one with `summed`
    adds up that column over them instead (the list behind it is still those requests)."""

    name: str
    label: str | Promise  # translated when shown
    condition: Callable[..., Q]
    summed: str | None = None


def count_definitions(three_counts: bool) -> list[Count_]:
    lowest = _satisfied_ratings(three_counts)
    return [
        Count_("received", _("Received"), lambda p, now: Q()),
        Count_("closed", _("Closed"), _closed),
        Count_("assigned", _("Assigned"), lambda p, now: Q(assigned_at__isnull=False)),
        Count_("answered", _("Answered"), lambda p, now: Q(answered_at__isnull=False)),
        Count_(
            "assign_measured",
            _("Assign clocks ended or breached"),
            lambda p, now: Q(assigned_at__isnull=False) | overdue_q(now, clock="assign"),
        ),
        Count_(
            "assign_on_time",
            _("Assigned on time"),
            lambda p, now: Q(assigned_at__isnull=False, assigned_at__lte=F("assign_due_at")),
        ),
        Count_(
            "answer_measured",
            _("Answer clocks ended or breached"),
            lambda p, now: Q(answered_at__isnull=False) | _running_answer_breached(now),
        ),
        Count_(
            "answer_on_time",
            _("Answered on time"),
            lambda p, now: _answered_on_time(now),
        ),
        Count_(
            "answered_late",
            _("Requests with a late answer round"),
            lambda p, now: _answered_late(),
        ),
        Count_(
            "late_answer_rounds",
            _("Answer rounds answered late"),
            lambda p, now: _answered_late(),
            summed="late_rounds",
        ),
        Count_(
            "rated",
            _("Closed with the enterprise's own rating"),
            lambda p, now: _rated(p, now, on_follow_up=False),
        ),
        Count_(
            "satisfied",
            _("Satisfied ratings"),
            lambda p, now: _rated(p, now, on_follow_up=False) & Q(rating__gte=lowest),
        ),
        Count_(
            "rated_follow_up",
            _("Closed with a rating on a follow-up call"),
            lambda p, now: _rated(p, now, on_follow_up=True),
        ),
        Count_(
            "satisfied_follow_up",
            _("Satisfied ratings on follow-up calls"),
            lambda p, now: _rated(p, now, on_follow_up=True) & Q(rating__gte=lowest),
        ),
        Count_("reopened", _("Reopened at least once"), lambda p, now: Q(reopen_count__gte=1)),
        Count_(
            "overdue",
            _("Overdue"),
            lambda p, now: _late_assign() | _answered_late() | overdue_q(now),
        ),
    ]


def label_of(name: str) -> str | Promise:
    """The label of a count, as the dashboard, the lists and the exports show it."""
    return {d.name: d.label for d in count_definitions(False)}[name]


# A figure's name is also its SQL alias in the aggregates, so it must not be a column's name
# (an alias `late_rounds` would shadow the column in the conditions that read it).
COUNT_NAMES = (
    "received",
    "closed",
    "assigned",
    "answered",
    "assign_measured",
    "assign_on_time",
    "answer_measured",
    "answer_on_time",
    "answered_late",
    "late_answer_rounds",
    "rated",
    "satisfied",
    "rated_follow_up",
    "satisfied_follow_up",
    "reopened",
    "overdue",
)
# rate → (numerator, denominator)
RATES = {
    "resolution_rate": ("closed", "received"),
    "assign_on_time_rate": ("assign_on_time", "assign_measured"),
    "answer_on_time_rate": ("answer_on_time", "answer_measured"),
    "satisfaction": ("satisfied", "rated"),
    "satisfaction_follow_up": ("satisfied_follow_up", "rated_follow_up"),
    "reopen_rate": ("reopened", "received"),
}
RATE_LABELS = {
    "resolution_rate": _("Resolution rate"),
    "assign_on_time_rate": _("Assigned on time"),
    "answer_on_time_rate": _("Answered on time"),
    "satisfaction": _("Satisfaction"),
    "satisfaction_follow_up": _("Satisfaction on follow-up calls"),
    "reopen_rate": _("Reopen rate"),
}
# Working-time spans: name → the count whose requests it measures (from submission to ...).
TIMES = {
    "to_assign": "assigned",
    "to_first_answer": "answered",
    "to_close": "closed",
}
TIME_LABELS = {
    "to_assign": _("Working hours to assign"),
    "to_first_answer": _("Working hours to first answer"),
    "to_close": _("Working hours to close"),
}


def received_in(queryset: QuerySet, period: Period) -> QuerySet:
    return queryset.filter(submitted_at__gte=period.start, submitted_at__lt=period.end)


def members(
    queryset: QuerySet, name: str, period: Period, *, now=None, three_counts=False
) -> QuerySet:
    """The requests a count counts: what a click on the figure lists, and what exports export."""
    now = now or timezone.now()
    definition = {d.name: d for d in count_definitions(three_counts)}[name]
    return received_in(queryset, period).filter(definition.condition(period, now))


def count_aggregates(period: Period, now, three_counts: bool) -> dict:
    """`Count(filter=...)` of every count: one pass over the received requests per grouping."""
    return {d.name: _aggregate(d, period, now) for d in count_definitions(three_counts)}


def _aggregate(definition: Count_, period: Period, now):
    if definition.name == "received":
        return Count("pk")
    condition = definition.condition(period, now)
    if definition.summed:
        # 0, not NULL, when no request meets the condition: the figures add up across groups.
        return Coalesce(Sum(definition.summed, filter=condition), 0, output_field=IntegerField())
    return Count("pk", filter=condition)


def rate(numerator: int, denominator: int) -> float | None:
    """A fraction from 0 to 1, or None when nothing was measured."""
    return round(numerator / denominator, 4) if denominator else None


def with_rates(counts: dict) -> dict:
    figures = {name: counts.get(name, 0) for name in COUNT_NAMES}
    for name, (numerator, denominator) in RATES.items():
        figures[name] = rate(figures[numerator], figures[denominator])
    return figures


# --- working-time spans -------------------------------------------------------------------------
# Spans are differences of a WorkingClock (requests_app.working_time): working seconds since an
# origin day, read from the calendar's running totals.


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    return round(value, 2)


def time_figures(spans: dict[str, list[float]]) -> dict:
    figures = {}
    for name in TIMES:
        values = spans.get(name, [])
        figures[f"median_hours_{name}"] = percentile(values, 0.5)
        figures[f"p90_hours_{name}"] = percentile(values, 0.9)
    return figures


def working_spans(
    rows: Iterable[tuple], clock: WorkingClock, keys: int, *, closed_before: dt.datetime
) -> dict[tuple, dict[str, list[float]]]:
    """Group working-hour spans by each of `keys` leading columns (and overall, key None).

    Each row is (key1, …, keyN, submitted_at, assigned_at, answered_at, closed_at). This walks
    timestamps already narrowed by SQL to the spans that exist; the counts never come here.
    Time to close counts the requests the `closed` figure counts: closed before the period's end.
    """
    grouped: dict[tuple, dict[str, list[float]]] = {}
    for row in rows:
        group_keys, (submitted, assigned, answered, closed) = row[:keys], row[keys:]
        start = clock.seconds(submitted)
        if closed is not None and closed >= closed_before:
            closed = None
        ends = {"to_assign": assigned, "to_first_answer": answered, "to_close": closed}
        for name, end in ends.items():
            if end is None:
                continue
            hours = max(0, clock.seconds(end) - start) / 3600
            for position in (None, *range(keys)):
                key = (position, None if position is None else group_keys[position])
                grouped.setdefault(key, {}).setdefault(name, []).append(hours)
    return grouped


def month_trend(received: QuerySet, period: Period, now) -> list[dict]:
    """Received and closed by local month of submission, for the trend chart."""
    rows = (
        received.annotate(month=TruncMonth("submitted_at", tzinfo=local_zone()))
        .values("month")
        .annotate(
            received=Count("pk"),
            closed=Count("pk", filter=_closed(period, now)),
        )
        .order_by("month")
    )
    return [
        {"month": month_label(row["month"]), "received": row["received"], "closed": row["closed"]}
        for row in rows
    ]


def month_label(month) -> str:
    """'2026-07' for a truncated month (an aware datetime, or a date on some backends)."""
    if isinstance(month, dt.datetime):
        month = timezone.localtime(month, local_zone())
    return month.strftime("%Y-%m")


def _read_database():
    """The alias the quarter's requests are read from right now (the replica inside
    replica-safe code, core.replica; the primary otherwise), and its connection if it is
    PostgreSQL's, whose planner takes the analytic settings (None elsewhere)."""
    alias = router.db_for_read(ServiceRequest) or DEFAULT_DB_ALIAS
    connection = connections[alias]
    return alias, connection if connection.vendor == "postgresql" else None


@contextmanager
def analytic_queries():
    """Run report queries with PostgreSQL's JIT compiler off and room to sort in memory.

    The planner's cost estimates for a quarter's conditional aggregates trip the JIT thresholds,
    and compiling them took seconds (3.6 s of a 12 s plan at 1,000,000 requests), more than it
    ever saves on queries that read a few hundred thousand rows.

    The settings go to the database the requests are read from: set on the primary while the
    statements ran on a replica, the replica's sorts had its default 4 MB and spilled to disk.
    """
    alias, target = _read_database()
    with transaction.atomic(using=alias):
        if target is not None:
            with target.cursor() as cursor:
                # The percentiles sort every span of the quarter once per breakdown: in memory,
                # not in temporary files (the default 4 MB spills at a few thousand requests).
                cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
        yield


@contextmanager
def analytic_plan():
    """Plan the computing pass over a quarter as a sequential scan, with no JIT.

    A quarter's pass reads a large share of the table and groups it; with index scans allowed,
    PostgreSQL walked the whole table through the department index to get its groups in order
    (474k buffer reads for a 25k-page table at 1,000,000 requests: 3.35 s, against 1.3 s for a
    sequential scan). Bitmap scans stay allowed: they read pages in table order, and are what a
    narrow scope or a quarter that is a small part of the table wants. Only this pass: the small
    reads around it (cases, examples, the latest texts) keep their indexes. The settings go to
    the database the requests are read from (a replica, when core.replica sends them there).

    Handing a row from a parallel worker to the leader is priced at a tenth of its default:
    at 0.1 a row, PostgreSQL kept a quarter's read serial, though each row's work (every
    count's condition, the span arithmetic) costs far more than handing it over. With two
    workers the one statement of a quarter (reports.spans.cube_and_spans) took 1.65 s instead
    of 2.5 s, the city's department counts 0.47 s instead of 0.95 s (1M requests, loaded).
    """
    alias, target = _read_database()
    if target is None:
        yield
        return
    with transaction.atomic(using=alias):
        # One round trip each way: several statements, no parameters.
        with target.cursor() as cursor:
            cursor.execute(
                "SET LOCAL enable_indexscan = off; SET LOCAL jit = off; "
                "SET LOCAL parallel_tuple_cost = 0.01"
            )
        yield
        # Not on an error: the transaction is rolled back then, and its settings with it.
        with target.cursor() as cursor:
            cursor.execute(
                "SET LOCAL enable_indexscan = on; SET LOCAL parallel_tuple_cost = DEFAULT"
            )


def kept_is_fresh(computed_at: dt.datetime, now: dt.datetime) -> bool:
    """Whether figures computed at `computed_at` may still be shown at `now`.

    Judged by the portal's clock, from the time the figures were computed: a cache's own expiry
    runs on its server's clock (Redis's), which may differ from the portal's.
    """
    age = now - computed_at
    return dt.timedelta(0) <= age < dt.timedelta(seconds=settings.REPORTS_FIGURES_SECONDS)


def requests_table() -> QuerySet:
    return ServiceRequest.objects.all()
