"""Firings that wait for a year's calendar: what the sweep may not decide on an unsettled year.

A year is *settled* when the clocks may act on its days (`working_time.is_settled_year`): its
schedule is official (loaded from the State Council's notice), or an administrator confirmed the
Monday–Friday fallback for it. An unsettled year is still counted, on the fallback, so that every
clock has a due time; but no escalation and no accountability case fires on it.

A firing is *decided by* a year when whether the clock has reached the rule's moment depends on
how that year's days are counted. Two things can depend on it:

1. The due time. An assign or answer clock's due time was placed by counting its working time
   forward from the clock's (last) start, through every day up to the due time. A clock that
   counted through an unsettled year Y has a due time after Y began and at most one clock's length
   of working time after Y ended: in (start of Y, end of Y + the clock's duration]. Such a due
   time waits (the ranges of consecutive unsettled years join up). An approved extension's due
   time is a date people agreed on, not counted: no year places it.
2. The rule's threshold. A rule that fires some working days after the breach, or at a fraction
   of the clock, compares the due time with a moment counted back (or forward) from now. It fires
   only on clocks that have reached that moment whatever the unsettled years turn out to be:
   counted with their days all off (after the breach: the threshold furthest back) and all
   working (a fraction: the nearest horizon) — the two bounds of any schedule. A breach rule
   fires at the due time itself: no year decides its threshold.

Reminders are not held: they go out on the fallback and undo nothing. But an escalation or
accountability rung that waits holds the rungs above it on the same clock too, a reminder set
above it included: a deadline climbs its clock's ladder in order (`Deadline.stage`), and a higher
rung firing first would climb past the one that waits, which would then never fire.

A held firing writes nothing (no EscalationFiring row, no climb), so it fires once, later: when
the year is loaded (the load re-bases the running clocks' due times, and the next sweep judges
them on the official days) or its fallback is confirmed (judged on the fallback days).
"""

import datetime as dt
from dataclasses import dataclass

from requests_app.deadlines import Clocks
from requests_app.models import Clock, EscalationAction, EscalationRule, Trigger
from requests_app.working_time import (
    SettledBound,
    add_working_time,
    local_zone,
    unsettled_years,
)

# Due-time ranges (after, until]: a deadline due in one of them waits.
Held = tuple[tuple[dt.datetime, dt.datetime], ...]

# The actions that cannot be taken back: they wait for a settled year. Reminders go out.
DECIDING = frozenset({EscalationAction.ESCALATE, EscalationAction.ACCOUNTABILITY})


@dataclass(frozen=True)
class Waits:
    """The unsettled years as of one sweep, and what they hold of each clock."""

    clocks: Clocks
    held_due: dict[str, Held]  # by clock: the due times an unsettled year placed
    # The clocks on the two bounds of the unsettled years: their days all working, all off.
    working: Clocks
    idle: Clocks
    any: bool = True  # whether any year holds anything

    @classmethod
    def none(cls, clocks: Clocks) -> "Waits":
        return cls(clocks, {}, clocks, clocks, any=False)

    @classmethod
    def as_of(cls, now: dt.datetime, clocks: Clocks) -> "Waits":
        if clocks.policy.day_kind == "natural":
            # Natural days read no working-day table: no year decides anything.
            return cls.none(clocks)
        # A clock that is due for a rule by `now` (or, for a fraction, a clock's length later)
        # was placed no later than next year; years beyond that hold nothing pending.
        years = unsettled_years(now.astimezone(local_zone()).year + 1)
        if not years:
            return cls.none(clocks)
        working = Clocks(clocks.policy, SettledBound(unsettled_work=True))
        held: dict[str, Held] = {
            Clock.ASSIGN: _placed_in(years, clocks.policy.assign_duration, working),
            Clock.ANSWER: _placed_in(years, clocks.policy.answer_duration, working),
        }
        idle = Clocks(clocks.policy, SettledBound(unsettled_work=False))
        return cls(clocks, held, working, idle)

    def held(self, clock: str) -> Held:
        return self.held_due.get(clock, ())

    def bound(self, rule: EscalationRule) -> Clocks:
        """The clocks whose threshold for `rule` holds on any schedule of the unsettled years
        (see the module's note, 2.)."""
        # After the breach, counting back: fewest working days reach furthest back. A fraction
        # counts forward from now: most working days give the nearest horizon.
        return self.idle if rule.trigger == Trigger.AFTER_BREACH else self.working


def _placed_in(years: list[int], duration: dt.timedelta, working: Clocks) -> Held:
    """(after, until] of the due times a clock of `duration` gets when it counts through any of
    `years`; ranges of consecutive years joined into one."""
    zone = local_zone()
    ranges: list[tuple[dt.datetime, dt.datetime]] = []
    for year in years:
        begins = dt.datetime(year, 1, 1, tzinfo=zone)
        ends = dt.datetime(year + 1, 1, 1, tzinfo=zone)
        # Counted on the settled days where the next year is settled; an unsettled next year
        # counts every day, which reaches its own range (it begins where this year ends).
        latest = add_working_time(ends, duration, working.calendar)
        if ranges and ranges[-1][1] >= begins:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], latest))
        else:
            ranges.append((begins, latest))
    return tuple(ranges)
