"""The clocks of the "133" rule: working-time arithmetic on the seeded calendar, and due times.

Times in the tables are Asia/Shanghai wall-clock times; the calendar is the one the data
migration loads from chinesecalendar (holidays and make-up working days, 调休).
"""

import datetime as dt
import logging

import pytest
import time_machine
from django.utils import timezone

from requests_app.deadlines import Clocks, DeadlinePolicy, calendar_for
from requests_app.models import CalendarDay, CalendarYear, ExtensionState, Status
from requests_app.workflow import transition
from requests_app.working_time import (
    ExceptionCalendar,
    NaturalDaysCalendar,
    WeekendCalendar,
    add_working_time,
    working_time_between,
)
from tests.conftest import at, drive, follow_up_call
from tests.factories import ServiceRequestFactory

DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


# --- add_working_time ----------------------------------------------------------------------------

ADD_CASES = [
    # start, duration, due, why
    ("2025-03-14 16:00", DAY, "2025-03-17 16:00", "Friday 16:00 + 1 = Monday 16:00"),
    ("2025-03-15 10:00", DAY, "2025-03-18 00:00", "Saturday 10:00 + 1 = Tuesday 00:00"),
    ("2025-03-16 23:59", DAY, "2025-03-18 00:00", "a weekend minute counts for nothing"),
    ("2025-03-10 09:00", 0 * DAY, "2025-03-10 09:00", "no time is no time"),
    ("2025-03-10 00:00", DAY, "2025-03-11 00:00", "a working day has 24 hours"),
    ("2025-03-10 09:00", 3 * DAY, "2025-03-13 09:00", "the answer clock in a plain week"),
    ("2025-03-12 09:00", 3 * DAY, "2025-03-17 09:00", "three days over a weekend"),
    ("2025-03-14 16:00", 8 * HOUR, "2025-03-15 00:00", "ends exactly at Friday midnight"),
    ("2025-03-14 16:00", 8 * HOUR + dt.timedelta(seconds=1), "2025-03-17 00:00:01", "and past it"),
    ("2025-01-27 09:00", DAY, "2025-02-05 09:00", "Spring Festival 2025 (Jan 28 – Feb 4)"),
    ("2025-01-25 09:00", DAY, "2025-01-27 00:00", "make-up Sunday Jan 26 2025 counts"),
    ("2025-02-07 16:00", DAY, "2025-02-08 16:00", "make-up Saturday Feb 8 2025 counts"),
    ("2025-09-30 09:00", DAY, "2025-10-09 09:00", "National Day 2025 (Oct 1 – 8)"),
    ("2025-10-10 16:00", DAY, "2025-10-11 16:00", "make-up Saturday Oct 11 2025"),
    ("2025-12-31 09:00", DAY, "2026-01-04 09:00", "New Year 2026, then make-up Sunday Jan 4"),
    ("2026-09-30 09:00", DAY, "2026-10-08 09:00", "filed before National Day 2026: assign"),
    ("2026-09-30 09:00", 3 * DAY, "2026-10-10 09:00", "…answer due on the make-up Saturday"),
    ("2026-10-03 12:00", DAY, "2026-10-09 00:00", "filed during the holiday"),
]


@pytest.mark.parametrize("start, duration, due, why", ADD_CASES, ids=[c[3] for c in ADD_CASES])
def test_add_working_time_on_the_statutory_calendar(statutory, start, duration, due, why):
    assert add_working_time(at(start), duration, statutory) == at(due)


@pytest.mark.parametrize("start, duration, due, why", ADD_CASES, ids=[c[3] for c in ADD_CASES])
def test_working_time_between_inverts_add_working_time(statutory, start, duration, due, why):
    assert working_time_between(at(start), at(due), statutory) == duration


@pytest.mark.parametrize(
    "start, duration, due",
    [
        ("2025-03-14 16:00", DAY, "2025-03-17 16:00"),
        ("2025-03-15 10:00", DAY, "2025-03-18 00:00"),
        ("2025-09-30 09:00", DAY, "2025-10-01 09:00"),  # no holidays without the table
    ],
)
def test_add_working_time_pure_weekend_calendar(start, duration, due):
    """Pure arithmetic: no database, just the weekday rule."""
    assert add_working_time(at(start), duration, WeekendCalendar()) == at(due)


def test_natural_days_count_every_day():
    assert add_working_time(at("2025-03-14 16:00"), DAY, NaturalDaysCalendar()) == at(
        "2025-03-15 16:00"
    )
    assert add_working_time(at("2025-09-30 09:00"), 3 * DAY, NaturalDaysCalendar()) == at(
        "2025-10-03 09:00"
    )


def test_the_result_is_aware_and_the_same_instant_in_utc(statutory):
    start = at("2025-03-14 16:00").astimezone(dt.UTC)  # 08:00 UTC
    due = add_working_time(start, DAY, statutory)
    assert due.utcoffset() is not None
    assert due == at("2025-03-17 16:00")  # days are counted in Shanghai, not in UTC


def test_a_negative_duration_raises():
    with pytest.raises(ValueError, match="negative"):
        add_working_time(at("2025-03-10 09:00"), -HOUR, WeekendCalendar())


def test_a_naive_datetime_raises():
    with pytest.raises(ValueError, match="aware"):
        add_working_time(dt.datetime(2025, 3, 10, 9), DAY, WeekendCalendar())
    with pytest.raises(ValueError, match="aware"):
        working_time_between(dt.datetime(2025, 3, 10, 9), at("2025-03-11 09:00"), WeekendCalendar())


def test_a_calendar_without_working_days_raises_instead_of_looping():
    class NeverWorks:
        def is_working_day(self, day):
            return False

    with pytest.raises(ValueError, match="calendar"):
        add_working_time(at("2025-03-10 09:00"), DAY, NeverWorks())


# --- working_time_between ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, end, hours",
    [
        ("2025-03-14 16:00", "2025-03-17 16:00", 24),
        ("2025-03-15 10:00", "2025-03-18 00:00", 24),
        ("2025-03-15 00:00", "2025-03-17 00:00", 0),  # a whole weekend
        ("2025-03-10 09:00", "2025-03-10 09:00", 0),
        ("2025-03-10 09:00", "2025-03-10 10:30", 1.5),
        ("2025-03-17 16:00", "2025-03-14 16:00", -24),  # backwards is negative
        ("2025-09-30 00:00", "2025-10-10 00:00", 48),  # Sep 30 and Oct 9 only
        ("2026-09-19 00:00", "2026-09-21 00:00", 24),  # Sun Sep 20 2026 is a make-up day
    ],
)
def test_working_time_between(statutory, start, end, hours):
    assert working_time_between(at(start), at(end), statutory) == dt.timedelta(hours=hours)


# --- years the calendar does not know ------------------------------------------------------------


@pytest.mark.django_db
def test_an_unknown_year_warns_and_falls_back_to_weekends_off(caplog):
    assert not CalendarYear.objects.filter(year=2027).exists()
    calendar = calendar_for(DeadlinePolicy())
    with caplog.at_level(logging.WARNING, logger="requests_app.working_time"):
        due = add_working_time(at("2027-01-08 16:00"), 5 * DAY, calendar)
    assert due == at("2027-01-15 16:00")  # Friday + 5 = the next Friday, weekends off
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once per year, not once per day
    assert "2027" in warnings[0].getMessage()
    assert calendar.provisional_years == {2027}


@pytest.mark.django_db
def test_a_known_year_does_not_warn(caplog):
    calendar = calendar_for(DeadlinePolicy())
    with caplog.at_level(logging.WARNING, logger="requests_app.working_time"):
        add_working_time(at("2025-03-14 16:00"), DAY, calendar)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.django_db
def test_a_provisional_year_still_warns(caplog):
    CalendarYear.objects.create(year=2027, provisional=True, source="estimate")
    with caplog.at_level(logging.WARNING, logger="requests_app.working_time"):
        add_working_time(at("2027-03-01 09:00"), DAY, calendar_for(DeadlinePolicy()))
    assert any("2027" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_an_admin_can_add_a_year(caplog):
    CalendarYear.objects.create(year=2027, provisional=False, source="State Council notice")
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), is_working=False, name="New Year's Day")
    with caplog.at_level(logging.WARNING, logger="requests_app.working_time"):
        due = add_working_time(at("2026-12-31 09:00"), DAY, calendar_for(DeadlinePolicy()))
    assert due == at("2027-01-04 09:00")  # Fri Jan 1 off, then the weekend
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_exception_calendar_loads_each_year_once():
    loads = []

    def load(year):
        loads.append(year)
        return {dt.date(2030, 1, 1): False}, True

    calendar = ExceptionCalendar(load)
    assert not calendar.is_working_day(dt.date(2030, 1, 1))
    assert calendar.is_working_day(dt.date(2030, 1, 2))
    assert not calendar.is_working_day(dt.date(2030, 1, 5))  # Saturday
    assert loads == [2030]


# --- the policy ----------------------------------------------------------------------------------


def test_the_default_policy_is_133_in_working_days(settings):
    policy = DeadlinePolicy.from_settings()
    assert (policy.assign_days, policy.answer_days, policy.day_kind) == (1, 3, "working")


@pytest.mark.django_db
@time_machine.travel(at("2025-03-14 16:00"), tick=False)
def test_natural_days_policy(settings, cast):
    settings.DEADLINE_DAY_KIND = "natural"
    service_request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    assert service_request.assign_due_at == at("2025-03-15 16:00")
    assert service_request.answer_due_at == at("2025-03-17 16:00")


@pytest.mark.django_db
@time_machine.travel(at("2025-03-14 16:00"), tick=False)
def test_the_clock_lengths_are_settings(settings, cast):
    settings.DEADLINE_ASSIGN_DAYS = 2
    settings.DEADLINE_ANSWER_DAYS = 5
    service_request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    assert service_request.assign_due_at == at("2025-03-18 16:00")
    assert service_request.answer_due_at == at("2025-03-21 16:00")


# --- the clocks of a request ---------------------------------------------------------------------


@pytest.mark.django_db
def test_filed_before_national_day_2026(cast, api):
    with time_machine.travel(at("2026-09-30 09:00"), tick=False):
        response = api(cast.alice).post(
            "/api/v1/requests/",
            {"category": "land", "title": "Land certificate", "description": "Still waiting."},
            format="json",
        )
    assert response.status_code == 201
    assert response.json()["assign_due_at"] == "2026-10-08T09:00:00+08:00"
    assert response.json()["answer_due_at"] == "2026-10-10T09:00:00+08:00"  # make-up Saturday


@pytest.mark.django_db
def test_submitting_stores_both_clocks_in_utc(cast):
    with time_machine.travel(at("2025-03-14 16:00"), tick=False):
        service_request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    assert service_request.assign_due_at == dt.datetime(2025, 3, 17, 8, 0, tzinfo=dt.UTC)
    assert service_request.answer_due_at == dt.datetime(2025, 3, 19, 8, 0, tzinfo=dt.UTC)


def _overdue(api, user, service_request) -> bool:
    return api(user).get(f"/api/v1/requests/{service_request.pk}/").json()["overdue"]


@pytest.mark.django_db
def test_overdue_follows_the_running_clock(cast, api):
    with time_machine.travel(at("2025-03-10 09:00"), tick=False) as traveller:
        service_request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
        traveller.move_to(at("2025-03-11 08:59"))
        assert not _overdue(api, cast.ada, service_request)
        traveller.move_to(at("2025-03-11 09:00:01"))
        assert _overdue(api, cast.ada, service_request)  # not assigned within a working day
        transition(service_request.pk, "assign", by=cast.liam, department=cast.roads)
        assert not _overdue(api, cast.ada, service_request)  # now the answer clock runs
        traveller.move_to(at("2025-03-13 09:00:01"))
        assert _overdue(api, cast.ada, service_request)
        overdue_ids = api(cast.ada).get("/api/v1/requests/?overdue=true").json()["results"]
        assert [row["id"] for row in overdue_ids] == [service_request.pk]
        transition(service_request.pk, "start", by=cast.hank)
        transition(service_request.pk, "feedback", by=cast.hank, message="Late, but done.")
        assert not _overdue(api, cast.ada, service_request)  # the answer clock stopped
        traveller.move_to(at("2025-04-30 09:00"))
        assert not _overdue(api, cast.ada, service_request)


@pytest.mark.django_db
def test_pause_and_resume_keep_the_time_left(cast, api):
    with time_machine.travel(at("2025-03-10 09:00"), tick=False) as traveller:
        service_request = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "rectifying"
        )
        assert service_request.answer_due_at == at("2025-03-13 09:00")
        traveller.move_to(at("2025-03-11 09:00"))  # 48 working hours left
        paused = transition(service_request.pk, "request_info", by=cast.hank, question="Which?")
        assert paused.answer_paused_at == at("2025-03-11 09:00")
        traveller.move_to(at("2025-03-14 12:00"))  # past the old due: a paused clock is not late
        assert not _overdue(api, cast.ada, service_request)
        assert not api(cast.ada).get("/api/v1/requests/?overdue=true").json()["results"]
        traveller.move_to(at("2025-03-20 09:00"))  # Thursday, a week later
        resumed = transition(service_request.pk, "provide_info", by=cast.alice, answer="North.")
    # Thursday 09:00 + 48 working hours = Thu 15h + Fri 24h + Mon 9h = Monday 09:00.
    assert resumed.answer_due_at == at("2025-03-24 09:00")
    assert resumed.answer_paused_at is None
    event = resumed.events.order_by("-seq").first()
    assert event.data == {"time_left_seconds": 48 * 3600}
    with time_machine.travel(at("2025-03-24 08:59"), tick=False):
        assert not _overdue(api, cast.ada, service_request)
    with time_machine.travel(at("2025-03-24 09:01"), tick=False):
        assert _overdue(api, cast.ada, service_request)


@pytest.mark.django_db
def test_a_clock_paused_after_its_breach_stays_overdue(cast, api):
    with time_machine.travel(at("2025-03-10 09:00"), tick=False) as traveller:
        service_request = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "rectifying"
        )
        traveller.move_to(at("2025-03-14 09:00"))  # a day late
        transition(service_request.pk, "request_info", by=cast.hank, question="Which?")
        traveller.move_to(at("2025-03-17 09:00"))
        assert _overdue(api, cast.ada, service_request)
        traveller.move_to(at("2025-03-18 09:00"))
        resumed = transition(service_request.pk, "provide_info", by=cast.alice, answer="North.")
        assert resumed.answer_due_at == at("2025-03-13 09:00")  # no time left is no time left
        assert _overdue(api, cast.ada, service_request)


@pytest.mark.django_db
def test_an_approved_extension_moves_the_answer_due_to_the_plan_date(cast, api):
    until = at("2025-03-31 18:00")
    with time_machine.travel(at("2025-03-10 09:00"), tick=False) as traveller:
        service_request = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "rectifying"
        )
        traveller.move_to(at("2025-03-12 09:00"))
        response = api(cast.hank).post(
            f"/api/v1/requests/{service_request.pk}/extend/",
            {"until": until.isoformat(), "plan": "Survey Mar 17, repave Mar 24-28."},
            format="json",
        )
        assert response.status_code == 200
        assert response.json()["extension_state"] == ExtensionState.PENDING
        assert response.json()["answer_due_at"] == "2025-03-13T09:00:00+08:00"  # not yet
        traveller.move_to(at("2025-03-12 15:00"))
        approved = api(cast.leona).post(
            f"/api/v1/requests/{service_request.pk}/approve_extension/", {}, format="json"
        )
        assert approved.status_code == 200
        assert approved.json()["answer_due_at"] == "2025-03-31T18:00:00+08:00"
        assert approved.json()["extension_state"] == ExtensionState.APPROVED
        traveller.move_to(at("2025-03-20 09:00"))  # past the old due, within the plan
        assert not _overdue(api, cast.ada, service_request)
        traveller.move_to(at("2025-03-31 18:01"))
        assert _overdue(api, cast.ada, service_request)


@pytest.mark.django_db
def test_a_naive_extension_date_is_read_as_shanghai_time(cast, api):
    with time_machine.travel(at("2025-03-10 09:00"), tick=False):
        service_request = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "rectifying"
        )
        response = api(cast.hank).post(
            f"/api/v1/requests/{service_request.pk}/extend/",
            {"until": "2025-03-31T18:00:00", "plan": "Repave."},
            format="json",
        )
    assert response.status_code == 200
    assert response.json()["extension_until"] == "2025-03-31T18:00:00+08:00"


@pytest.mark.django_db
def test_a_rejected_review_starts_a_fresh_answer_clock(cast, api):
    with time_machine.travel(at("2025-03-10 09:00"), tick=False) as traveller:
        service_request = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "feedback"
        )
        traveller.move_to(at("2025-03-21 16:00"))  # a Friday
        reopened = transition(
            service_request.pk, "review", by=cast.alice, accepted=False, comment="Still broken."
        )
        assert reopened.status == Status.RECTIFYING
        assert reopened.reopen_count == 1
        # Friday 16:00 + 3 working days = Wednesday 16:00.
        assert reopened.answer_due_at == at("2025-03-26 16:00")
        assert not _overdue(api, cast.ada, service_request)
        transition(service_request.pk, "feedback", by=cast.hank, message="Really done now.")
        traveller.move_to(at("2025-03-24 10:00"))
        again = transition(
            service_request.pk,
            "review",
            by=cast.liam,
            accepted=False,
            comment="Called: no.",
            follow_up=follow_up_call(note="Still broken, she says."),
        )
        assert again.reopen_count == 2
        assert again.answer_due_at == at("2025-03-27 10:00")


@pytest.mark.django_db
def test_clocks_current_reads_the_settings(settings):
    settings.DEADLINE_DAY_KIND = "natural"
    clocks = Clocks.current()
    assert isinstance(clocks.calendar, NaturalDaysCalendar)
    now = timezone.now()
    assert clocks.assign_due(now) == now + DAY
    assert clocks.time_left(now, now + 2 * DAY) == 2 * DAY
    assert clocks.resume(now, HOUR) == now + HOUR
