"""The calendar year API: officials read a year's exceptions, an admin loads a year."""

import datetime as dt

import pytest
import time_machine

from requests_app.models import CalendarDay, CalendarYear, ServiceRequest
from tests.conftest import at, drive
from tests.factories import ServiceRequestFactory
from tests.requests_app.test_calendar_notice import NOTICE_2026

URL = "/api/v1/calendar/{}/"

# A notice for 2027 written for these tests: New Year's Day and the Spring Festival.
NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知
一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。
二、春节：2月5日（周五）至11日（周四）放假调休，共7天。2月13日（周六）、2月14日（周日）上班。
国务院办公厅
"""
NEW_YEAR_2027 = {"days": [{"date": "2027-01-01", "working": False, "name": "元旦"}]}


def _stored(year: int) -> list[tuple[dt.date, bool]]:
    return list(CalendarDay.objects.filter(date__year=year).values_list("date", "is_working"))


def test_get_shows_the_year_and_its_exceptions(cast, api):
    response = api(cast.liam).get(URL.format(2026))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["year"], body["official"]) == (2026, True)
    days = {(day["date"], day["working"]) for day in body["days"]}
    assert {("2026-01-01", False), ("2026-01-02", False), ("2026-01-04", True)} <= days
    assert ("2026-01-03", False) not in days  # a Saturday off is the rule, not an exception
    assert [day["date"] for day in body["days"]] == sorted(day["date"] for day in body["days"])
    assert set(body["days"][0]) == {"date", "working", "name"}


def test_a_year_without_a_schedule_is_not_official(cast, api):
    body = api(cast.ivan).get(URL.format(2027)).json()
    assert body == {"year": 2027, "official": False, "days": []}


@pytest.mark.parametrize("year", [1999, 2101])
def test_a_year_out_of_bounds_is_404(cast, api, year):
    assert api(cast.ada).get(URL.format(year)).status_code == 404
    assert api(cast.ada).put(URL.format(year), NEW_YEAR_2027, format="json").status_code == 404


def test_put_by_days_replaces_the_year_and_makes_it_official(cast, api):
    CalendarDay.objects.create(date=dt.date(2027, 5, 3), is_working=False, name="stale")
    days = [
        {"date": "2027-01-01", "working": False, "name": "元旦"},
        {"date": "2027-02-13", "working": True, "name": "春节"},
        {"date": "2027-01-04", "working": True},  # a Monday: the rule, not an exception
    ]
    response = api(cast.ada).put(URL.format(2027), {"days": days}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "year": 2027,
        "official": True,
        "days": [
            {"date": "2027-01-01", "working": False, "name": "元旦"},
            {"date": "2027-02-13", "working": True, "name": "春节"},
        ],
        "rebased": 0,
    }
    assert _stored(2027) == [(dt.date(2027, 1, 1), False), (dt.date(2027, 2, 13), True)]
    year = CalendarYear.objects.get(year=2027)
    assert (year.provisional, year.source) == (False, "api")
    assert api(cast.hank).get(URL.format(2027)).json()["official"] is True


def test_put_by_notice(cast, api):
    response = api(cast.ada).put(URL.format(2027), {"notice": NOTICE_2027}, format="json")
    assert response.status_code == 200, response.content
    days = {(d["date"], d["working"]) for d in response.json()["days"]}
    # Weekend days off within a holiday are no exceptions; the weekdays off and the make-up
    # weekend working days are.
    assert days == {
        ("2027-01-01", False),
        ("2027-02-05", False),
        ("2027-02-08", False),
        ("2027-02-09", False),
        ("2027-02-10", False),
        ("2027-02-11", False),
        ("2027-02-13", True),
        ("2027-02-14", True),
    }
    assert len(_stored(2027)) == 8


def test_the_2026_notice_gives_the_stored_2026_calendar(cast, api):
    before = _stored(2026)
    response = api(cast.ada).put(
        URL.format(2026) + "?dry_run=true", {"notice": NOTICE_2026}, format="json"
    )
    assert response.status_code == 200, response.content
    parsed = [(dt.date.fromisoformat(d["date"]), d["working"]) for d in response.json()["days"]]
    assert parsed == before


def test_dry_run_saves_nothing(cast, api):
    response = api(cast.ada).put(
        URL.format(2027) + "?dry_run=true", {"notice": NOTICE_2027}, format="json"
    )
    assert response.status_code == 200, response.content
    assert len(response.json()["days"]) == 8
    assert _stored(2027) == []
    assert not CalendarYear.objects.filter(year=2027, provisional=False).exists()


def test_a_notice_that_cannot_be_read_is_400_naming_the_line(cast, api):
    wrong = NOTICE_2027.replace("1月1日（周五）", "1月1日（周四）")
    response = api(cast.ada).put(
        URL.format(2027), {"notice": wrong}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    (message,) = response.json()["notice"]
    assert message.startswith("line 2: 2027-01-01 is a 周五, the notice says 周四")
    chinese = api(cast.ada).put(URL.format(2027), {"notice": wrong}, format="json")
    assert chinese.json()["notice"][0].startswith("第 2 行：2027-01-01 是周五，通知写的是周四")
    assert _stored(2027) == []
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_the_notice_of_another_year_is_400(cast, api):
    response = api(cast.ada).put(
        URL.format(2027), {"notice": NOTICE_2026}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json()["notice"][0].startswith("line 4:")


@pytest.mark.parametrize(
    "body",
    [
        {"days": [{"date": "2028-01-01", "working": False}]},
        {"notice": "元旦：2028年1月1日（周六）放假。"},
    ],
)
def test_a_day_outside_the_year_is_400(cast, api, body):
    response = api(cast.ada).put(URL.format(2027), body, format="json")
    assert response.status_code == 400, response.content
    assert "2028-01-01" in str(response.json())
    assert _stored(2027) == [] and _stored(2028) == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"days": [], "notice": NOTICE_2027},
        {
            "days": [
                {"date": "2027-01-01", "working": False},
                {"date": "2027-01-01", "working": True},
            ]
        },
        {"days": [{"date": "not a date", "working": False}]},
    ],
)
def test_bad_input_is_400(cast, api, body):
    response = api(cast.ada).put(URL.format(2027), body, format="json")
    assert response.status_code == 400, response.content
    assert _stored(2027) == []


@pytest.mark.parametrize(
    "persona", ["alice", "liam", "hank", "leona", "ivan", "mallory", "olga", "hugo", "lars"]
)
def test_only_an_admin_loads_a_year(cast, api, persona):
    response = api(cast[persona]).put(URL.format(2027), NEW_YEAR_2027, format="json")
    assert response.status_code == 403
    assert "detail" in response.json()
    assert _stored(2027) == []


@pytest.mark.parametrize("persona", ["liam", "hank", "leona", "ivan", "ada", "olga", "irene"])
def test_officials_read_a_year(cast, api, persona):
    assert api(cast[persona]).get(URL.format(2027)).status_code == 200


@pytest.mark.parametrize("persona", ["alice", "mallory"])
def test_entrepreneurs_do_not_read_the_calendar(cast, api, persona):
    assert api(cast[persona]).get(URL.format(2027)).status_code == 403


def test_anonymous_is_refused(api):
    assert api(None).get(URL.format(2027)).status_code in (401, 403)
    assert api(None).put(URL.format(2027), NEW_YEAR_2027, format="json").status_code in (401, 403)


# --- the clocks -------------------------------------------------------------------------------


def _file(cast) -> ServiceRequest:
    return ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)


def test_a_request_filed_after_loading_counts_the_new_holiday(cast, api):
    assert api(cast.ada).put(URL.format(2027), NEW_YEAR_2027, format="json").status_code == 200
    with time_machine.travel(at("2026-12-31 17:00"), tick=False):
        request = _file(cast)
    assert request.assign_due_at == at("2027-01-04 17:00")
    assert request.answer_due_at == at("2027-01-06 17:00")


def test_loading_rebases_the_running_clocks_it_moves(cast, api):
    with time_machine.travel(at("2026-12-31 17:00"), tick=False):
        request = _file(cast)
        untouched = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    # Filed before 2027 is official: Monday–Friday, so New Year's Day counts (the bug).
    assert request.assign_due_at == at("2027-01-01 17:00")
    assert request.answer_due_at == at("2027-01-05 17:00")
    ServiceRequest.objects.filter(pk=untouched.pk).update(status="closed")

    with time_machine.travel(at("2026-12-31 18:00"), tick=False):
        response = api(cast.ada).put(URL.format(2027), NEW_YEAR_2027, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["rebased"] == 1

    request.refresh_from_db()
    assert request.assign_due_at == at("2027-01-04 17:00")
    assert request.answer_due_at == at("2027-01-06 17:00")
    events = request.events.filter(action="clock_rebased").order_by("seq")
    assert [(e.data["clock"], e.data["old_due_at"], e.data["new_due_at"]) for e in events] == [
        ("assign", at("2027-01-01 17:00").isoformat(), at("2027-01-04 17:00").isoformat()),
        ("answer", at("2027-01-05 17:00").isoformat(), at("2027-01-06 17:00").isoformat()),
    ]
    deadlines = dict(request.deadlines.values_list("clock", "due_at"))
    assert deadlines["assign"] == at("2027-01-04 17:00")
    assert deadlines["answer"] == at("2027-01-06 17:00")

    # Loading the same days again moves nothing.
    again = api(cast.ada).put(URL.format(2027), NEW_YEAR_2027, format="json")
    assert again.json()["rebased"] == 0


@pytest.mark.parametrize(
    "language, label, moved",
    [
        (
            "en",
            "Deadline moved by the working-day calendar",
            "Assign deadline: 2027-01-01 17:00 → 2027-01-04 17:00",
        ),
        ("zh-hans", "工作日历调整了时限", "交办时限：2027-01-01 17:00 → 2027-01-04 17:00"),
    ],
)
def test_the_timeline_says_which_deadline_the_calendar_moved(
    cast, api, client, language, label, moved
):
    with time_machine.travel(at("2026-12-31 17:00"), tick=False):
        request = _file(cast)
    with time_machine.travel(at("2026-12-31 18:00"), tick=False):
        assert api(cast.ada).put(URL.format(2027), NEW_YEAR_2027, format="json").status_code == 200
    client.force_login(cast.liam)
    page = client.get(f"/requests/{request.pk}/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert label in page
    assert moved in page


def test_a_dry_run_counts_the_clocks_it_would_move_and_moves_none(cast, api):
    with time_machine.travel(at("2026-12-31 17:00"), tick=False):
        request = _file(cast)
    with time_machine.travel(at("2026-12-31 18:00"), tick=False):
        response = api(cast.ada).put(URL.format(2027) + "?dry_run=1", NEW_YEAR_2027, format="json")
    assert response.json()["rebased"] == 1
    request.refresh_from_db()
    assert request.assign_due_at == at("2027-01-01 17:00")
    assert not request.events.filter(action="clock_rebased").exists()


def test_a_paused_clock_keeps_the_working_time_it_had_at_its_pause(cast, api):
    with time_machine.travel(at("2026-12-30 10:00"), tick=False):
        request = _file(cast)
    assert request.answer_due_at == at("2027-01-04 10:00")  # New Year's Day counted
    with time_machine.travel(at("2026-12-31 12:00"), tick=False):
        request = drive(cast, request, "info_needed")
    with time_machine.travel(at("2026-12-31 18:00"), tick=False):
        response = api(cast.ada).put(URL.format(2027), NEW_YEAR_2027, format="json")
    assert response.json()["rebased"] == 1
    request.refresh_from_db()
    # 46 working hours were left at the pause: 12 on 12-31, then 01-04 and 10 on 01-05.
    assert request.answer_due_at == at("2027-01-05 10:00")
