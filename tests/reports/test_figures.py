"""Every figure of the fixture quarter, worked out by hand (see conftest.py), compared exactly."""

import datetime as dt

import pytest
from django.db import connection

from reports import figures
from reports.figures import Period, percentile
from reports.models import ReportSettings
from reports.selectors import narrow_to_department, quarterly_report, report_scope
from requests_app.working_time import WorkingClock, working_time_between
from tests.conftest import IN_THE_ANALYTIC_PASS, at, planner_settings

Q3 = Period(2026, 3)

CITY = {
    "period": "2026-Q3",
    "received": 6,  # R1–R6
    "closed": 3,  # R1, R2, R5
    "assigned": 4,  # R1, R2, R5, R6
    "answered": 3,  # R1, R2, R5
    "assign_measured": 5,  # the four assigned + R3 (never assigned, breached)
    "assign_on_time": 3,  # R1, R5, R6 (R2 an hour late)
    "answer_measured": 5,  # the three answered + R3 and R6 (clocks breached, running)
    "answer_on_time": 1,  # R1 only: R2's first round and R5's only round came late
    "answered_late": 2,  # R2 (late first round, on-time second), R5
    "late_answer_rounds": 2,  # one each
    "rated": 3,  # R1 (5), R2 (3), R5 (4), all the enterprise's own
    "satisfied": 2,  # 4–5 only: R1, R5
    "rated_follow_up": 0,
    "satisfied_follow_up": 0,
    "reopened": 1,  # R2
    "overdue": 4,  # R2 (late assign), R5 (late answer), R3 and R6 (breached now)
    "resolution_rate": 0.5,
    "assign_on_time_rate": 0.6,
    "answer_on_time_rate": 0.2,  # 1 / 5
    "satisfaction": 0.6667,
    "satisfaction_follow_up": None,  # no follow-up call rated anything
    "reopen_rate": 0.1667,
    # Working hours: assign [2, 3, 6, 25]; first answer [48, 92, 96]; close [72, 98, 138].
    "median_hours_to_assign": 4.5,
    "p90_hours_to_assign": 19.3,
    "median_hours_to_first_answer": 92.0,
    "p90_hours_to_first_answer": 95.2,
    "median_hours_to_close": 98.0,
    "p90_hours_to_close": 130.0,
    "accountability_cases": 2,
    "accountability_cases_decided": 1,
    "findings": {"info": 0, "warning": 1, "violation": 1},
}


def _headline(report: dict) -> dict:
    return {key: report[key] for key in CITY}


def test_every_city_figure_of_the_quarter(cast, quarter):
    report = quarterly_report(report_scope(cast.ada), Q3, now=quarter.now)
    assert _headline(report) == CITY


def test_the_previous_quarter_sits_beside_it(cast, quarter):
    previous = quarterly_report(report_scope(cast.ada), Q3, now=quarter.now)["previous"]
    assert previous["period"] == "2026-Q2"
    assert previous["received"] == 1  # R0
    assert previous["assign_measured"] == previous["overdue"] == 1
    assert previous["assign_on_time_rate"] == 0.0
    assert previous["resolution_rate"] == 0.0
    assert previous["satisfaction"] is None  # nothing rated: nothing measured
    assert previous["accountability_cases"] == 1


def test_by_department(cast, quarter):
    report = quarterly_report(report_scope(cast.ada), Q3, now=quarter.now)
    rows = {row["department"]["name"]: row for row in report["by_department"]}
    assert set(rows) == {cast.roads.name, cast.environment.name, cast.land.name}
    roads, environment, land = (
        rows[cast.roads.name],
        rows[cast.environment.name],
        rows[cast.land.name],
    )
    assert (roads["received"], roads["closed"], roads["overdue"]) == (2, 2, 1)
    assert roads["resolution_rate"] == 1.0
    assert roads["assign_on_time_rate"] == 0.5
    assert roads["answer_on_time_rate"] == 0.5  # R1; R2 had a late round
    assert (roads["answered_late"], roads["late_answer_rounds"]) == (1, 1)
    assert roads["satisfaction"] == 0.5
    assert roads["reopen_rate"] == 0.5
    assert roads["median_hours_to_assign"] == 15.5  # (6 + 25) / 2
    assert (environment["assign_on_time_rate"], environment["answer_on_time_rate"]) == (1.0, 0.0)
    assert environment["median_hours_to_close"] == 98.0
    assert (land["received"], land["closed"], land["satisfaction"]) == (1, 0, None)
    assert land["answer_on_time_rate"] == 0.0


def test_by_category_and_region(cast, quarter):
    report = quarterly_report(report_scope(cast.ada), Q3, now=quarter.now)
    by_category = {row["category"]: row["received"] for row in report["by_category"]}
    assert by_category == {"infrastructure": 2, "other": 1, "legal": 1, "environment": 1, "land": 1}
    by_region = {row["region"]: row["received"] for row in report["by_region"]}
    assert by_region == {"gulou": 5, "minhou": 1}


def test_by_month(cast, quarter):
    report = quarterly_report(report_scope(cast.ada), Q3, now=quarter.now)
    assert report["by_month"] == [
        {"month": "2026-07", "received": 3, "closed": 3},
        {"month": "2026-08", "received": 2, "closed": 0},
        {"month": "2026-09", "received": 1, "closed": 0},
    ]


def test_a_rating_of_three_counts_when_the_setting_says_so(cast, quarter):
    settings = ReportSettings.current()
    settings.count_three_as_satisfied = True
    settings.save()
    report = quarterly_report(report_scope(cast.ada), Q3, now=quarter.now)
    assert (report["satisfied"], report["rated"], report["satisfaction"]) == (3, 3, 1.0)


@pytest.mark.parametrize(
    ("who", "received", "cases", "findings"),
    [
        ("ada", 6, 2, {"info": 0, "warning": 1, "violation": 1}),
        ("ivan", 6, 2, {"info": 0, "warning": 1, "violation": 1}),
        # Linked to acme only: globex's R6 is in her jurisdiction but not on her dashboard.
        ("leona", 5, 1, {"info": 0, "warning": 0, "violation": 1}),
        ("liam", 5, 1, {"info": 0, "warning": 0, "violation": 1}),
        ("hank", 2, 1, {"info": 0, "warning": 0, "violation": 1}),
        ("irene", 1, 1, {"info": 0, "warning": 1, "violation": 0}),
        ("lars", 0, 0, {"info": 0, "warning": 0, "violation": 0}),  # linked to nothing
        ("olga", 1, 1, {"info": 0, "warning": 1, "violation": 0}),
    ],
)
def test_each_role_counts_its_own_scope(cast, quarter, who, received, cases, findings):
    report = quarterly_report(report_scope(cast[who]), Q3, now=quarter.now)
    assert report["received"] == received
    assert report["accountability_cases"] == cases
    assert report["findings"] == findings


def test_a_department_report_counts_that_department(cast, quarter):
    scope = narrow_to_department(report_scope(cast.ada), cast.roads.pk)
    report = quarterly_report(scope, Q3, now=quarter.now)
    assert (report["received"], report["closed"], report["accountability_cases"]) == (2, 2, 1)
    assert report["findings"]["violation"] == 1
    assert [row["department"]["id"] for row in report["by_department"]] == [cast.roads.pk]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("received", {"r1", "r2", "r3", "r4", "r5", "r6"}),
        ("closed", {"r1", "r2", "r5"}),
        ("assign_on_time", {"r1", "r5", "r6"}),
        ("answer_on_time", {"r1"}),
        ("answered_late", {"r2", "r5"}),
        ("late_answer_rounds", {"r2", "r5"}),
        ("overdue", {"r2", "r3", "r5", "r6"}),
        ("satisfied", {"r1", "r5"}),
        ("reopened", {"r2"}),
    ],
)
def test_a_figure_lists_exactly_the_requests_it_counts(cast, quarter, name, expected):
    members = figures.members(report_scope(cast.ada).requests, name, Q3, now=quarter.now)
    by_pk = {
        getattr(quarter, key).pk: key for key in ("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r9")
    }
    assert {by_pk[pk] for pk in members.values_list("pk", flat=True)} == expected


# --- the arithmetic, without a database ---------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.9, 7.0),
        ([2, 3, 6, 25], 0.5, 4.5),
        ([2, 3, 6, 25], 0.9, 19.3),
        ([48, 92, 96], 0.5, 92.0),
        ([96, 48, 92], 0.9, 95.2),
    ],
)
def test_percentile_interpolates_between_ranks(values, fraction, expected):
    assert percentile(values, fraction) == expected


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2026-07-10 16:00", "2026-07-13 17:00"),  # over a weekend
        ("2026-09-30 20:00", "2026-10-09 10:00"),  # over the National Day holiday
        ("2026-02-13 09:00", "2026-02-26 09:00"),  # over the Spring Festival and make-up days
        ("2026-07-11 10:00", "2026-07-12 10:00"),  # inside a weekend: nothing
    ],
)
def test_the_working_clock_agrees_with_the_deadline_arithmetic(statutory, start, end):
    clock = WorkingClock(statutory, dt.date(2026, 1, 1))
    expected = working_time_between(at(start), at(end), statutory).total_seconds() / 3600
    assert clock.hours_between(at(start), at(end)) == expected


def test_periods():
    assert Period(2026, 1).previous() == Period(2025, 4)
    assert Period(2026, 4).end == at("2027-01-01 00:00")
    assert Period.containing(at("2026-07-01 00:00")) == Period(2026, 3)
    assert Period.containing(at("2026-06-30 23:59")) == Period(2026, 2)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner settings")
# Outside the test's own transaction: SET LOCAL lasts until the outermost transaction ends.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_analytic_settings_hold_in_the_pass_and_end_with_it():
    before = planner_settings(connection)
    with figures.analytic_queries():
        assert planner_settings(connection) == {**before, "jit": "off", "work_mem": "64MB"}
        with figures.analytic_plan():
            assert planner_settings(connection) == IN_THE_ANALYTIC_PASS
        assert planner_settings(connection)["enable_indexscan"] == before["enable_indexscan"]
    assert planner_settings(connection) == before
