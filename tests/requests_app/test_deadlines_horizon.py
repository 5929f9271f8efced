"""The two inverse clock functions the sweep relies on, checked against working_time_between.

`working_horizon(now, left)` is the latest moment with at most `left` working time between `now`
and it: a clock due at or before it has no more than `left` left (the fraction rules).
`subtract_working_time(end, d)` is the latest moment with `d` of working time between it and
`end`: a clock due at or before it breached at least `d` ago (the after-breach rules).
`working_time_between` is the oracle. Times are Asia/Shanghai wall-clock times on the calendar
the data migration loads (holidays and make-up working days, 调休).
"""

import datetime as dt
import random

import pytest

from requests_app.working_time import (
    subtract_working_time,
    working_horizon,
    working_time_between,
)
from tests.conftest import at

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)
TICK = dt.timedelta(microseconds=1)


# 2025-03-14 is a Friday; 2026-10-01..07 is National Day, 2026-10-10 (Saturday) and 2026-09-20
# (Sunday) are its make-up working days, 2026-10-11 is an ordinary Sunday off.
HORIZON_CASES = [
    # now, left, horizon, why
    ("2025-03-12 10:00", 6 * HOUR, "2025-03-12 16:00", "a plain Wednesday"),
    ("2025-03-12 10:00", 0 * HOUR, "2025-03-12 10:00", "nothing left: now itself"),
    ("2025-03-15 10:00", 0 * HOUR, "2025-03-17 00:00", "nothing left on a Saturday: Monday 00:00"),
    ("2025-03-15 10:00", 6 * HOUR, "2025-03-17 06:00", "from a Saturday"),
    ("2025-03-14 18:00", 6 * HOUR, "2025-03-17 00:00", "ends at Friday midnight: + the weekend"),
    ("2025-03-14 18:00", 6 * HOUR + TICK, "2025-03-17 00:00:00.000001", "one tick past it"),
    ("2026-09-30 21:00", 6 * HOUR, "2026-10-08 03:00", "across National Day"),
    ("2026-09-30 18:00", 6 * HOUR, "2026-10-08 00:00", "to the eve of National Day: stretched"),
    ("2026-10-09 20:00", 6 * HOUR, "2026-10-10 02:00", "into the make-up Saturday"),
    ("2026-10-10 18:00", 6 * HOUR, "2026-10-12 00:00", "make-up Saturday, then Sunday off"),
    ("2026-09-19 12:00", 6 * HOUR, "2026-09-20 06:00", "a Saturday off, then the make-up Sunday"),
    # The answer reminder of the default ladder: 3 days × (1 − 0.667) = 23 h 58 min 33.6 s left.
    ("2026-10-09 09:01:26.4", 3 * DAY * (1 - 0.667), "2026-10-10 09:00", "the 2/3 answer reminder"),
]


@pytest.mark.parametrize(
    "now, left, horizon, why", HORIZON_CASES, ids=[case[3] for case in HORIZON_CASES]
)
def test_working_horizon_table(statutory, now, left, horizon, why):
    result = working_horizon(at(now), left, statutory)
    assert result == at(horizon)
    assert working_time_between(at(now), result, statutory) == left
    # The latest such moment: one tick later there is more working time than `left`.
    assert working_time_between(at(now), result + TICK, statutory) > left


SUBTRACT_CASES = [
    # end, duration, start, why
    ("2025-03-17 10:00", 10 * HOUR, "2025-03-17 00:00", "back to Monday 00:00 exactly"),
    ("2025-03-17 10:00", 11 * HOUR, "2025-03-14 23:00", "one hour more: over the weekend"),
    ("2025-03-15 10:00", DAY, "2025-03-14 00:00", "from a Saturday"),
    ("2025-03-17 00:00", DAY, "2025-03-14 00:00", "from Monday midnight"),
    ("2025-03-17 00:00", 0 * DAY, "2025-03-17 00:00", "nothing to subtract: end itself"),
    ("2025-03-16 12:00", 0 * DAY, "2025-03-16 12:00", "nothing to subtract on a Sunday"),
    ("2026-10-08 09:00", DAY, "2026-09-30 09:00", "back over National Day"),
    ("2026-10-12 09:00", DAY, "2026-10-10 09:00", "back to the make-up Saturday"),
    ("2026-10-12 00:00", DAY, "2026-10-10 00:00", "the make-up Saturday is a whole day"),
    ("2026-09-21 03:00", DAY, "2026-09-20 03:00", "back into the make-up Sunday"),
]


@pytest.mark.parametrize(
    "end, duration, start, why", SUBTRACT_CASES, ids=[case[3] for case in SUBTRACT_CASES]
)
def test_subtract_working_time_table(statutory, end, duration, start, why):
    result = subtract_working_time(at(end), duration, statutory)
    assert result == at(start)
    assert working_time_between(result, at(end), statutory) == duration
    if result < at(end):  # the latest such moment: one tick later there is less working time
        assert working_time_between(result + TICK, at(end), statutory) < duration


def test_subtract_refuses_a_negative_duration(statutory):
    with pytest.raises(ValueError):
        subtract_working_time(at("2025-03-17 10:00"), -HOUR, statutory)


# --- randomized property check -------------------------------------------------------------------

SEED = 20261001
CASES = 300
SPAN_START = at("2025-01-01 00:00")  # both years are in the official calendar
SPAN_DAYS = 700


def _moment(rng: random.Random) -> dt.datetime:
    """A random moment; a third of them on a midnight or a whole hour, where the edges are."""
    moment = SPAN_START + dt.timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
    snap = rng.random()
    if snap < 0.2:
        return moment.replace(hour=0, minute=0, second=0)
    if snap < 0.35:
        return moment.replace(minute=0, second=0)
    return moment


def _duration(rng: random.Random) -> dt.timedelta:
    choice = rng.random()
    if choice < 0.1:
        return dt.timedelta(0)
    if choice < 0.4:
        return rng.randint(1, 10) * DAY
    if choice < 0.6:
        return rng.randint(1, 72) * HOUR
    return dt.timedelta(seconds=rng.randrange(1, 6 * 86400))


def test_working_horizon_agrees_with_working_time_between(statutory):
    """due <= horizon(now, left)  ⇔  working_time_between(now, due) <= left, for any due."""
    rng = random.Random(SEED)
    for _ in range(CASES):
        now, left = _moment(rng), _duration(rng)
        horizon = working_horizon(now, left, statutory)
        context = (now, left, horizon)
        assert horizon >= now, context
        assert working_time_between(now, horizon, statutory) == left, context
        assert working_time_between(now, horizon + TICK, statutory) > left, context
        for _ in range(5):
            due = now + dt.timedelta(seconds=rng.randrange(-2 * 86400, 15 * 86400))
            if rng.random() < 0.2:
                due = horizon + rng.choice([-TICK, dt.timedelta(0), TICK])
            expected = working_time_between(now, due, statutory) <= left
            assert (due <= horizon) == expected, (*context, due)


def test_subtract_working_time_agrees_with_working_time_between(statutory):
    """t <= subtract(end, d)  ⇔  working_time_between(t, end) >= d, for any t up to `end`."""
    rng = random.Random(SEED + 1)
    for _ in range(CASES):
        end, duration = _moment(rng), _duration(rng)
        start = subtract_working_time(end, duration, statutory)
        context = (end, duration, start)
        assert start <= end, context
        assert working_time_between(start, end, statutory) == duration, context
        if start < end:
            assert working_time_between(start + TICK, end, statutory) < duration, context
        for _ in range(5):
            moment = end - dt.timedelta(seconds=rng.randrange(0, 15 * 86400))
            if rng.random() < 0.2:
                moment = min(end, start + rng.choice([-TICK, dt.timedelta(0), TICK]))
            expected = working_time_between(moment, end, statutory) >= duration
            assert (moment <= start) == expected, (*context, moment)
