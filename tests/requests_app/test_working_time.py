"""Working time counted from running totals: against a day-by-day reference, at a constant cost.

The reference below is the plain walk from day to day (what the clocks did before the running
totals): every answer of requests_app.working_time must equal it, on the statutory calendar
(holidays, make-up working days 调休, year boundaries) and on random calendars.
"""

import datetime as dt
import logging
import random
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from requests_app import working_time
from requests_app.models import CalendarDay, CalendarYear
from requests_app.working_time import (
    ExceptionCalendar,
    WeekendCalendar,
    WorkingCalendar,
    WorkingClock,
    YearTable,
    add_working_time,
    statutory_calendar,
    subtract_working_time,
    working_horizon,
    working_time_between,
)
from tests.conftest import SHANGHAI, at

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
TICK = dt.timedelta(microseconds=1)

# --- the reference: one day at a time --------------------------------------------------------


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


def reference_between(start, end, calendar) -> dt.timedelta:
    if end < start:
        return -reference_between(end, start, calendar)
    current, end = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    total = dt.timedelta(0)
    while current < end:
        stop = min(_midnight(current.date() + DAY), end)
        if calendar.is_working_day(current.date()):
            total += stop - current
        current = stop
    return total


def reference_add(start, duration, calendar) -> dt.datetime:
    current, remaining = start.astimezone(SHANGHAI), duration
    while True:
        midnight = _midnight(current.date() + DAY)
        if calendar.is_working_day(current.date()):
            if remaining <= midnight - current:
                return current + remaining
            remaining -= midnight - current
        current = midnight


# --- random spans ------------------------------------------------------------------------------

SEED = 20251011
CASES = 400


def _moment(rng: random.Random, first: dt.datetime, days: int) -> dt.datetime:
    moment = first + dt.timedelta(seconds=rng.randrange(days * 86400))
    snap = rng.random()
    if snap < 0.25:
        return moment.replace(hour=0, minute=0, second=0)  # midnights are where the edges are
    if snap < 0.35:
        return moment + dt.timedelta(microseconds=rng.randrange(1, 10**6))
    return moment


def _duration(rng: random.Random) -> dt.timedelta:
    choice = rng.random()
    if choice < 0.1:
        return dt.timedelta(0)
    if choice < 0.4:
        return rng.randint(1, 30) * DAY
    if choice < 0.5:
        return rng.randint(200, 900) * DAY  # across one or more year boundaries
    if choice < 0.7:
        return rng.randint(1, 72) * HOUR
    return dt.timedelta(microseconds=rng.randrange(1, 6 * 86400 * 10**6))


class RandomCalendar(WorkingCalendar):
    """Holidays on weekdays and make-up days on weekends, at random, as a real year has them."""

    def __init__(self, seed: int):
        super().__init__()
        self._seed = seed

    def _table(self, year: int) -> YearTable:
        rng = random.Random(self._seed * 10000 + year)
        flips = {dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365)) for _ in range(25)}
        return YearTable.build(year, lambda day: (day.isoweekday() <= 5) != (day in flips))


def test_random_spans_agree_with_the_day_by_day_reference(statutory):
    rng = random.Random(SEED)
    first = at("2022-06-01 00:00")
    for index in range(CASES):
        calendar = statutory if index % 2 else RandomCalendar(index)
        start, end = _moment(rng, first, 1500), _moment(rng, first, 1500)
        duration = _duration(rng)
        context = (index, start, end, duration)
        assert working_time_between(start, end, calendar) == reference_between(
            start, end, calendar
        ), context
        if duration:
            assert add_working_time(start, duration, calendar) == reference_add(
                start, duration, calendar
            ), context


def test_random_inverses_are_exact_across_years(statutory):
    """Adding, then measuring, gives the duration back; so do the horizon and subtracting."""
    rng = random.Random(SEED + 1)
    first = at("2023-01-01 00:00")
    for index in range(CASES):
        calendar = statutory if index % 2 else RandomCalendar(index)
        moment, duration = _moment(rng, first, 1000), _duration(rng)
        context = (index, moment, duration)
        due = add_working_time(moment, duration, calendar)
        assert working_time_between(moment, due, calendar) == duration, context
        horizon = working_horizon(moment, duration, calendar)
        assert horizon >= due, context
        assert working_time_between(moment, horizon, calendar) == duration, context
        assert working_time_between(moment, horizon + TICK, calendar) > duration, context
        start = subtract_working_time(moment, duration, calendar)
        assert working_time_between(start, moment, calendar) == duration, context
        if start < moment:
            assert working_time_between(start + TICK, moment, calendar) < duration, context


# --- the cost does not grow with the span ------------------------------------------------------


def _queries(function) -> int:
    with CaptureQueriesContext(connection) as queries:
        function()
    return len(queries)


@pytest.mark.django_db
@pytest.mark.parametrize("span", [HOUR, DAY, 3650 * DAY])
def test_a_span_costs_the_same_queries_for_an_hour_or_a_decade(span):
    start = at("2014-03-14 16:00")  # 2014–2024: every year in the official table

    def count() -> None:
        calendar = statutory_calendar()
        working_time_between(start, start + span, calendar)
        add_working_time(start, span, calendar)
        subtract_working_time(start + span, span, calendar)

    working_time.forget_calendars()
    assert _queries(count) == 2  # the years and the exceptions, once, whatever the span
    assert _queries(count) == 0  # then kept by the process


def test_counting_a_decade_walks_no_days(monkeypatch):
    """Each year's table is built once; the counting itself never asks about a single day."""
    built = []

    class Counted(WeekendCalendar):
        def _table(self, year):
            built.append(year)
            return super()._table(year)

    calendar = Counted()
    start = at("2030-01-07 09:00")
    working_time_between(start, start + 3650 * DAY, calendar)  # builds the eleven years
    assert sorted(built) == list(range(2030, 2041))

    def no_day_walks(self, day):
        raise AssertionError("counted day by day")

    monkeypatch.setattr(WorkingCalendar, "is_working_day", no_day_walks)
    decade = working_time_between(start, start + 3650 * DAY, calendar)
    assert add_working_time(start, decade, calendar) == start + 3650 * DAY
    assert subtract_working_time(start + 3650 * DAY, decade, calendar) == start
    assert working_horizon(start, decade, calendar) == start + 3650 * DAY
    assert len(built) == 11  # nothing built again


# --- year boundaries, make-up days, unknown years ---------------------------------------------


@pytest.mark.parametrize(
    "start, end, hours",
    [
        ("2025-12-31 12:00", "2026-01-05 12:00", 12 + 24 + 12),  # Jan 1–3 off, Sun 4 make-up
        ("2024-12-31 00:00", "2026-01-01 00:00", None),  # two boundaries: the reference decides
        ("2025-12-31 23:59:59.999999", "2026-01-04 00:00:00.000001", None),
        ("2026-10-09 00:00", "2026-10-12 00:00", 48),  # Fri, then the make-up Saturday Oct 10
        ("2026-09-19 00:00", "2026-09-21 00:00", 24),  # the make-up Sunday Sep 20
    ],
)
def test_year_boundaries_and_make_up_days(statutory, start, end, hours):
    result = working_time_between(at(start), at(end), statutory)
    assert result == reference_between(at(start), at(end), statutory)
    if hours is not None:
        assert result == hours * HOUR


def test_a_make_up_saturday_is_a_working_day_of_24_hours(statutory):
    assert add_working_time(at("2026-10-09 16:00"), DAY, statutory) == at("2026-10-10 16:00")
    assert add_working_time(at("2026-10-10 00:00"), DAY, statutory) == at("2026-10-11 00:00")
    assert statutory.is_working_day(dt.date(2026, 10, 10))
    assert not statutory.is_working_day(dt.date(2026, 10, 11))


@pytest.mark.django_db
def test_an_unknown_year_counts_its_admin_exceptions_and_still_warns(caplog):
    """No CalendarYear row: the weekday rule plus any exception rows, and a warning."""
    CalendarDay.objects.create(date=dt.date(2041, 1, 1), is_working=False, name="New Year")
    calendar = statutory_calendar()
    with caplog.at_level(logging.WARNING, logger="requests_app.working_time"):
        due = add_working_time(at("2040-12-31 09:00"), DAY, calendar)
        add_working_time(at("2041-03-01 09:00"), 30 * DAY, calendar)
    assert due == at("2041-01-02 09:00")  # Tue Jan 1 off
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "2040" in warnings[0] and "2041" in warnings[1]
    assert calendar.provisional_years == {2040, 2041}


def test_a_calendar_without_working_days_raises_backwards_too():
    class NeverWorks:
        def is_working_day(self, day):
            return False

    with pytest.raises(ValueError, match="calendar"):
        subtract_working_time(at("2025-03-10 09:00"), DAY, NeverWorks())
    with pytest.raises(ValueError, match="calendar"):
        working_horizon(at("2025-03-10 09:00"), DAY, NeverWorks())


def test_the_exception_calendar_keeps_the_old_contract():
    calendar = ExceptionCalendar(lambda year: ({dt.date(year, 1, 2): True}, False))
    assert calendar.is_working_day(dt.date(2033, 1, 2))  # a Sunday made a working day
    assert calendar.provisional_years == {2033}


# --- the zone comes from the settings ----------------------------------------------------------


def test_days_are_days_of_the_settings_time_zone(settings):
    settings.TIME_ZONE = "UTC"
    friday = dt.datetime(2025, 3, 14, 16, tzinfo=dt.UTC)
    assert add_working_time(friday, DAY, WeekendCalendar()) == friday + 3 * DAY
    # 16:00 UTC Friday is 00:00 Saturday in Shanghai: under the default zone, Tuesday 00:00.
    settings.TIME_ZONE = "Asia/Shanghai"
    assert add_working_time(friday, DAY, WeekendCalendar()) == at("2025-03-18 00:00")


@pytest.mark.parametrize(
    "zone, offset",
    [("Asia/Shanghai", 8 * 3600), ("UTC", 0), ("Europe/Berlin", None)],  # Berlin: DST in March
)
def test_the_day_table_gives_the_zones_offset_only_when_it_is_steady(settings, zone, offset):
    settings.TIME_ZONE = zone
    table = WorkingClock(WeekendCalendar(), dt.date(2026, 3, 1)).table(until=dt.date(2026, 4, 30))
    assert table.utc_offset == offset
    assert len(table.before) == len(table.working) == 61
    assert table.before[:3] == [0, 0, 86400]  # Sun Mar 1, Mon Mar 2, Tue Mar 3


def test_the_working_clock_agrees_across_years(statutory):
    clock = WorkingClock(statutory, dt.date(2024, 12, 30))
    rng = random.Random(SEED + 2)
    for _ in range(100):
        a = _moment(rng, at("2024-12-30 00:00"), 800).replace(microsecond=0)
        b = _moment(rng, at("2024-12-30 00:00"), 800).replace(microsecond=0)
        assert clock.seconds(b) - clock.seconds(a) == int(
            working_time_between(a, b, statutory).total_seconds()
        )
    with pytest.raises(ValueError, match="origin"):
        clock.seconds(at("2024-12-29 23:00"))


# --- the process keeps the calendar, and forgets it when a row changes ------------------------


@pytest.mark.django_db
def test_saving_a_calendar_row_is_counted_at_once():
    calendar = statutory_calendar()
    assert calendar.is_working_day(dt.date(2026, 7, 1))
    CalendarDay.objects.create(date=dt.date(2026, 7, 1), is_working=False, name="A new holiday")
    assert not statutory_calendar().is_working_day(dt.date(2026, 7, 1))
    CalendarDay.objects.filter(date=dt.date(2026, 7, 1)).get().delete()
    assert statutory_calendar().is_working_day(dt.date(2026, 7, 1))


@pytest.mark.django_db
def test_other_processes_forget_the_calendar_once_the_change_commits(
    django_capture_on_commit_callbacks,
):
    statutory_calendar().is_working_day(dt.date(2026, 7, 1))
    kept = working_time._store
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        CalendarYear.objects.update_or_create(year=2050, defaults={"provisional": True})
    assert callbacks  # the shared version stamp moves on commit
    other = working_time._Store(stamp=kept.stamp)  # a process still holding the old stamp
    working_time._store = other
    assert statutory_calendar()._store is not other  # it sees the new stamp and re-reads


@pytest.mark.django_db
def test_forgetting_reads_the_table_again():
    statutory_calendar().is_working_day(dt.date(2026, 7, 1))
    assert _queries(lambda: statutory_calendar().is_working_day(dt.date(2026, 7, 2))) == 0
    working_time.forget_calendars()
    assert _queries(lambda: statutory_calendar().is_working_day(dt.date(2026, 7, 2))) == 2


# --- one home ----------------------------------------------------------------------------------

HOME = "requests_app/working_time.py"
# What counting working time somewhere else would look like: asking a calendar day by day, or a
# zone or offset written out instead of read from the settings.
ELSEWHERE = ("is_working_day(", '"Asia/Shanghai"', "8 * 3600", "hours=8)")


def test_working_time_is_counted_only_in_its_module():
    root = Path(__file__).resolve().parents[2]
    found = [
        f"{path.relative_to(root)}: {needle}"
        for package in ("requests_app", "inspection", "reports")
        for path in sorted((root / package).rglob("*.py"))
        if path.relative_to(root).as_posix() != HOME and "migrations" not in path.parts
        for needle in ELSEWHERE
        if needle in path.read_text(encoding="utf-8")
    ]
    assert not found
