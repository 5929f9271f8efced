"""The working-time figures computed where the data is agree with the same sums in Python.

On PostgreSQL `span_figures` runs one statement fed by the calendar's day table; the expected
values come from `figures.working_spans` over the same rows. On SQLite both are the Python path.
"""

import datetime as dt

from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from reports import figures
from reports.figures import Period
from reports.selectors import working_clock
from reports.spans import SPAN_COLUMNS, span_figures
from requests_app.models import ServiceRequest
from requests_app.working_time import WeekendCalendar, WorkingClock

Q3 = Period(2026, 3)


def _in_python(received, keys, clock):
    rows = received.order_by().filter(Q(assigned_at__isnull=False) | Q(answered_at__isnull=False))
    spans = figures.working_spans(
        rows.values_list(*keys, *SPAN_COLUMNS), clock, len(keys), closed_before=Q3.end
    )
    return {key: figures.time_figures(values) for key, values in spans.items()}


def test_the_database_counts_the_spans_python_counts(quarter):
    received = figures.received_in(ServiceRequest.objects.all(), Q3)
    clock = working_clock(Q3.previous())
    keys = ["department_id", "category_id"]
    assert span_figures(received, keys, clock, closed_before=Q3.end) == _in_python(
        received, keys, clock
    )


def test_a_zone_whose_offset_changes_is_counted_in_python(quarter, settings):
    """No fixed offset to add to epoch seconds (Berlin's summer time): Python counts instead."""
    settings.TIME_ZONE = "Europe/Berlin"
    received = figures.received_in(ServiceRequest.objects.all(), Q3)
    clock = WorkingClock(WeekendCalendar(), dt.date(2026, 3, 1))
    with CaptureQueriesContext(connection) as queries:
        result = span_figures(received, [], clock, closed_before=Q3.end)
    assert not [q for q in queries if "percentile_cont" in q["sql"]]
    assert result == _in_python(received, [], clock)
