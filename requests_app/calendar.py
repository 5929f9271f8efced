"""The calendar service: reading a year's working-day exceptions, and an admin loading a year.

Loading a year (from a list of days or the State Council's notice) replaces its exceptions, marks
it official and re-bases the running clocks the change moves. A clock is re-based by replaying
it from the moment it last (re)started: the working time it was given there, counted on the old
calendar, is added again on the new one. Each moved clock gets a `clock_rebased` event.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from requests_app.calendar_notice import parse_notice
from requests_app.deadlines import DeadlinePolicy, sync_deadlines
from requests_app.models import (
    ANSWER_CLOCK_STATUSES,
    CalendarDay,
    CalendarYear,
    ExtensionState,
    ServiceRequest,
    Status,
)
from requests_app.timeline import append_event
from requests_app.working_time import (
    ExceptionCalendar,
    add_working_time,
    by_weekday,
    calendar_changed,
    is_official_year,
    local_zone,
    working_time_between,
)

FIRST_YEAR, LAST_YEAR = 2000, 2100
REBASE_BATCH = 200
SOURCE_API = "api"
# Events after which the answer clock runs afresh from the event's time (see requests_app.changes).
ANSWER_RESTARTS = ("provide_info", "review")


class CalendarInputError(ValueError):
    """Days an admin sent that cannot be loaded; `field` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, order=True)
class Day:
    date: dt.date
    working: bool
    name: str = ""


@dataclass
class Loaded:
    """What loading a year did (or, on a dry run, would do)."""

    year: int
    days: list[Day]
    rebased: int = 0
    moves: list[dict] = field(default_factory=list)


def year_days(year: int) -> tuple[bool, list[Day]]:
    """(official, the stored exceptions of `year`)."""
    official = is_official_year(year)
    rows = CalendarDay.objects.filter(date__year=year).order_by("date")
    return official, [Day(row.date, row.is_working, row.name) for row in rows]


def days_from_notice(text: str, year: int) -> list[Day]:
    """The exceptions a pasted notice announces; NoticeError names the line it cannot read."""
    return [Day(day.date, day.working, day.name) for day in parse_notice(text, year)]


def exceptions_only(days: Iterable[Day], year: int) -> list[Day]:
    """The days that break the weekday rule, checked: all in `year`, none said twice otherwise."""
    chosen: dict[dt.date, Day] = {}
    for day in days:
        if day.date.year != year:
            raise CalendarInputError("days", f"{day.date.isoformat()} is not in {year}.")
        earlier = chosen.get(day.date)
        if earlier is not None and earlier.working != day.working:
            raise CalendarInputError(
                "days", f"{day.date.isoformat()} is both a day off and a working day."
            )
        chosen[day.date] = day
    # A Monday said to be working (or a Sunday off) is the rule itself, not an exception.
    return sorted(day for day in chosen.values() if day.working != by_weekday(day.date))


def load_year(year: int, days: list[Day], *, dry_run: bool = False) -> Loaded:
    """Make `days` the official exceptions of `year` and re-base the clocks it moves."""
    days = exceptions_only(days, year)
    loaded = Loaded(year=year, days=days)
    # Clocks counted in natural days do not read the working-day table: nothing to re-base.
    replan = DeadlinePolicy.from_settings().day_kind != "natural"
    with transaction.atomic():
        old = ExceptionCalendar(_stored_year)
        old.year(year)  # build the year's old table now, before its rows are replaced
        new = ExceptionCalendar(
            lambda y: ({d.date: d.working for d in days}, True) if y == year else _stored_year(y)
        )
        if not dry_run:
            _save(year, days)
        if replan:
            loaded.moves = _rebase(year, old, new, dry_run=dry_run)
            loaded.rebased = len({move["request"] for move in loaded.moves})
    return loaded


def _stored_year(year: int) -> tuple[dict[dt.date, bool], bool]:
    exceptions = dict(CalendarDay.objects.filter(date__year=year).values_list("date", "is_working"))
    return exceptions, is_official_year(year)


def _save(year: int, days: list[Day]) -> None:
    CalendarDay.objects.filter(date__year=year).delete()
    CalendarDay.objects.bulk_create(
        CalendarDay(date=day.date, is_working=day.working, name=day.name[:100]) for day in days
    )
    CalendarYear.objects.update_or_create(
        year=year,
        defaults={"provisional": False, "source": SOURCE_API, "loaded_at": timezone.now()},
    )
    # Bulk writes send no signals: forget the old table here, and everywhere on commit.
    calendar_changed()


# --- re-basing the running clocks ---------------------------------------------------------------


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    zone = local_zone()
    return (
        dt.datetime(year, 1, 1, tzinfo=zone),
        dt.datetime(year + 1, 1, 1, tzinfo=zone),
    )


def _candidates(year: int) -> list[int]:
    """Requests with a running or paused working-time clock whose window may touch `year`."""
    start, end = _year_bounds(year)
    assign = ServiceRequest.objects.filter(status=Status.SUBMITTED, assign_due_at__gte=start)
    answer = ServiceRequest.objects.filter(
        status__in=ANSWER_CLOCK_STATUSES | {Status.INFO_NEEDED}, answer_due_at__gte=start
    ).exclude(extension_state=ExtensionState.APPROVED)  # an extension is a date, not a span
    return sorted(set((assign | answer).filter(submitted_at__lt=end).values_list("pk", flat=True)))


def _rebase(year: int, old, new, *, dry_run: bool) -> list[dict]:
    moves: list[dict] = []
    ids = _candidates(year)
    now = timezone.now()
    for first in range(0, len(ids), REBASE_BATCH):
        batch = ids[first : first + REBASE_BATCH]
        # Locked in id order, as the workflow and the sweep lock: a running sweep waits its turn.
        rows = ServiceRequest.objects.select_for_update(of=("self",)).filter(pk__in=batch)
        for request in rows.order_by("pk"):
            moved = _moves(request, year, old, new)
            if moved and not dry_run:
                _apply(request, moved, now)
            moves += moved
    return moves


def _moves(request: ServiceRequest, year: int, old, new) -> list[dict]:
    start, end = _year_bounds(year)
    moved = []
    for clock, due_field, anchor in _running_clocks(request):
        due = getattr(request, due_field)
        if due is None or anchor is None or due <= anchor or due < start or anchor >= end:
            continue
        given = working_time_between(anchor, due, old)
        rebased = add_working_time(anchor, given, new)
        if rebased != due:
            moved.append(
                {
                    "request": request.pk,
                    "clock": clock,
                    "field": due_field,
                    "old": due,
                    "new": rebased,
                }
            )
    return moved


Running = tuple[str, str, dt.datetime | None]


def _running_clocks(request: ServiceRequest) -> list[Running]:
    """(clock, due field, the moment it last started counting from) of each clock to replay."""
    clocks: list[Running] = []
    if request.status == Status.SUBMITTED:
        clocks.append(("assign", "assign_due_at", request.submitted_at))
    if request.extension_state == ExtensionState.APPROVED:
        return clocks
    if request.status == Status.INFO_NEEDED:
        # Paused: the resume keeps the working time left from the pause, so replay from there.
        clocks.append(("answer", "answer_due_at", request.answer_paused_at))
    elif request.status in ANSWER_CLOCK_STATUSES:
        restarted = (
            request.events.filter(action__in=ANSWER_RESTARTS)
            .order_by("-seq")
            .values_list("created_at", flat=True)
            .first()
        )
        clocks.append(
            ("answer", "answer_due_at", max(filter(None, [request.submitted_at, restarted])))
        )
    return clocks


def _apply(request: ServiceRequest, moved: list[dict], now: dt.datetime) -> None:
    changes = {move["field"]: move["new"] for move in moved}
    ServiceRequest.objects.filter(pk=request.pk).update(**changes)
    for name, value in changes.items():
        setattr(request, name, value)
    sync_deadlines(request)
    for move in moved:
        append_event(
            request,
            action="clock_rebased",
            actor=None,
            now=now,
            from_status=request.status,
            data={
                "clock": move["clock"],
                "old_due_at": timezone.localtime(move["old"]).isoformat(),
                "new_due_at": timezone.localtime(move["new"]).isoformat(),
            },
        )
