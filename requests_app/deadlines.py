"""The clocks of the "133" rule: working-time arithmetic, the calendar it runs on, and due times.

The arithmetic is pure: functions of (start, duration, calendar). A working day contributes all
its 24 local hours, a non-working day none; days are local (Asia/Shanghai) days, times are aware.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)

DAY = dt.timedelta(days=1)
# No real calendar has a year without working days; past this many days the calendar is broken.
_MAX_DAYS_SCANNED = 3660


class Calendar(Protocol):
    def is_working_day(self, day: dt.date) -> bool: ...


class WeekendCalendar:
    """Monday to Friday work, weekends off: the fallback for years without official data."""

    def is_working_day(self, day: dt.date) -> bool:
        return day.isoweekday() <= 5


class NaturalDaysCalendar:
    """Every day counts (the natural-days policy)."""

    def is_working_day(self, day: dt.date) -> bool:
        return True


class ExceptionCalendar:
    """The weekday rule plus a table of exceptions, loaded one year at a time on demand.

    `load_year(year)` returns ({date: is_working}, covered); a year that is not covered falls
    back to the weekday rule and logs a warning: a clock must never raise for a future year, but
    it must not pass silently either.
    """

    def __init__(self, load_year: Callable[[int], tuple[dict[dt.date, bool], bool]]):
        self._load_year = load_year
        self._years: dict[int, dict[dt.date, bool]] = {}
        self.provisional_years: set[int] = set()

    def _exceptions(self, year: int) -> dict[dt.date, bool]:
        if year not in self._years:
            exceptions, covered = self._load_year(year)
            if not covered:
                self.provisional_years.add(year)
                logger.warning(
                    "No official working-day calendar for %s: counting Monday–Friday as working "
                    "days (provisional). Load it with `manage.py load_calendar`.",
                    year,
                )
            self._years[year] = exceptions
        return self._years[year]

    def is_working_day(self, day: dt.date) -> bool:
        exceptions = self._exceptions(day.year)
        if day in exceptions:
            return exceptions[day]
        return day.isoweekday() <= 5


def _local(moment: dt.datetime) -> dt.datetime:
    if timezone.is_naive(moment):
        raise ValueError("Clock arithmetic needs an aware datetime.")
    return timezone.localtime(moment)


def _next_midnight(local: dt.datetime) -> dt.datetime:
    tz = local.tzinfo
    day = local.date() + DAY
    return dt.datetime.combine(day, dt.time.min).replace(tzinfo=tz)


def add_working_time(start: dt.datetime, duration: dt.timedelta, calendar: Calendar) -> dt.datetime:
    """The moment `duration` of working time after `start`.

    Friday 16:00 + 1 day = Monday 16:00; Saturday 10:00 + 1 day = Tuesday 00:00.
    """
    if duration < dt.timedelta(0):
        raise ValueError("duration must not be negative")
    current = _local(start)
    remaining = duration
    for _ in range(_MAX_DAYS_SCANNED):
        midnight = _next_midnight(current)
        if calendar.is_working_day(current.date()):
            available = midnight - current
            if remaining <= available:
                return current + remaining
            remaining -= available
        current = midnight
    raise ValueError("The calendar has no working days in ten years; check the calendar table.")


def working_time_between(start: dt.datetime, end: dt.datetime, calendar: Calendar) -> dt.timedelta:
    """Working time from `start` to `end`; negative when `end` comes first."""
    # Localise first: a naive argument is refused with the clock's own error, not a TypeError.
    current, end = _local(start), _local(end)
    if end < current:
        return -working_time_between(end, current, calendar)
    total = dt.timedelta(0)
    while current < end:
        midnight = _next_midnight(current)
        stop = min(midnight, end)
        if calendar.is_working_day(current.date()):
            total += stop - current
        current = stop
    return total


@dataclass(frozen=True)
class DeadlinePolicy:
    """How long each clock runs, and in which kind of days."""

    assign_days: int = 1
    answer_days: int = 3
    day_kind: str = "working"  # or "natural"

    @classmethod
    def from_settings(cls) -> "DeadlinePolicy":
        return cls(
            assign_days=settings.DEADLINE_ASSIGN_DAYS,
            answer_days=settings.DEADLINE_ANSWER_DAYS,
            day_kind=settings.DEADLINE_DAY_KIND,
        )

    @property
    def assign_duration(self) -> dt.timedelta:
        return self.assign_days * DAY

    @property
    def answer_duration(self) -> dt.timedelta:
        return self.answer_days * DAY


def _load_year_from_db(year: int) -> tuple[dict[dt.date, bool], bool]:
    from requests_app.models import CalendarDay, CalendarYear

    covered = CalendarYear.objects.filter(year=year, provisional=False).exists()
    rows = CalendarDay.objects.filter(date__year=year).values_list("date", "is_working")
    return dict(rows), covered


def calendar_for(policy: DeadlinePolicy) -> Calendar:
    """The calendar a policy counts on: the database's working-day table, or natural days."""
    if policy.day_kind == "natural":
        return NaturalDaysCalendar()
    return ExceptionCalendar(_load_year_from_db)


@dataclass
class Clocks:
    """Everything needed to compute due times for one state change: policy and calendar."""

    policy: DeadlinePolicy
    calendar: Calendar

    @classmethod
    def current(cls) -> "Clocks":
        policy = DeadlinePolicy.from_settings()
        return cls(policy=policy, calendar=calendar_for(policy))

    def assign_due(self, start: dt.datetime) -> dt.datetime:
        return add_working_time(start, self.policy.assign_duration, self.calendar)

    def answer_due(self, start: dt.datetime) -> dt.datetime:
        return add_working_time(start, self.policy.answer_duration, self.calendar)

    def time_left(self, now: dt.datetime, due: dt.datetime) -> dt.timedelta:
        """Working time left on a clock; what a pause keeps."""
        return working_time_between(now, due, self.calendar)

    def resume(self, now: dt.datetime, left: dt.timedelta) -> dt.datetime:
        return add_working_time(now, left, self.calendar)


def working_horizon(now: dt.datetime, left: dt.timedelta, calendar: Calendar) -> dt.datetime:
    """The latest moment with at most `left` working time between `now` and it.

    A clock whose due time is at or before this moment has no more than `left` working time
    remaining: the sweep compares stored due times against it in SQL.
    """
    moment = _local(add_working_time(now, left, calendar))
    # Time in a non-working day adds nothing, so the horizon stretches across such days.
    while not calendar.is_working_day(moment.date()):
        moment = _next_midnight(moment)
    return moment


def subtract_working_time(
    end: dt.datetime, duration: dt.timedelta, calendar: Calendar
) -> dt.datetime:
    """The latest moment with `duration` of working time between it and `end`."""
    if duration < dt.timedelta(0):
        raise ValueError("duration must not be negative")
    current = _local(end)
    if not duration:
        # `end` itself is the latest such moment; the loop below would first step back over
        # any non-working stretch before `end` and answer the start of it.
        return current
    remaining = duration
    for _ in range(_MAX_DAYS_SCANNED):
        day_start = dt.datetime.combine(current.date(), dt.time.min).replace(tzinfo=current.tzinfo)
        if day_start == current:
            day_start = dt.datetime.combine(current.date() - DAY, dt.time.min).replace(
                tzinfo=current.tzinfo
            )
        if calendar.is_working_day(day_start.date()):
            available = current - day_start
            if remaining <= available:
                return current - remaining
            remaining -= available
        current = day_start
    raise ValueError("The calendar has no working days in ten years; check the calendar table.")


def deadline_rows(request) -> dict[str, dict]:
    """The sweep's view of each clock of `request`, from its stored fields (pure)."""
    from requests_app.models import ANSWER_CLOCK_STATUSES, ExtensionState, Status

    paused = request.status == Status.INFO_NEEDED
    # A clock that ran out before its pause still escalates (a sweep may have been down then).
    breached_before_pause = bool(
        paused
        and request.answer_due_at
        and request.answer_paused_at
        and request.answer_due_at < request.answer_paused_at
    )
    answering = request.status in ANSWER_CLOCK_STATUSES or breached_before_pause
    approved = request.extension_state == ExtensionState.APPROVED
    return {
        "assign": {
            "due_at": request.assign_due_at,
            "cycle": 0,
            "paused": False,
            "running": request.status == Status.SUBMITTED,
        },
        "answer": {
            "due_at": request.answer_due_at,
            "cycle": request.reopen_count,
            "paused": paused,
            "running": answering and not approved,
        },
        "extension": {
            "due_at": request.answer_due_at,
            "cycle": request.reopen_count,
            "paused": paused,
            "running": answering and approved,
        },
    }


def sync_deadlines(request) -> None:
    """Bring the request's Deadline rows in step with it; called by every workflow change."""
    from requests_app.models import Deadline

    existing = {row.clock: row for row in Deadline.objects.filter(request=request)}
    for clock, wanted in deadline_rows(request).items():
        row = existing.get(clock)
        if wanted["due_at"] is None:
            continue
        if row is None:
            if wanted["running"]:
                Deadline.objects.create(request=request, clock=clock, **wanted)
            continue
        changes = {key: value for key, value in wanted.items() if getattr(row, key) != value}
        if "cycle" in changes:
            changes["stage"] = 0  # a new cycle (reopened) climbs the ladder afresh
        if changes:
            Deadline.objects.filter(pk=row.pk).update(**changes)
