"""The working-time figures (median and 90th percentile of the hours to assign, to first answer
and to close), totals and breakdowns, computed where the data is.

On PostgreSQL one statement does it: the calendar's running totals of working seconds per day
(`WorkingClock.table`, from requests_app.working_time) go in as arrays with the zone's UTC offset,
each timestamp becomes working seconds by its local day's place in them, and `percentile_cont`
over GROUPING SETS gives the total and every breakdown in one scan. Elsewhere (SQLite: tests, the
embedded demo), or when the zone's offset changes within the days counted, the same arithmetic
runs in Python over the timestamps. Both follow the definitions in reports/figures.py.
"""

import datetime as dt

from django.db import connection, connections
from django.db.models import Q, QuerySet
from django.utils import timezone

from reports import figures
from reports.figures import TIMES
from requests_app.working_time import DayTable, WorkingClock, local_zone

SPAN_COLUMNS = ("submitted_at", "assigned_at", "answered_at", "closed_at")
EPOCH = dt.date(1970, 1, 1)


def span_figures(
    received: QuerySet, keys: list[str], clock: WorkingClock, *, closed_before: dt.datetime
) -> dict[tuple, dict]:
    """{(None, None): totals, (position, key value): a breakdown's} time figures."""
    rows = received.order_by().filter(Q(assigned_at__isnull=False) | Q(answered_at__isnull=False))
    if connection.vendor == "postgresql":
        table = _day_table(clock, closed_before)
        if table.utc_offset is not None:
            return _in_postgres(rows, keys, table, closed_before)
    spans = figures.working_spans(
        rows.values_list(*keys, *SPAN_COLUMNS).iterator(chunk_size=5000),
        clock,
        len(keys),
        closed_before=closed_before,
    )
    return {key: figures.time_figures(values) for key, values in spans.items()}


def _day_table(clock: WorkingClock, closed_before: dt.datetime) -> DayTable:
    """The days a span of the report can touch: from the clock's origin to tomorrow."""
    today = timezone.localdate(timezone.now(), local_zone())
    return clock.table(until=max(today, closed_before.date()) + dt.timedelta(days=1))


def _in_postgres(rows: QuerySet, keys: list[str], table: DayTable, closed_before) -> dict:
    inner, params = rows.values_list(*keys, *SPAN_COLUMNS).query.sql_with_params()
    before, working = table.before, table.working
    key_names = [f"k{i}" for i in range(len(keys))]
    # Local time as plain arithmetic on epoch seconds, with the offset the zone keeps over
    # these days (the table says so); a time-zone conversion per value costs seconds here.
    local = {
        # date_part is float8 arithmetic; extract() is numeric, twice as slow over a quarter.
        name: f"floor(date_part('epoch', b.{name}))::bigint + {table.utc_offset:d} AS e_{name}"
        for name in ("submitted", "assigned", "answered", "closed")
    }
    origin = (table.first - EPOCH).days
    seconds = {}
    for name in local:
        # Working seconds of a moment: the day's running total, plus the seconds since local
        # midnight when the day is a working day (WorkingClock.seconds, in SQL). The day's
        # place in the arrays is plain arithmetic: no join, no lookup per row.
        day = f"(t.e_{name} / 86400)"
        index = f"({day} - {origin} + 1)"
        seconds[name] = (
            f"(cal.before[{index}] + CASE WHEN cal.working[{index}] "
            f"THEN t.e_{name} - {day} * 86400 ELSE 0 END)"
        )
    spans = {
        label: (
            f"(CASE WHEN t.e_{end} IS NOT NULL{' AND t.closed_in' if end == 'closed' else ''} "
            f"THEN GREATEST(0, {seconds[end]} - {seconds['submitted']}) / 3600.0 END)::float8"
        )
        for label, end in zip(TIMES, ("assigned", "answered", "closed"), strict=True)
    }
    measures = []
    for name in TIMES:
        measures.append(f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {name})")
        measures.append(f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {name})")
    sets = ", ".join(["()", *(f"({k})" for k in key_names)])
    grouping = [f"GROUPING({k})" for k in key_names] or ["0"]
    columns = [*key_names, "submitted", "assigned", "answered", "closed"]
    sql = f"""
        WITH cal AS (SELECT %s::bigint[] AS before, %s::boolean[] AS working),
        t AS (
            SELECT {", ".join([*(f"b.{k}" for k in key_names), *local.values()])},
                   b.closed < %s AS closed_in
            FROM ({inner}) AS b({", ".join(columns)})
        ),
        spans AS (
            SELECT {", ".join([*(f"t.{k}" for k in key_names), "1 AS one"])},
                   {", ".join(f"{expression} AS {name}" for name, expression in spans.items())}
            FROM t CROSS JOIN cal
        )
        SELECT {", ".join(grouping)}, {", ".join([*key_names, "1"])}, {", ".join(measures)}
        FROM spans
        GROUP BY GROUPING SETS ({sets})
    """  # noqa: S608 - only generated names; every value is a parameter
    # In the order the placeholders appear: the day table, the close cut-off, the inner query's.
    arguments = [before, working, closed_before, *params]
    width = max(1, len(key_names))
    result = {}
    # On the database the router gives the queryset: the replica, in replica-safe code.
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, arguments)
        for row in cursor.fetchall():
            flags, values = row[:width], row[width : width + len(key_names)]
            position = next((i for i, grouped in enumerate(flags) if not grouped), None)
            if not key_names:
                position = None
            key = (None, None) if position is None else (position, values[position])
            result[key] = _named(row[-len(measures) :])
    return result


def _named(numbers) -> dict:
    out = {}
    for index, name in enumerate(TIMES):
        median, p90 = numbers[2 * index], numbers[2 * index + 1]
        out[f"median_hours_{name}"] = None if median is None else round(median, 2)
        out[f"p90_hours_{name}"] = None if p90 is None else round(p90, 2)
    return out
