"""The working-time figures computed where the data is agree with the same sums in Python.

On PostgreSQL `counts_and_spans` runs one statement fed by the calendar's day table; the expected
values come from `figures.working_spans` over the same rows. On SQLite both are the Python path.
"""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from reports import figures
from reports.figures import Period
from reports.models import ReportSettings
from reports.selectors import GROUPINGS, counts_and_spans, cube_query, working_clock
from reports.spans import SPAN_COLUMNS
from requests_app.models import ServiceRequest
from requests_app.working_time import WeekendCalendar, WorkingClock

Q3 = Period(2026, 3)


def _in_python(received, keys, clock):
    rows = received.order_by().filter(Q(assigned_at__isnull=False) | Q(answered_at__isnull=False))
    spans = figures.working_spans(
        rows.values_list(*keys, *SPAN_COLUMNS), clock, len(keys), closed_before=Q3.end
    )
    return {key: figures.time_figures(values) for key, values in spans.items()}


def test_a_zone_whose_offset_changes_is_counted_in_python(quarter, settings):
    """No fixed offset to add to epoch seconds (Berlin's summer time): Python counts instead."""
    settings.TIME_ZONE = "Europe/Berlin"
    received = figures.received_in(ServiceRequest.objects.all(), Q3)
    clock = WorkingClock(WeekendCalendar(), dt.date(2026, 3, 1))
    keys = list(GROUPINGS.values())
    with CaptureQueriesContext(connection) as queries:
        _cube, result = counts_and_spans(received, Q3, Q3.end, ReportSettings.current(), clock)
    assert not [q for q in queries if "percentile_cont" in q["sql"]]
    assert result == _in_python(received, keys, clock)


def test_one_read_counts_and_times_what_two_passes_do(quarter):
    """The quarter's counts and spans from one statement (PostgreSQL) equal the cube of counts
    (`Count(filter=...)` by key and month) and the spans counted in Python."""
    received = figures.received_in(ServiceRequest.objects.all(), Q3)
    clock = working_clock(Q3.previous())
    settings = ReportSettings.current()
    now = Q3.end + dt.timedelta(days=3)
    keys = list(GROUPINGS.values())
    cube, spans = counts_and_spans(received, Q3, now, settings, clock)

    def ordered(rows):
        return sorted(rows, key=lambda row: [str(row[k]) for k in (*keys, "month")])

    assert ordered(cube) == ordered(list(cube_query(received, Q3, now, settings)))
    assert cube and all(row["month"].tzinfo is not None for row in cube)
    expected = _in_python(received, keys, clock)
    assert {key: value for key, value in spans.items() if key in expected} == expected
    # A key with no ended clock has no spans: None, as a missing breakdown shows.
    assert all(set(value.values()) == {None} for key, value in spans.items() if key not in expected)


def test_on_postgresql_one_statement_reads_the_quarter(quarter):
    if connection.vendor != "postgresql":
        pytest.skip("the one statement is PostgreSQL's")
    received = figures.received_in(ServiceRequest.objects.all(), Q3)
    with CaptureQueriesContext(connection) as queries:
        counts_and_spans(
            received, Q3, Q3.end, ReportSettings.current(), working_clock(Q3.previous())
        )
    assert len([q for q in queries if "servicerequest" in q["sql"]]) == 1


def test_without_breakdowns_the_total_spans_are_the_same(quarter):
    """The quarter before's headline needs the total's time figures only: the same total,
    no breakdown's, and the same counts."""
    received = figures.received_in(ServiceRequest.objects.all(), Q3)
    clock = working_clock(Q3.previous())
    settings = ReportSettings.current()
    now = Q3.end + dt.timedelta(days=3)
    cube, spans = counts_and_spans(received, Q3, now, settings, clock)
    short_cube, short_spans = counts_and_spans(
        received, Q3, now, settings, clock, broken_down=False
    )
    assert list(short_spans) == [(None, None)]
    assert short_spans[(None, None)] == spans[(None, None)]
    assert short_spans[(None, None)]["median_hours_to_assign"] is not None

    def ordered(rows):
        return sorted(rows, key=lambda row: [str(row[k]) for k in (*GROUPINGS.values(), "month")])

    assert ordered(short_cube) == ordered(cube)
