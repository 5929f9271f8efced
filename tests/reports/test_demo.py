"""The reports demo: four past quarters for the demo city's bureaus, with flags awarded."""

import io

import time_machine
from django.core.management import call_command

from compliance.models import AccountabilityCase, CaseSource
from portal.demo.reports import PER_BUREAU, QUARTERS, _bureaus, seed_reports_demo
from reports.models import FlagAward, FlagColor
from tests.conftest import at


def test_the_demo_gives_the_dashboard_quarters_ratings_and_flags(db):
    """`seed_demo` runs the reports demo after building the city (on the day it is run)."""
    out = io.StringIO()
    with time_machine.travel(at("2026-11-21 10:00"), tick=False):
        call_command("seed_demo", requests=0, stdout=out)
    bureaus = _bureaus()
    assert len(bureaus) >= 4
    made = PER_BUREAU * QUARTERS * len(bureaus)
    assert f"Reports demo: {made} requests over {QUARTERS} quarters" in out.getvalue()
    quarters = set(FlagAward.objects.values_list("year", "quarter"))
    assert quarters == {(2025, 4), (2026, 1), (2026, 2), (2026, 3)}
    weak = {bureau.pk for bureau in bureaus[-2:]}
    yellow = set(
        FlagAward.objects.filter(color=FlagColor.YELLOW, year=2026, quarter=3).values_list(
            "department_id", flat=True
        )
    )
    assert yellow == weak
    proposed = AccountabilityCase.objects.filter(source=CaseSource.FLAG)
    assert {case.department_id for case in proposed} <= weak
    assert proposed.exists()


def test_without_the_demo_city_it_adds_nothing(db):
    out = io.StringIO()
    assert seed_reports_demo(out) == 0
    assert "nothing added" in out.getvalue()
