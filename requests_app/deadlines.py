"""The clocks of the "133" rule: how long each clock runs, on which calendar, and due times.

Working time itself is counted in requests_app.working_time; this module decides what is counted.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from requests_app.working_time import (
    Calendar,
    NaturalDaysCalendar,
    add_working_time,
    statutory_calendar,
    working_time_between,
)

DAY = dt.timedelta(days=1)


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


def calendar_for(policy: DeadlinePolicy) -> Calendar:
    """The calendar a policy counts on: the database's working-day table, or natural days."""
    if policy.day_kind == "natural":
        return NaturalDaysCalendar()
    return statutory_calendar()


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


# The enterprise may dispute a close made on a liaison's follow-up call (回访) for this long.
DISPUTE_DAYS = 5


def dispute_until(closed_at: dt.datetime, clocks: Clocks | None = None) -> dt.datetime:
    """The last moment the enterprise may dispute a close made on a liaison's follow-up call:
    DISPUTE_DAYS working days (the policy's kind of days) after the close."""
    clocks = clocks or Clocks.current()
    return add_working_time(closed_at, DISPUTE_DAYS * DAY, clocks.calendar)


def deadline_rows(request) -> dict[str, dict]:
    """The sweep's view of each clock of `request`, from its stored fields (pure)."""
    from requests_app.models import (
        ANSWER_CLOCK_STATUSES,
        PAUSED_AFTER_BREACH,
        ExtensionState,
        Status,
    )

    paused = request.status == Status.INFO_NEEDED
    # A clock that ran out before its pause still escalates (a sweep may have been down then).
    breached_before_pause = PAUSED_AFTER_BREACH.holds(request, now=None)
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
