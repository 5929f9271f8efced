"""Reading the State Council's holiday notice (国务院办公厅关于某年部分节假日安排的通知) as pasted.

Each year's working-day exceptions are published as a short notice, one line per holiday:

    一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。
    二、春节：2月11日（农历腊月二十四、周四）至19日（农历正月初三、周五）放假调休，共9天。2月14日（周六）、2月20日（周六）上班。

A line that says 放假 or 上班 is a schedule line; every other line (the title, the greeting, the
date of issue) is passed over. Within a schedule line, each clause (between 。 ， and ；) that
says 放假 makes its dates (a range written "A至B", or single days) days off, and each clause
that says 上班 makes its dates make-up working days (调休上班). The parser checks what a
person pasting the notice could get wrong, and names the line: a weekday in brackets that does
not match the date (the notice of another year), a "共N天" that does not match the range, a day
outside the year, a day both off and working, dates with neither 放假 nor 上班.

This module only reads text; saving the days and re-basing the clocks is the calendar service's.
"""

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

WEEKDAYS = "一二三四五六日"

_DATE = (
    r"(?:(?P<{p}year>\d{{4}})\s*年\s*)?"
    r"(?:(?P<{p}month>\d{{1,2}})\s*月\s*)?"
    r"(?P<{p}day>\d{{1,2}})\s*日"
)
# The bracket after a date may hold the lunar date too: （农历腊月二十八、周日）.
_WEEKDAY = r"(?:\s*[（(](?P<{p}note>[^）)]*)[）)])?"
_ONE = re.compile(_DATE.format(p="a_") + _WEEKDAY.format(p="a_"))
_RANGE = re.compile(
    _DATE.format(p="a_")
    + _WEEKDAY.format(p="a_")
    + r"\s*(?:至|到|—|–|-|~|～)\s*"
    + _DATE.format(p="b_")
    + _WEEKDAY.format(p="b_")
)
_TOTAL = re.compile(r"共\s*(\d+)\s*天")
_NAME = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+\s*[、.．]|[（(][一二三四五六七八九十\d]+[）)]|\d+\s*[、.．])?\s*(?P<name>[^：:，,。]{1,20}?)\s*[：:]"
)
_CLAUSES = re.compile(r"[。；;，,]")


class NoticeError(ValueError):
    """The notice cannot be read; `line` is its 1-based line number in the pasted text."""

    def __init__(self, line: int, text: str, problem: str):
        super().__init__(
            _("line %(line)s: %(problem)s — %(text)s")
            % {"line": line, "problem": problem, "text": text.strip()}
        )
        self.line = line
        self.text = text
        self.problem = problem


@dataclass(frozen=True, order=True)
class NoticeDay:
    date: dt.date
    working: bool  # True: a make-up working day (调休上班); False: a day off
    name: str  # the holiday the line is about, as the notice names it


def parse_notice(text: str, year: int) -> list[NoticeDay]:
    """The exceptions to Monday–Friday that `text`, the notice for `year`, announces, by date."""
    days: dict[dt.date, NoticeDay] = {}
    found_any = False
    name = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if "放假" not in line and "上班" not in line:
            continue
        found_any = True
        # A line of make-up days alone ("2月14日（周六）上班。") belongs to the holiday above it.
        name = _holiday_name(line) or name
        for day in _line_days(line, number, year, name):
            if day.date.year != year:
                raise NoticeError(
                    number,
                    line,
                    _("%(date)s is not in %(year)s") % {"date": day.date.isoformat(), "year": year},
                )
            earlier = days.get(day.date)
            if earlier is not None and earlier.working != day.working:
                raise NoticeError(
                    number,
                    line,
                    _("%(date)s is both a day off and a working day")
                    % {"date": day.date.isoformat()},
                )
            days[day.date] = day
    if not found_any:
        raise NoticeError(
            1, text.splitlines()[0] if text.strip() else "", _("no line says 放假 or 上班")
        )
    return sorted(days.values())


def _holiday_name(line: str) -> str:
    match = _NAME.match(line)
    return match.group("name").strip() if match else ""


def _line_days(line: str, number: int, year: int, name: str) -> list[NoticeDay]:
    days: list[NoticeDay] = []
    pending: list[dt.date] = []  # dates whose clause said neither 放假 nor 上班 (yet)
    for sentence in re.split(r"[。；;]", line):
        for clause in _CLAUSES.split(sentence):
            dates = _clause_dates(clause, number, line, year)
            if "上班" in clause:
                days += [NoticeDay(d, True, name) for d in pending + dates]
                pending = []
            elif "放假" in clause:
                days += [NoticeDay(d, False, name) for d in pending + dates]
                pending = []
                _check_total(sentence, dates, number, line)
            else:
                pending += dates
        if pending:
            raise NoticeError(number, line, _("dates without 放假 or 上班"))
    return days


def _clause_dates(clause: str, number: int, line: str, year: int) -> list[dt.date]:
    dates: list[dt.date] = []
    position = 0
    while True:
        ranged = _RANGE.search(clause, position)
        single = _ONE.search(clause, position)
        if single is None:
            return dates
        if ranged is not None and ranged.start() == single.start():
            start = _date(ranged, "a_", number, line, year, month=None)
            end_month = int(ranged.group("b_month") or start.month)
            # "12月31日至1月2日": the range runs into the next year.
            end_year = start.year + (
                (end_month, int(ranged.group("b_day"))) < (start.month, start.day)
            )
            end = _date(ranged, "b_", number, line, end_year, month=start.month)
            if (end - start).days > 31:
                raise NoticeError(number, line, _("a holiday longer than a month"))
            dates += [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]
            position = ranged.end()
        else:
            dates.append(_date(single, "a_", number, line, year, month=None))
            position = single.end()


def _date(match, prefix: str, number: int, line: str, year: int, month: int | None) -> dt.date:
    explicit_year = match.group(prefix + "year")
    explicit_month = match.group(prefix + "month")
    month = int(explicit_month) if explicit_month else month
    if month is None:
        raise NoticeError(number, line, _("a day without its month"))
    try:
        day = dt.date(
            int(explicit_year) if explicit_year else year, month, int(match.group(prefix + "day"))
        )
    except ValueError:
        raise NoticeError(number, line, _("a date that does not exist")) from None
    _check_weekday(day, match.group(prefix + "note") or "", number, line)
    return day


def _check_weekday(day: dt.date, note: str, number: int, line: str) -> None:
    said = re.search(r"(?:周|星期|礼拜)([一二三四五六日天])", note)
    if said is None:
        return
    weekday = WEEKDAYS.index("日" if said.group(1) == "天" else said.group(1))
    if weekday != day.weekday():
        raise NoticeError(
            number,
            line,
            _(
                "%(date)s is a 周%(weekday)s, the notice says 周%(said)s (is this the notice of "
                "another year?)"
            )
            % {"date": day.isoformat(), "weekday": WEEKDAYS[day.weekday()], "said": said.group(1)},
        )


def _check_total(sentence: str, dates: list[dt.date], number: int, line: str) -> None:
    total = _TOTAL.search(sentence)
    if total and dates and int(total.group(1)) != len(dates):
        raise NoticeError(
            number,
            line,
            _("共%(said)s天, but the dates give %(count)s days")
            % {"said": total.group(1), "count": len(dates)},
        )
