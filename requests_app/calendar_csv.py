"""Reading a year's working-day exceptions from CSV text: `date,working,name`, one day a line.

The format of `manage.py load_calendar --file` and of the days box on the admin's calendar page:

    date,working,name
    2027-01-01,0,元旦
    2027-02-13,1,春节

`date` is an ISO date (YYYY-MM-DD); `working` is 1 or true for a make-up working day (调休上班),
0 or false for a day off; `name` (the holiday) may be empty. The header line is required; blank
lines are skipped. Every mistake names its line: a reader who fixes the file needs no guessing.

This module only reads text; saving the days and re-basing the clocks is the calendar service's.
"""

import csv
import datetime as dt
import io
from dataclasses import dataclass

from django.utils.translation import gettext as _

HEADER = ("date", "working", "name")
WORKING = {"1": True, "true": True, "0": False, "false": False}


class DaysFileError(ValueError):
    """The text cannot be read; `line` is the 1-based line at fault."""

    def __init__(self, line: int, problem: str):
        super().__init__(_("line %(line)s: %(problem)s") % {"line": line, "problem": problem})
        self.line = line
        self.problem = problem


@dataclass(frozen=True, order=True)
class FileDay:
    date: dt.date
    working: bool
    name: str


def read_days(text: str, year: int | None = None) -> tuple[int | None, list[FileDay]]:
    """(the year, its days) from CSV `text`; every day must be in `year` when it is given,
    else all in one year (None when the text has no days and no year was given)."""
    rows = csv.reader(io.StringIO(text.lstrip("\ufeff")))  # a spreadsheet's byte-order mark
    days: list[FileDay] = []
    seen: dict[dt.date, int] = {}
    header = False
    for row in rows:
        line = rows.line_num
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if not header:
            if tuple(cell.lower() for cell in cells) != HEADER:
                raise DaysFileError(line, _("the first line must be the header date,working,name"))
            header = True
            continue
        day = _day(cells, line)
        year = year or day.date.year
        if day.date.year != year:
            raise DaysFileError(
                line, _("%(date)s is not in %(year)s") % {"date": day.date, "year": year}
            )
        if day.date in seen:
            raise DaysFileError(
                line,
                _("%(date)s is already on line %(other)s")
                % {"date": day.date, "other": seen[day.date]},
            )
        seen[day.date] = line
        days.append(day)
    if not header:
        raise DaysFileError(1, _("the first line must be the header date,working,name"))
    return year, sorted(days)


def _day(cells: list[str], line: int) -> FileDay:
    if len(cells) == 2:
        cells.append("")
    if len(cells) != 3:
        raise DaysFileError(
            line, _("%(count)s values, expected date,working,name") % {"count": len(cells)}
        )
    date, working, name = cells
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise DaysFileError(
            line, _("“%(value)s” is not a date (YYYY-MM-DD)") % {"value": date}
        ) from None
    if working.lower() not in WORKING:
        raise DaysFileError(
            line, _("working must be 1, 0, true or false, not “%(value)s”") % {"value": working}
        )
    if len(name) > 100:
        raise DaysFileError(line, _("the name is longer than 100 characters"))
    return FileDay(day, WORKING[working.lower()], name)
