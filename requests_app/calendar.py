"""The calendar service: reading a year's working-day exceptions, and an admin loading a year.

Loading a year (from a list of days, the State Council's notice or a CSV file) replaces its
exceptions, marks it official and re-bases the running clocks the change moves. A clock is
re-based by replaying it from the moment it last (re)started: the working time it was given
there, counted on the old calendar, is added again on the new one. Each moved clock gets a
`clock_rebased` event. The API, the admin's calendar page and `manage.py load_calendar --file`
all load through `load_year`. An admin may instead accept the Monday–Friday fallback for a year
(`confirm_fallback`); from November, admins are warned while next year is neither loaded nor
accepted (`unsettled_next_year` for the banner, `warn_of_unsettled_year` for the inbox).
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotPermitted
from notifications import messages
from notifications.models import Kind, Notification
from officials.models import Role, User
from requests_app.calendar_csv import read_days
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
    is_settled_year,
    local_zone,
    working_time_between,
)

FIRST_YEAR, LAST_YEAR = 2000, 2100
REBASE_BATCH = 200
SOURCE_API, SOURCE_ADMIN, SOURCE_FILE = "api", "admin", "file"
# Events after which the answer clock runs afresh from the event's time (see requests_app.changes).
ANSWER_RESTARTS = ("provide_info", "review")


class CalendarInputError(ValueError):
    """Days an admin sent that cannot be loaded; `field` names the input at fault.

    The message is in the active language (the API's caller's, the admin page's reader's).
    """

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


def days_from_csv(text: str, year: int | None = None) -> tuple[int | None, list[Day]]:
    """(the year, its days) from `date,working,name` lines (requests_app.calendar_csv);
    DaysFileError names the line it cannot read."""
    year, days = read_days(text, year)
    return year, [Day(day.date, day.working, day.name) for day in days]


def exceptions_only(days: Iterable[Day], year: int) -> list[Day]:
    """The days that break the weekday rule, checked: all in `year`, none said twice otherwise."""
    chosen: dict[dt.date, Day] = {}
    for day in days:
        if day.date.year != year:
            raise CalendarInputError(
                "days", _("%(date)s is not in %(year)s.") % {"date": day.date, "year": year}
            )
        earlier = chosen.get(day.date)
        if earlier is not None and earlier.working != day.working:
            raise CalendarInputError(
                "days", _("%(date)s is both a day off and a working day.") % {"date": day.date}
            )
        chosen[day.date] = day
    # A Monday said to be working (or a Sunday off) is the rule itself, not an exception.
    return sorted(day for day in chosen.values() if day.working != by_weekday(day.date))


def load_year(
    year: int, days: list[Day], *, dry_run: bool = False, source: str = SOURCE_API
) -> Loaded:
    """Make `days` the official exceptions of `year` and re-base the clocks it moves.

    `source` is kept on the year (where its days came from: api, admin, file).
    """
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
            _save(year, days, source)
        if replan:
            loaded.moves = _rebase(year, old, new, dry_run=dry_run)
            loaded.rebased = len({move["request"] for move in loaded.moves})
    return loaded


@dataclass(frozen=True)
class DayChange:
    """A day whose kind a load changes: off → working, working → off."""

    date: dt.date
    was_working: bool
    working: bool
    name: str


@dataclass
class Preview:
    """What loading `days` into a year would do, saving nothing: the admin page shows it."""

    loaded: Loaded  # the days that would be stored, the clocks that would move
    official: bool  # the year is official already (the load replaces its days)
    changes: list[DayChange]


def preview_year(year: int, days: list[Day]) -> Preview:
    """The dry run of `load_year`, with the days that differ from the calendar as it stands."""
    official, stored = year_days(year)
    loaded = load_year(year, days, dry_run=True)
    return Preview(loaded, official, changed_days(stored, loaded.days))


def changed_days(stored: list[Day], loaded: list[Day]) -> list[DayChange]:
    """Days whose kind differs between two lists of exceptions (absent: the weekday rule)."""
    old = {day.date: day for day in stored}
    new = {day.date: day for day in loaded}
    changes = []
    for date in sorted(old.keys() | new.keys()):
        was = old[date].working if date in old else by_weekday(date)
        now = new[date].working if date in new else by_weekday(date)
        if was != now:
            named = new.get(date) or old[date]
            changes.append(DayChange(date, was, now, named.name))
    return changes


def _stored_year(year: int) -> tuple[dict[dt.date, bool], bool]:
    exceptions = dict(CalendarDay.objects.filter(date__year=year).values_list("date", "is_working"))
    return exceptions, is_official_year(year)


def _save(year: int, days: list[Day], source: str) -> None:
    CalendarDay.objects.filter(date__year=year).delete()
    CalendarDay.objects.bulk_create(
        CalendarDay(date=day.date, is_working=day.working, name=day.name[:100]) for day in days
    )
    CalendarYear.objects.update_or_create(
        year=year,
        defaults={"provisional": False, "source": source, "loaded_at": timezone.now()},
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


# --- a year without a published schedule ----------------------------------------------------------

# From this month of each year, the admins are warned while next year is not settled.
WARN_FROM_MONTH = 11


def confirm_fallback(year: int, *, by: User, now: dt.datetime | None = None) -> CalendarYear:
    """An admin accepts Monday–Friday without holidays for `year`, which has no published
    schedule: the escalations and accountability cases the year decides stop waiting and are
    judged on that rule. Who confirmed it and when are kept; confirming again keeps the first.
    """
    if getattr(by, "role", None) != Role.ADMIN:
        raise NotPermitted("Only an admin confirms the calendar fallback.")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CalendarInputError("year", _("No calendar for %(year)s.") % {"year": year})
    now = now or timezone.now()
    with transaction.atomic():
        # A year with no row yet gets one, provisional: the fallback is recorded on it.
        row, _created = CalendarYear.objects.select_for_update().get_or_create(
            year=year, defaults={"provisional": True, "loaded_at": now}
        )
        if not row.provisional:
            raise CalendarInputError(
                "year",
                _("%(year)s has an official calendar: there is no fallback to confirm.")
                % {"year": year},
            )
        if row.fallback_confirmed_at is None:
            row.fallback_confirmed_by, row.fallback_confirmed_at = by, now
            row.save(update_fields=["fallback_confirmed_by", "fallback_confirmed_at"])
            calendar_changed()
    return row


def unsettled_next_year(today: dt.date) -> int | None:
    """Next year from 1 November, while it is neither official nor fallback-confirmed; else None.

    Asked by every admin page view in November and December: answered from the working-time
    cache, which the clocks read anyway (no query once it is read).
    """
    if today.month < WARN_FROM_MONTH:
        return None
    year = today.year + 1
    return None if is_settled_year(year) else year


def calendar_page(year: int) -> str:
    """The admin's page that loads `year` (the notice, the days, the fallback)."""
    from django.urls import reverse

    return reverse("admin:requests_app_calendaryear_load", args=[year])


def warn_of_unsettled_year(now: dt.datetime | None = None) -> int:
    """Tell each active admin, once, that next year's calendar is not loaded; how many were told.

    Run daily by beat: from 1 November until the year is loaded or its fallback confirmed. The
    messages of one year are those sent since its 1 November, so a second run tells nobody again.
    """
    now = now or timezone.now()
    year = unsettled_next_year(timezone.localdate(now))
    if year is None:
        return 0
    since = dt.datetime(year - 1, WARN_FROM_MONTH, 1, tzinfo=local_zone())
    with transaction.atomic():
        # The admins' rows are locked so that two runs at once cannot both tell the same admin.
        admins = list(
            User.objects.select_for_update().filter(role=Role.ADMIN, is_active=True).order_by("pk")
        )
        told = set(
            Notification.objects.filter(
                kind=Kind.CALENDAR_MISSING, recipient__in=admins, created_at__gte=since
            ).values_list("recipient_id", flat=True)
        )
        rows = messages.build(
            [admin for admin in admins if admin.pk not in told],
            Kind.CALENDAR_MISSING.value,
            {"year": year},
            link=calendar_page(year),
            now=now,
        )
        messages.save_and_send(rows)
    return len(rows)
