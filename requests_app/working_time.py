"""Working time, counted in one place: the calendars, and spans measured and added on them.

A working day contributes all its 24 local hours, a non-working day none; days are days of the
portal's time zone (settings.TIME_ZONE), times are aware. Each calendar year is a table of
running totals (working days before each day), so a span costs a subtraction and adding time a
binary search, whether the span is a day or a decade: no walk from day to day.

The statutory calendar (the CalendarYear/CalendarDay tables) is read in two queries and kept per
process. Saving or deleting a calendar row forgets it here at once and, on commit, in every
process that shares the cache (a version stamp in Django's cache).

A year is *official* when its schedule was published and loaded, and *settled* when the clocks
may act on its days: official, or its Monday–Friday fallback confirmed by an administrator. An
unsettled year is still counted (on the fallback), so that every clock has a due time, but the
sweep fires no escalation or accountability case that such a year decides
(`requests_app.sweep.waiting`).
"""

import datetime as dt
import logging
import uuid
import weakref
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate
from typing import Protocol

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

logger = logging.getLogger(__name__)

DAY = dt.timedelta(days=1)
DAY_SECONDS = 86_400
DAY_MICROSECONDS = DAY_SECONDS * 1_000_000
# No real calendar has a year without working days; past this many such years it is broken.
MAX_IDLE_YEARS = 10
NO_WORKING_DAYS = "The calendar has no working days in ten years; check the calendar table."


def local_zone() -> dt.tzinfo:
    """The zone whose days the clocks count: settings.TIME_ZONE."""
    return timezone.get_default_timezone()


def by_weekday(day: dt.date) -> bool:
    """The weekday rule: Monday to Friday work."""
    return day.isoweekday() <= 5


# --- one year's running totals ------------------------------------------------------------------


@dataclass(frozen=True)
class YearTable:
    """`before[i]`: working days of the year before its day i (len = days in the year + 1)."""

    year: int
    before: tuple[int, ...]
    provisional: bool = False

    @classmethod
    def build(
        cls, year: int, is_working: Callable[[dt.date], bool], *, provisional: bool = False
    ) -> "YearTable":
        first = dt.date(year, 1, 1)
        days = (dt.date(year + 1, 1, 1) - first).days
        flags = (int(is_working(first + dt.timedelta(days=i))) for i in range(days))
        return cls(year, tuple(accumulate(flags, initial=0)), provisional)

    @property
    def working_days(self) -> int:
        return self.before[-1]

    @property
    def working_microseconds(self) -> int:
        return self.before[-1] * DAY_MICROSECONDS

    def works(self, index: int) -> bool:
        return self.before[index + 1] > self.before[index]

    def position(self, local: dt.datetime) -> int:
        """Working microseconds from the year's start to `local` (a moment of this year)."""
        index = local.timetuple().tm_yday - 1
        done = self.before[index] * DAY_MICROSECONDS
        return done + _since_midnight(local) if self.works(index) else done

    def earliest(self, position: int) -> dt.datetime:
        """The first moment at `position` (0 < position ≤ the year's total).

        A position that ends a working day is reached at that day's closing midnight, before
        any non-working day that follows: Friday 16:00 + 8 hours is Saturday 00:00.
        """
        day = -(-position // DAY_MICROSECONDS) - 1
        return self._in_working_day(day, position - day * DAY_MICROSECONDS)

    def latest(self, position: int) -> dt.datetime:
        """The last moment at `position` (0 ≤ position < the year's total).

        Time in non-working days adds nothing, so this stretches over them to the next working
        day's start: from a Saturday, nothing left is Monday 00:00.
        """
        day = position // DAY_MICROSECONDS
        return self._in_working_day(day, position - day * DAY_MICROSECONDS)

    def _in_working_day(self, nth: int, microseconds: int) -> dt.datetime:
        # The nth working day (from 0) is the day where the running total steps to nth + 1.
        index = bisect_left(self.before, nth + 1) - 1
        day = dt.date(self.year, 1, 1) + dt.timedelta(days=index)
        midnight = dt.datetime.combine(day, dt.time.min, tzinfo=local_zone())
        # Wall-clock arithmetic in the zone, as the day's 24 local hours are counted.
        return midnight + dt.timedelta(microseconds=microseconds)


def _since_midnight(local: dt.datetime) -> int:
    seconds = (local.hour * 60 + local.minute) * 60 + local.second
    return seconds * 1_000_000 + local.microsecond


def _microseconds(duration: dt.timedelta) -> int:
    return duration // dt.timedelta(microseconds=1)


def _local(moment: dt.datetime) -> dt.datetime:
    if timezone.is_naive(moment):
        raise ValueError("Clock arithmetic needs an aware datetime.")
    return moment.astimezone(local_zone())


# --- calendars ----------------------------------------------------------------------------------


class Calendar(Protocol):
    def is_working_day(self, day: dt.date) -> bool: ...


class WorkingCalendar:
    """A calendar counted by year tables, each built once per calendar.

    A provisional year (one without official data) logs a warning the first time this calendar
    reads it: a clock must never raise for a future year, but it must not pass silently either.
    """

    def __init__(self) -> None:
        self._tables: dict[int, YearTable] = {}
        self.provisional_years: set[int] = set()

    def year(self, year: int) -> YearTable:
        table = self._tables.get(year)
        if table is None:
            table = self._tables[year] = self._table(year)
            if table.provisional:
                self.provisional_years.add(year)
                logger.warning(
                    "No official working-day calendar for %s: counting Monday–Friday as working "
                    "days (provisional). Load it with `manage.py load_calendar`.",
                    year,
                )
        return table

    def is_working_day(self, day: dt.date) -> bool:
        return self.year(day.year).works(day.timetuple().tm_yday - 1)

    def _table(self, year: int) -> YearTable:
        raise NotImplementedError


@lru_cache(maxsize=256)
def _weekday_year(year: int) -> YearTable:
    return YearTable.build(year, by_weekday)


@lru_cache(maxsize=256)
def _natural_year(year: int) -> YearTable:
    return YearTable.build(year, lambda day: True)


@lru_cache(maxsize=256)
def _idle_year(year: int) -> YearTable:
    return YearTable.build(year, lambda day: False)


class WeekendCalendar(WorkingCalendar):
    """Monday to Friday work, weekends off: the fallback for years without official data."""

    def _table(self, year: int) -> YearTable:
        return _weekday_year(year)


class NaturalDaysCalendar(WorkingCalendar):
    """Every day counts (the natural-days policy)."""

    def _table(self, year: int) -> YearTable:
        return _natural_year(year)


def exception_year(year: int, exceptions: dict[dt.date, bool], covered: bool) -> YearTable:
    """The weekday rule plus the year's exceptions; provisional unless the year is covered."""
    return YearTable.build(
        year, lambda day: exceptions.get(day, by_weekday(day)), provisional=not covered
    )


class ExceptionCalendar(WorkingCalendar):
    """The weekday rule plus a table of exceptions, loaded one year at a time on demand.

    `load_year(year)` returns ({date: is_working}, covered); a year that is not covered falls
    back to the weekday rule (with its exceptions, if any) and is provisional.
    """

    def __init__(self, load_year: Callable[[int], tuple[dict[dt.date, bool], bool]]):
        super().__init__()
        self._load_year = load_year

    def _table(self, year: int) -> YearTable:
        return exception_year(year, *self._load_year(year))


class _DayByDay(WorkingCalendar):
    """Any object that answers `is_working_day`, asked once per day of each year it counts."""

    def __init__(self, calendar: Calendar):
        super().__init__()
        self._calendar = calendar

    def _table(self, year: int) -> YearTable:
        return YearTable.build(year, self._calendar.is_working_day)


_adapted: "weakref.WeakKeyDictionary[object, WorkingCalendar]" = weakref.WeakKeyDictionary()


def _counting(calendar: Calendar) -> WorkingCalendar:
    if isinstance(calendar, WorkingCalendar):
        return calendar
    try:
        adapted = _adapted.get(calendar)
        if adapted is None:
            adapted = _adapted[calendar] = _DayByDay(calendar)
    except TypeError:  # not weakly referable: counted afresh each time
        adapted = _DayByDay(calendar)
    return adapted


# --- the statutory calendar, kept per process ---------------------------------------------------

_VERSION_KEY = "working_time:calendar_version"


class _Store:
    """The calendar tables as last read, and the version stamp they were read under."""

    def __init__(self, stamp=None):
        self.stamp = stamp
        self.rows: _Rows | None = None
        self.tables: dict[int, YearTable] = {}

    def table(self, year: int) -> YearTable:
        table = self.tables.get(year)
        if table is None:
            rows = self._rows()
            table = exception_year(year, rows.exceptions.get(year, {}), year in rows.official)
            self.tables[year] = table
        return table

    def settled(self, year: int) -> bool:
        return year in self._rows().settled

    def first_year(self) -> int | None:
        return self._rows().first_year

    def _rows(self) -> "_Rows":
        if self.rows is None:
            from requests_app.models import CalendarDay, CalendarYear

            # The whole table in two queries: a few hundred rows, whatever the span counted.
            exceptions: dict[int, dict[dt.date, bool]] = {}
            for day, is_working in CalendarDay.objects.values_list("date", "is_working"):
                exceptions.setdefault(day.year, {})[day] = is_working
            years = list(
                CalendarYear.objects.values_list("year", "provisional", "fallback_confirmed_at")
            )
            official = frozenset(year for year, provisional, _ in years if not provisional)
            confirmed = frozenset(year for year, _, at in years if at is not None)
            known = [year for year, _, _ in years] + list(exceptions)
            self.rows = _Rows(exceptions, official, official | confirmed, min(known, default=None))
        return self.rows


@dataclass(frozen=True)
class _Rows:
    exceptions: dict[int, dict[dt.date, bool]]
    official: frozenset[int]
    settled: frozenset[int]  # official, or the fallback confirmed by an administrator
    first_year: int | None  # the first year the table says anything about


_store = _Store()


class StatutoryCalendar(WorkingCalendar):
    """The working-day table admins keep (holidays, make-up days), read from the process store."""

    def __init__(self, store: _Store):
        super().__init__()
        self._store = store

    def _table(self, year: int) -> YearTable:
        return self._store.table(year)


def _current_store() -> _Store:
    """This process's store, replaced when another process changed the calendar since."""
    global _store
    stamp = cache.get(_VERSION_KEY)
    if stamp != _store.stamp:
        _store = _Store(stamp)
    return _store


def statutory_calendar() -> StatutoryCalendar:
    """The database's working-day calendar, re-read if another process changed it since."""
    return StatutoryCalendar(_current_store())


def is_official_year(year: int) -> bool:
    """Whether the statutory calendar holds official data for `year` (as the clocks count it).

    A question, not a count: it logs no "provisional" warning (`/health/` asks it every poll).
    """
    return not statutory_calendar()._table(year).provisional


def is_settled_year(year: int) -> bool:
    """Whether the clocks may act on `year`'s days: its schedule is official, or an administrator
    confirmed the Monday–Friday fallback for it (`CalendarYear.fallback_confirmed_at`).

    Read from the same per-process copy as the calendar itself (no query once it is read), and
    forgotten with it by `calendar_changed()`.
    """
    return _current_store().settled(year)


def unsettled_years(until: int) -> list[int]:
    """The years up to `until` that are not settled, from the first year the calendar table
    holds (no clock of the portal ran before it; with an empty table, from `until`)."""
    store = _current_store()
    first = store.first_year()
    first = until if first is None else min(first, until)
    return [year for year in range(first, until + 1) if not store.settled(year)]


class SettledBound(WorkingCalendar):
    """The statutory calendar with every unsettled year counted as all working days
    (`unsettled_work=True`) or none: the two bounds of whatever that year's schedule turns
    out to be. A moment counted on both bounds alike does not depend on the unsettled years.

    Settled years count as the clocks count them (a confirmed fallback: Monday–Friday and any
    stored exceptions), without the "provisional" warning: a bound is a question, not a clock.
    """

    def __init__(self, *, unsettled_work: bool):
        super().__init__()
        self._store = _current_store()
        self._unsettled = _natural_year if unsettled_work else _idle_year

    def year(self, year: int) -> YearTable:
        table = self._tables.get(year)
        if table is None:
            table = self._tables[year] = self._table(year)
        return table

    def _table(self, year: int) -> YearTable:
        if self._store.settled(year):
            return self._store.table(year)
        return self._unsettled(year)


def forget_calendars() -> None:
    """Drop this process's copy of the calendar table; the next clock reads it again."""
    global _store
    _store = _Store(_store.stamp)


def calendar_changed() -> None:
    """A calendar row changed: forget it here now, and everywhere once the change commits.

    Forgetting at once lets the same transaction count on its own change; the shared stamp
    moves only on commit, so that no other process re-reads the table before the change is
    visible to it (and keeps the old one for good).
    """
    forget_calendars()

    def everywhere() -> None:
        cache.set(_VERSION_KEY, uuid.uuid4().hex, None)
        forget_calendars()

    transaction.on_commit(everywhere)


@receiver(post_save, sender="requests_app.CalendarYear")
@receiver(post_delete, sender="requests_app.CalendarYear")
@receiver(post_save, sender="requests_app.CalendarDay")
@receiver(post_delete, sender="requests_app.CalendarDay")
def _on_calendar_row(**kwargs) -> None:
    calendar_changed()


# --- counting -----------------------------------------------------------------------------------


def working_time_between(start: dt.datetime, end: dt.datetime, calendar: Calendar) -> dt.timedelta:
    """Working time from `start` to `end`; negative when `end` comes first."""
    # Localise first: a naive argument is refused with the clock's own error, not a TypeError.
    first, last = _local(start), _local(end)
    if last < first:
        return -working_time_between(end, start, calendar)
    counting = _counting(calendar)
    total = counting.year(last.year).position(last) - counting.year(first.year).position(first)
    for year in range(first.year, last.year):  # whole years between: one addition each
        total += counting.year(year).working_microseconds
    return dt.timedelta(microseconds=total)


def _forward(counting: WorkingCalendar, year: int, position: int, *, keep_end: bool):
    """(year, position) with the position inside that year, counting whole years forward.

    `keep_end`: a position equal to the year's total stays in it (its last working midnight).
    """
    idle = 0
    while True:
        total = counting.year(year).working_microseconds
        if position < total or (keep_end and position == total):
            return year, position
        position -= total
        year += 1
        idle = 0 if total else idle + 1
        if idle >= MAX_IDLE_YEARS:
            raise ValueError(NO_WORKING_DAYS)


def add_working_time(start: dt.datetime, duration: dt.timedelta, calendar: Calendar) -> dt.datetime:
    """The moment `duration` of working time after `start`.

    Friday 16:00 + 1 day = Monday 16:00; Saturday 10:00 + 1 day = Tuesday 00:00.
    """
    if duration < dt.timedelta(0):
        raise ValueError("duration must not be negative")
    if not duration:
        # Nothing to add still waits for working time: from a Saturday, Monday 00:00.
        return working_horizon(start, duration, calendar)
    counting, local = _counting(calendar), _local(start)
    position = counting.year(local.year).position(local) + _microseconds(duration)
    year, position = _forward(counting, local.year, position, keep_end=True)
    return counting.year(year).earliest(position)


def working_horizon(now: dt.datetime, left: dt.timedelta, calendar: Calendar) -> dt.datetime:
    """The latest moment with at most `left` working time between `now` and it.

    A clock whose due time is at or before this moment has no more than `left` working time
    remaining: the sweep compares stored due times against it in SQL.
    """
    if left < dt.timedelta(0):
        raise ValueError("duration must not be negative")
    counting, local = _counting(calendar), _local(now)
    position = counting.year(local.year).position(local) + _microseconds(left)
    year, position = _forward(counting, local.year, position, keep_end=False)
    return counting.year(year).latest(position)


def subtract_working_time(
    end: dt.datetime, duration: dt.timedelta, calendar: Calendar
) -> dt.datetime:
    """The latest moment with `duration` of working time between it and `end`."""
    if duration < dt.timedelta(0):
        raise ValueError("duration must not be negative")
    local = _local(end)
    if not duration:
        return local  # `end` itself, not the start of a non-working stretch before it
    counting = _counting(calendar)
    year = local.year
    position = counting.year(year).position(local) - _microseconds(duration)
    idle = 0
    while position < 0:
        year -= 1
        total = counting.year(year).working_microseconds
        position += total
        idle = 0 if total else idle + 1
        if idle >= MAX_IDLE_YEARS:
            raise ValueError(NO_WORKING_DAYS)
    return counting.year(year).latest(position)


# --- working seconds since an origin, for reports -----------------------------------------------


@dataclass(frozen=True)
class DayTable:
    """Each day from `first`: working seconds before it (since `first`), and whether it works.

    `utc_offset` is the zone's offset in seconds when it is the same on every one of these days
    (so local days are plain arithmetic on epoch seconds), else None.
    """

    first: dt.date
    before: list[int]
    working: list[bool]
    utc_offset: int | None


class WorkingClock:
    """Working seconds since the local midnight that starts `origin`: a span is a subtraction.

    seconds(b) − seconds(a) == working_time_between(a, b) in whole seconds, for a and b on or
    after the origin.
    """

    def __init__(self, calendar: Calendar, origin: dt.date):
        self.calendar = _counting(calendar)
        self.origin = origin
        table = self.calendar.year(origin.year)
        # Working seconds from the origin to the start of each year, memoised as they are met.
        start = table.before[origin.timetuple().tm_yday - 1]
        self._year_starts = {origin.year: -start * DAY_SECONDS}

    def _year_start(self, year: int) -> int:
        known = max(y for y in self._year_starts if y <= year)
        while known < year:
            self._year_starts[known + 1] = (
                self._year_starts[known] + self.calendar.year(known).working_days * DAY_SECONDS
            )
            known += 1
        return self._year_starts[year]

    def seconds(self, moment: dt.datetime) -> int:
        local = _local(moment)
        if local.date() < self.origin:
            raise ValueError("moment before the clock's origin")
        position = self.calendar.year(local.year).position(local)
        return self._year_start(local.year) + position // 1_000_000

    def hours_between(self, start: dt.datetime, end: dt.datetime) -> float:
        return max(0, self.seconds(end) - self.seconds(start)) / 3600

    def table(self, until: dt.date) -> DayTable:
        """The day table from the origin to `until`, for a query to count in SQL."""
        before, working = [], []
        day = self.origin
        while day <= until:
            year = self.calendar.year(day.year)
            index = day.timetuple().tm_yday - 1
            before.append(self._year_start(day.year) + year.before[index] * DAY_SECONDS)
            working.append(year.works(index))
            day += DAY
        return DayTable(self.origin, before, working, _steady_offset(self.origin, until))


def _steady_offset(first: dt.date, last: dt.date) -> int | None:
    zone = local_zone()
    offsets = {
        dt.datetime.combine(first + dt.timedelta(days=i), dt.time.min, tzinfo=zone).utcoffset()
        for i in range((last - first).days + 2)  # the midnight that ends `last` too
    }
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return int(offset.total_seconds()) if offset is not None else None
