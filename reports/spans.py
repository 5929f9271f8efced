"""The working-time figures (median and 90th percentile of the hours to assign, to first answer
and to close), totals and breakdowns, computed where the data is.

On PostgreSQL one statement does it, with the quarter's counts (`cube_and_spans`): the
calendar's running totals of working seconds per day (`WorkingClock.table`, from
requests_app.working_time) go in as arrays with the zone's UTC offset, each timestamp becomes
working seconds by its local day's place in them, and `percentile_cont` over GROUPING SETS gives
the total and every breakdown, from the same read of the quarter's requests as the counts.
Elsewhere (SQLite: tests, the embedded demo), or when the zone's offset changes within the days
counted, the same arithmetic runs in Python over the timestamps (`span_figures`). Both follow the
definitions in reports/figures.py.
"""

import datetime as dt

from django.db import connection, connections
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone

from reports import figures
from reports.figures import TIMES, Count_
from requests_app.working_time import DayTable, WorkingClock, local_zone

SPAN_COLUMNS = ("submitted_at", "assigned_at", "answered_at", "closed_at")
EPOCH = dt.date(1970, 1, 1)
# A request has spans when one of its clocks ended: the Python path reads only those rows.
MEASURED = Q(assigned_at__isnull=False) | Q(answered_at__isnull=False)


def span_figures(
    received: QuerySet, keys: list[str], clock: WorkingClock, *, closed_before: dt.datetime
) -> dict[tuple, dict]:
    """{(None, None): totals, (position, key value): a breakdown's} time figures, counted in
    Python over the measured rows' timestamps: where `postgres_day_table` gives no table (on
    PostgreSQL the quarter's one statement, `cube_and_spans`, computes them instead)."""
    rows = received.order_by().filter(MEASURED)
    spans = figures.working_spans(
        rows.values_list(*keys, *SPAN_COLUMNS).iterator(chunk_size=5000),
        clock,
        len(keys),
        closed_before=closed_before,
    )
    return {key: figures.time_figures(values) for key, values in spans.items()}


def postgres_day_table(clock: WorkingClock, closed_before: dt.datetime) -> DayTable | None:
    """The day table the SQL arithmetic needs, or None where Python counts instead (not
    PostgreSQL, or the zone's offset changes within the days counted)."""
    if connection.vendor != "postgresql":
        return None
    table = _day_table(clock, closed_before)
    return table if table.utc_offset is not None else None


def _day_table(clock: WorkingClock, closed_before: dt.datetime) -> DayTable:
    """The days a span of the report can touch: from the clock's origin to tomorrow."""
    today = timezone.localdate(timezone.now(), local_zone())
    return clock.table(until=max(today, closed_before.date()) + dt.timedelta(days=1))


def _percentiles() -> list[str]:
    """The median and 90th percentile of each span, in TIMES order (what `_named` reads)."""
    measures = []
    for name in TIMES:
        measures.append(f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {name})")
        measures.append(f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {name})")
    return measures


def _spans_sql(
    inner: str, columns: list[str], passed: list[str], keys: list[str], table: DayTable
) -> str:
    """Two named row sets over `inner` (its columns named `columns`, the last four
    SPAN_COLUMNS'): `t`, its rows with `passed` columns as they are, the local epoch seconds of
    each timestamp (`e_<name>`), `closed_in` and `measured` (a clock ended: the rows the Python
    path reads); `spans`, the measured rows with their `keys` and one column per span, in TIMES
    order.

    `t` is MATERIALIZED: computed once per row and read by each part of the statement, where an
    inlined `t` would repeat each timestamp's conversion wherever a later step names it.
    """
    names = ("submitted", "assigned", "answered", "closed")
    # Local time as plain arithmetic on epoch seconds, with the offset the zone keeps over
    # these days (the table says so); a time-zone conversion per value costs seconds here.
    # date_part is float8 arithmetic; extract() is numeric, twice as slow over a quarter.
    local = [
        f"floor(date_part('epoch', b.{name}))::bigint + {table.utc_offset:d} AS e_{name}"
        for name in names
    ]
    origin = (table.first - EPOCH).days
    seconds = {}
    for name in names:
        # Working seconds of a moment: the day's running total, plus the seconds since local
        # midnight when the day is a working day (WorkingClock.seconds, in SQL). The day's
        # place in the arrays is plain arithmetic: no join, no lookup per row.
        day = f"(t.e_{name} / 86400)"
        index = f"({day} - {origin} + 1)"
        seconds[name] = (
            f"(cal.before[{index}] + CASE WHEN cal.working[{index}] "
            f"THEN t.e_{name} - {day} * 86400 ELSE 0 END)"
        )
    spans = [
        # To close: only what closed before the period's end (the `closed` count's requests).
        f"(CASE WHEN t.e_{end} IS NOT NULL{' AND t.closed_in' if end == 'closed' else ''} "
        # Hours as float8 division of whole seconds, as Python divides them (figures): not
        # numeric division, several times slower and rounded to its own scale first.
        f"THEN GREATEST(0, {seconds[end]} - {seconds['submitted']})::float8 / 3600 END) "
        f"AS {label}"
        for label, end in zip(TIMES, names[1:], strict=True)
    ]
    return f"""
        WITH cal AS (SELECT %s::bigint[] AS before, %s::boolean[] AS working),
        t AS MATERIALIZED (
            SELECT {", ".join(["1 AS one", *(f"b.{k}" for k in passed), *local])},
                   b.closed < %s AS closed_in,
                   (b.assigned IS NOT NULL OR b.answered IS NOT NULL) AS measured
            FROM ({inner}) AS b({", ".join(columns)})
        ),
        spans AS (
            SELECT {", ".join(["t.one", *(f"t.{k}" for k in keys), *spans])}
            FROM t CROSS JOIN cal
            WHERE t.measured
        )
    """  # noqa: S608 - only generated names; every value is a parameter


# --- counts and spans in one statement ----------------------------------------------------------


def cube_and_spans(
    received: QuerySet,
    keys: list[str],
    month,
    counts: list[Count_],
    condition_of,
    table: DayTable,
    *,
    closed_before: dt.datetime,
    broken_down: bool = True,
) -> tuple[list[dict], dict[tuple, dict]]:
    """(the counts by every key and the month, the rows reports.selectors.cube_query gives; the
    time figures, as span_figures gives them) from one read of the received requests.

    PostgreSQL only. Each request is read once into `t` (see `_spans_sql`) with its keys, its
    month, one flag per count and its local timestamps. A flag is the count's condition, the
    very expression `Count(filter=...)` puts in its FILTER (`condition_of(count)` gives it). The
    counts are then grouped by every key and the month, and the spans of the measured rows by
    each key and in total, as two parts of one statement. Without `broken_down`, the spans are
    the total's only: each breakdown's percentiles sort the quarter's spans once more.
    """
    # "received" counts every row: no flag.
    flags = {
        f"qq_c{i}": _flag(condition_of(d)) for i, d in enumerate(counts) if d.name != "received"
    }
    summed = {f"qq_s{i}": F(d.summed) for i, d in enumerate(counts) if d.summed}
    selected = received.order_by().annotate(qq_month=month, **flags, **summed)
    names = [*keys, "qq_month", *flags, *summed, *SPAN_COLUMNS]
    inner, params = selected.values_list(*names).query.sql_with_params()
    key_names = [f"k{i}" for i in range(len(keys))]
    passed = [*key_names, "month", *flags, *summed]
    columns = [*passed, "submitted", "assigned", "answered", "closed"]
    grouped = [*key_names, "month"]
    counted = _count_aggregates(counts)
    measures = _percentiles()
    if broken_down:
        sets = ", ".join([*(f"({k})" for k in key_names), "()"])
        part, keyed = f"1 + GROUPING({', '.join(key_names)})", ", ".join(key_names)
    else:
        # The total alone: every key bit set, as GROUPING gives a row grouped by none of them.
        sets = "()"
        part, keyed = f"{1 << len(key_names)}", ", ".join(["NULL"] * len(key_names))
    # The counts by every key and month (hashed: a few hundred groups), then the spans' total and
    # breakdowns (sorted: percentiles); one shape for both parts' rows, told apart by `part`.
    sql = _spans_sql(inner, columns, passed, key_names, table) + (
        f"SELECT 0 AS part, {', '.join(grouped)}, {', '.join(counted)}, "
        f"{', '.join(['NULL::float8'] * len(measures))} "
        f"FROM t GROUP BY {', '.join(grouped)} "
        "UNION ALL "
        f"SELECT {part}, {keyed}, NULL, "
        f"{', '.join(['NULL::bigint'] * len(counted))}, {', '.join(measures)} "
        f"FROM spans GROUP BY GROUPING SETS ({sets})"
    )  # noqa: S608 - only generated names
    # In the order the placeholders appear: the day table, the close cut-off, the inner query's.
    arguments = [table.before, table.working, closed_before, *params]
    # On the database the router gives the queryset: the replica, in replica-safe code.
    with connections[received.db].cursor() as cursor:
        cursor.execute(sql, arguments)
        rows = cursor.fetchall()
    return _split(rows, keys, counts)


def _flag(condition: Q) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


def _count_aggregates(counts: list[Count_]) -> list[str]:
    """The counts over a group's rows, as figures.count_aggregates counts them (a summed one:
    0, not NULL, when no row meets its condition)."""
    out = []
    for i, definition in enumerate(counts):
        if definition.name == "received":
            out.append("count(*)")
        elif definition.summed:
            out.append(f"COALESCE(sum(qq_s{i}) FILTER (WHERE qq_c{i}), 0)")
        else:
            out.append(f"count(*) FILTER (WHERE qq_c{i})")
    return out


def _split(rows, keys: list[str], counts: list[Count_]) -> tuple[list[dict], dict]:
    """The statement's rows as (cube rows, time figures by (position, key value)).

    A spans row's part is 1 + GROUPING(keys): a bit per key, the first key's highest, set when
    the row does not group by that key; every bit set is the total.
    """
    cube: list[dict] = []
    spans: dict[tuple, dict] = {}
    total = 1 << len(keys)
    for row in rows:
        part, values, month = row[0], row[1 : 1 + len(keys)], row[1 + len(keys)]
        if part == 0:
            numbers = row[2 + len(keys) : 2 + len(keys) + len(counts)]
            cube.append(
                {
                    **dict(zip(keys, values, strict=True)),
                    # As TruncMonth gives it: the local month's start, aware.
                    "month": timezone.make_aware(month, local_zone()),
                    **{d.name: n for d, n in zip(counts, numbers, strict=True)},
                }
            )
            continue
        times = _named(row[-2 * len(TIMES) :])
        if part == total:
            spans[(None, None)] = times
        else:
            grouping = part - 1
            position = next(p for p in range(len(keys)) if not grouping >> (len(keys) - 1 - p) & 1)
            spans[(position, values[position])] = times
    return cube, spans


def _named(numbers) -> dict:
    out = {}
    for index, name in enumerate(TIMES):
        median, p90 = numbers[2 * index], numbers[2 * index + 1]
        out[f"median_hours_{name}"] = None if median is None else round(median, 2)
        out[f"p90_hours_{name}"] = None if p90 is None else round(p90, 2)
    return out
