"""`manage.py load_calendar --file`: a year from a CSV file, through the calendar service.

A bad line stops the load with its line number and a non-zero exit, and nothing is saved; the
years chinesecalendar knows still load as before, and a year it does not know is refused with
the three ways to load it.
"""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from requests_app.management.commands.load_calendar import Command
from requests_app.models import CalendarDay, CalendarYear
from tests.conftest import at
from tests.factories import ServiceRequestFactory

pytestmark = pytest.mark.django_db

GOOD = """date,working,name
2027-01-01,0,元旦
2027-02-05,0,春节
2027-02-08,false,春节

2027-02-13,1,春节
2027-02-14,TRUE,
2027-01-04,1,a Monday worked: the rule itself
"""


def stored(year: int) -> list[tuple[dt.date, bool]]:
    return list(CalendarDay.objects.filter(date__year=year).values_list("date", "is_working"))


def load(tmp_path, text: str, *args: str) -> str:
    path = tmp_path / "calendar.csv"
    path.write_text(text, encoding="utf-8")
    out = StringIO()
    call_command("load_calendar", "--file", str(path), *args, stdout=out)
    return out.getvalue()


def test_a_file_loads_its_year_and_rebases_the_running_clocks(cast, tmp_path):
    with time_machine.travel(at("2026-12-31 17:00"), tick=False):
        request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    assert request.assign_due_at == at("2027-01-01 17:00")  # New Year's Day counted
    with time_machine.travel(at("2026-12-31 18:00"), tick=False):
        out = load(tmp_path, GOOD)
    assert "Loaded 2027" in out and "3 weekdays off and 2 make-up working days" in out
    assert "1 running requests re-based" in out
    assert stored(2027) == [
        (dt.date(2027, 1, 1), False),
        (dt.date(2027, 2, 5), False),
        (dt.date(2027, 2, 8), False),
        (dt.date(2027, 2, 13), True),
        (dt.date(2027, 2, 14), True),
    ]
    year = CalendarYear.objects.get(year=2027)
    assert (year.provisional, year.source) == (False, "file")
    request.refresh_from_db()
    assert request.assign_due_at == at("2027-01-04 17:00")
    assert request.events.filter(action="clock_rebased").exists()


def test_the_year_may_be_given_and_a_spreadsheets_bom_is_skipped(tmp_path):
    text = "\ufeffDate,Working,Name\r\n2027-10-01,0,国庆节\r\n2027-10-04,1,the rule\r\n"
    out = load(tmp_path, text, "--year", "2027")
    assert "Loaded 2027" in out
    # A Monday said to be working is the weekday rule itself: not stored as an exception.
    assert stored(2027) == [(dt.date(2027, 10, 1), False)]
    assert CalendarDay.objects.get(date=dt.date(2027, 10, 1)).name == "国庆节"


def test_a_dry_run_saves_nothing(tmp_path):
    out = load(tmp_path, GOOD, "--dry-run")
    assert "Dry run, nothing saved" in out and "0 running requests would be re-based" in out
    assert stored(2027) == [] and not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        (GOOD.replace("2027-02-13,1", "2027-02-30,1"), [], "line 6: “2027-02-30” is not a date"),
        (GOOD.replace("2027-02-05,0", "2027-02-05,yes"), [], "line 3: working must be 1, 0"),
        (GOOD.replace("2027-02-14,TRUE,", "2028-02-14,1,春节"), [], "line 7: 2028-02-14 is not in"),
        (GOOD, ["--year", "2028"], "line 2: 2027-01-01 is not in 2028"),
        (GOOD + "2027-01-01,1,again\n", [], "line 9: 2027-01-01 is already on line 2"),
        (GOOD.replace("2027-02-05,0,春节", "2027-02-05,0,春节,extra"), [], "line 3: 4 values"),
        (GOOD.replace("date,working,name\n", ""), [], "line 1: the first line must be the header"),
        ("", [], "line 1: the first line must be the header"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_saved(tmp_path, text, args, message):
    with pytest.raises(CommandError) as refused:
        load(tmp_path, text, *args)
    assert message in str(refused.value), refused.value
    assert "nothing was saved" in str(refused.value)
    assert stored(2027) == [] and stored(2028) == []
    assert not CalendarYear.objects.filter(year__in=[2027, 2028]).exists()


def test_a_bad_line_exits_non_zero(tmp_path, capsys, monkeypatch):
    # As `manage.py` runs it; its closing of every connection would close the test's own.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    path = tmp_path / "bad.csv"
    path.write_text("date,working,name\n2027-01-01,maybe,元旦\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "load_calendar", "--file", str(path)])
    assert exited.value.code != 0
    assert "line 2" in capsys.readouterr().err
    assert stored(2027) == []


def test_a_file_without_days_needs_the_year(tmp_path):
    with pytest.raises(CommandError, match="--year"):
        load(tmp_path, "date,working,name\n")


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("load_calendar", "--file", str(tmp_path / "missing.csv"))


def test_the_file_and_years_do_not_mix(tmp_path):
    with pytest.raises(CommandError, match="not both"):
        call_command("load_calendar", "2026", "--file", str(tmp_path / "x.csv"))
    with pytest.raises(CommandError, match="go with --file"):
        call_command("load_calendar", "--year", "2027")


def test_the_help_documents_the_format():
    text = Command().create_parser("manage.py", "load_calendar").format_help()
    assert "date,working,name" in text
    assert "1 or true" in text and "0 or false" in text and "YYYY-MM-DD" in text


# --- from chinesecalendar, as before ------------------------------------------------------------


def test_a_year_chinesecalendar_knows_still_loads():
    CalendarDay.objects.filter(date__year=2026).delete()
    out = StringIO()
    call_command("load_calendar", "2026", stdout=out)
    assert "Loaded 1 years" in out.getvalue()
    assert (dt.date(2026, 1, 1), False) in stored(2026)
    assert CalendarYear.objects.get(year=2026).source == "chinesecalendar"


def test_a_year_without_data_is_refused_with_the_three_ways_to_load_it():
    with pytest.raises(CommandError) as refused:
        call_command("load_calendar", "2031")
    message = str(refused.value)
    assert "chinesecalendar has no data for 2031" in message
    assert "/admin/requests_app/calendaryear/2031/load/" in message  # the admin page
    assert "PUT /api/v1/calendar/2031/" in message  # the API
    assert "load_calendar --file" in message  # a CSV file
    assert not CalendarYear.objects.filter(year=2031).exists()
