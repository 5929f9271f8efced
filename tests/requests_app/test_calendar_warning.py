"""The November warning: from 1 November, while next year's working-day calendar is neither loaded
nor its fallback confirmed, every admin sees a banner on every portal page and is told once in
the inbox (a daily beat task, idempotent: one message per admin per year)."""

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from notifications.models import Notification
from officials.models import Role
from portal.celery import app
from requests_app import calendar
from requests_app.tasks import warn_of_unsettled_calendar
from tests.conftest import at
from tests.factories import UserFactory
from tests.requests_app.test_concurrency import ROUNDS, race

pytestmark = pytest.mark.django_db

BANNER = "The working-day calendar for 2027 is not loaded"
NOVEMBER = at("2026-11-02 10:00")


def page_client(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


def portal_page(user, path="/requests/", language="en") -> str:
    response = page_client(user, language).get(path)
    assert response.status_code == 200
    return response.content.decode()


def load_2027() -> None:
    calendar.load_year(2027, [calendar.Day(at("2027-01-01").date(), False, "元旦")])


# --- the banner -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/requests/", "/inbox/", "/ledger/", "/"])
def test_admins_see_the_banner_on_every_page_in_november(cast, path):
    with time_machine.travel(NOVEMBER, tick=False):
        response = page_client(cast.ada).get(path, follow=True)
    html = response.content.decode()
    assert BANNER in html
    assert 'href="/admin/requests_app/calendaryear/2027/load/"' in html


def test_the_banner_speaks_the_admins_language(cast):
    with time_machine.travel(NOVEMBER, tick=False):
        html = portal_page(cast.ada, language="zh-hans")
    assert "2027 年工作日历尚未载入" in html and BANNER not in html
    assert "载入 2027 年日历" in html


def test_no_banner_in_october(cast):
    with time_machine.travel(at("2026-10-31 23:59"), tick=False):
        assert BANNER not in portal_page(cast.ada)


@pytest.mark.parametrize("persona", ["alice", "liam", "hank", "leona", "ivan"])
def test_no_banner_for_anyone_else(cast, persona):
    with time_machine.travel(NOVEMBER, tick=False):
        assert "calendar-banner" not in portal_page(cast[persona])


def test_no_banner_once_the_year_is_loaded(cast):
    load_2027()
    with time_machine.travel(NOVEMBER, tick=False):
        assert "calendar-banner" not in portal_page(cast.ada)


def test_no_banner_once_the_fallback_is_confirmed(cast):
    calendar.confirm_fallback(2027, by=cast.ada, now=NOVEMBER)
    with time_machine.travel(NOVEMBER, tick=False):
        assert "calendar-banner" not in portal_page(cast.ada)


def test_in_december_it_is_still_next_year_and_in_january_the_year_after(cast):
    with time_machine.travel(at("2026-12-31 23:00"), tick=False):
        assert BANNER in portal_page(cast.ada)
    with time_machine.travel(at("2027-01-02 09:00"), tick=False):
        assert "calendar-banner" not in portal_page(cast.ada)  # 2028: from November 2027


def _calendar_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/requests/").status_code == 200
    return sum("calendar" in query["sql"] for query in queries)


def test_the_banner_costs_no_query_once_the_calendar_is_read(cast):
    with time_machine.travel(NOVEMBER, tick=False):
        client = page_client(cast.ada)
        assert BANNER in client.get("/requests/").content.decode()  # the cache is read once
        assert _calendar_queries(client) == 0
        calendar.confirm_fallback(2027, by=cast.ada)  # forgets the cache: read once again
        assert BANNER not in client.get("/requests/").content.decode()
        assert _calendar_queries(client) == 0


# --- the inbox message ---------------------------------------------------------------------------


def test_the_task_tells_each_admin_once_a_year(cast):
    cast.ada.language = "en"
    cast.ada.save(update_fields=["language"])
    other_admin = UserFactory(username="root", role=Role.ADMIN, language="zh-hans")
    UserFactory(username="gone", role=Role.ADMIN, is_active=False)
    with time_machine.travel(NOVEMBER, tick=False):
        assert warn_of_unsettled_calendar.delay().get() == 2
    with time_machine.travel(at("2026-11-03 09:00"), tick=False):
        assert warn_of_unsettled_calendar.delay().get() == 0  # the next day: nobody again
        assert warn_of_unsettled_calendar.delay().get() == 0
    told = Notification.objects.filter(kind="calendar_missing")
    assert sorted(told.values_list("recipient__username", flat=True)) == ["ada", "root"]
    english = told.get(recipient=cast.ada)
    assert english.subject == BANNER
    assert "Monday to Friday" in english.body
    assert english.link == "/admin/requests_app/calendaryear/2027/load/"
    assert told.get(recipient=other_admin).subject == "2027 年工作日历尚未载入"
    # A year later, 2028 is the year missing: each admin is told again, once.
    with time_machine.travel(at("2027-11-01 09:00"), tick=False):
        assert warn_of_unsettled_calendar.delay().get() == 2
        assert warn_of_unsettled_calendar.delay().get() == 0
    assert told.count() == 4


def test_an_admin_added_later_is_told_too(cast):
    with time_machine.travel(NOVEMBER, tick=False):
        assert calendar.warn_of_unsettled_year() == 1
        UserFactory(username="newcomer", role=Role.ADMIN)
        assert calendar.warn_of_unsettled_year() == 1
        assert calendar.warn_of_unsettled_year() == 0


def test_nobody_is_told_before_november_or_once_the_year_is_settled(cast):
    with time_machine.travel(at("2026-10-31 09:00"), tick=False):
        assert calendar.warn_of_unsettled_year() == 0
    calendar.confirm_fallback(2027, by=cast.ada, now=NOVEMBER)
    with time_machine.travel(NOVEMBER, tick=False):
        assert calendar.warn_of_unsettled_year() == 0
    assert not Notification.objects.filter(kind="calendar_missing").exists()


def test_nobody_is_told_once_the_year_is_loaded(cast):
    load_2027()
    with time_machine.travel(NOVEMBER, tick=False):
        assert calendar.warn_of_unsettled_year() == 0


def test_beat_runs_the_warning_daily():
    entries = [e for e in app.conf.beat_schedule.values() if "calendar" in e["task"]]
    assert [e["task"] for e in entries] == ["requests_app.tasks.warn_of_unsettled_calendar"]
    schedule = entries[0]["schedule"]
    assert schedule.hour == {1} and schedule.minute == {0}  # 09:00 in Shanghai, every day
    assert schedule.day_of_month == set(range(1, 32))


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): row locks and concurrent connections",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_tell_each_admin_once(cast):
    UserFactory(username="root", role=Role.ADMIN)
    with time_machine.travel(NOVEMBER, tick=False):
        for _round in range(ROUNDS):
            results = race(calendar.warn_of_unsettled_year, calendar.warn_of_unsettled_year)
            assert sorted(results) == ([0, 2] if _round == 0 else [0, 0]), results
    assert Notification.objects.filter(kind="calendar_missing").count() == 2
