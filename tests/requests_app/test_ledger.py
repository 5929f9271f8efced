"""The supervision ledger (挂账督办): approved extensions, scoped, until struck off (事结销号)."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from requests_app.models import ExtensionState, Status
from requests_app.workflow import transition
from tests.conftest import PENDING_EXTENSION

pytestmark = pytest.mark.django_db


def page_client(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


@pytest.fixture
def supervised(cast, request_in):
    """`supervised()`: a request of acme whose extension leona approved."""

    def make():
        pending = request_in(PENDING_EXTENSION)
        return transition(pending.pk, "approve_extension", by=cast.leona)

    return make


def test_the_ledger_lists_approved_extensions_with_plan_due_date_and_progress(cast, supervised):
    service_request = supervised()
    html = page_client(cast.leona).get("/ledger/").content.decode()
    assert service_request.reference in html and service_request.title in html
    assert "Acme Valves" in html and "Gulou Roads Bureau" in html
    assert "Week 1: survey." in html  # the plan
    assert service_request.answer_due_at == service_request.extension_until
    due = service_request.answer_due_at.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert due.strftime("%Y-%m-%d %H:%M") in html
    assert "Extension approved" in html  # progress: the latest event
    assert "badge ok" in html


def test_progress_follows_the_latest_event(cast, supervised):
    service_request = supervised()
    transition(service_request.pk, "comment", by=cast.hank, text="Survey done.")
    html = page_client(cast.leona).get("/ledger/").content.decode()
    assert "Comment" in html and "Extension approved" not in html


def test_pending_extensions_and_plain_requests_are_not_on_the_ledger(cast, request_in):
    pending = request_in(PENDING_EXTENSION)
    plain = request_in("rectifying")
    html = page_client(cast.leona).get("/ledger/").content.decode()
    assert pending.reference not in html and plain.reference not in html
    assert "No request is under supervision." in html


def test_a_closed_request_is_struck_off(cast, supervised):
    service_request = supervised()
    transition(service_request.pk, "feedback", by=cast.hank, message="Repaved the road.")
    answered = page_client(cast.leona).get("/ledger/").content.decode()
    assert service_request.reference in answered  # answered, not yet accepted: still supervised
    transition(service_request.pk, "review", by=cast.alice, accepted=True, rating=5)
    client = page_client(cast.leona)
    assert service_request.reference not in client.get("/ledger/").content.decode()
    struck_off = client.get("/ledger/?show=closed").content.decode()
    assert service_request.reference in struck_off and "Struck off" in struck_off


def test_a_closed_request_without_extension_is_not_struck_off_here(cast, request_in):
    closed = request_in("closed")
    html = page_client(cast.leona).get("/ledger/?show=closed").content.decode()
    assert closed.reference not in html


def test_the_ledger_is_scoped_to_what_the_leader_may_see(cast, supervised):
    service_request = supervised()
    assert service_request.extension_state == ExtensionState.APPROVED
    assert service_request.reference not in page_client(cast.lars).get("/ledger/").content.decode()
    assert service_request.reference in page_client(cast.ada).get("/ledger/").content.decode()


@pytest.mark.parametrize("username", ["alice", "liam", "hank", "ivan"])
def test_only_leaders_and_admins_have_a_ledger(cast, username):
    assert page_client(cast[username]).get("/ledger/").status_code == 403


def test_the_ledger_is_in_the_leaders_menu_and_linked_from_the_extensions(cast):
    client = page_client(cast.leona)
    assert 'href="/ledger/"' in client.get("/requests/").content.decode()
    assert 'href="/ledger/"' in client.get("/extensions/").content.decode()
    assert 'href="/ledger/"' not in page_client(cast.liam).get("/extensions/").content.decode()


def test_the_badge_turns_amber_then_red_as_the_extended_date_nears_and_passes(cast, supervised):
    service_request = supervised()
    due = service_request.answer_due_at
    # Log in after travelling: a session started two weeks earlier would have expired.
    with time_machine.travel(due - dt.timedelta(hours=2), tick=False):
        assert "badge warn" in page_client(cast.leona).get("/ledger/").content.decode()
    with time_machine.travel(due + dt.timedelta(hours=5), tick=False):
        html = page_client(cast.leona).get("/ledger/").content.decode()
    assert "badge late" in html and "5h overdue" in html


def test_the_ledger_in_chinese(cast, supervised):
    supervised()
    html = page_client(cast.leona, "zh-hans").get("/ledger/").content.decode()
    assert "挂账督办" in html and "事结销号" in html


def _count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", ["/ledger/", "/ledger/?show=closed"])
def test_the_ledger_runs_a_constant_number_of_queries(cast, supervised, path):
    def fill(n):
        for _ in range(n):
            service_request = supervised()
            if "closed" in path:
                transition(service_request.pk, "feedback", by=cast.hank, message="Done.")
                transition(service_request.pk, "review", by=cast.alice, accepted=True, rating=4)

    client = page_client(cast.leona)
    fill(3)
    few = _count_queries(client, path)
    fill(27)
    many = _count_queries(client, path)
    assert few == many
    sized = f"{path}{'&' if '?' in path else '?'}page_size=50"  # every row on one page
    html = client.get(sized).content.decode()
    status = Status.CLOSED if "closed" in path else Status.RECTIFYING
    assert html.count('href="/requests/') >= 30
    assert cast.acme.requests.filter(status=status).count() == 30


# --- countdown badges in every queue -------------------------------------------------------------


@pytest.mark.parametrize("username", ["liam", "hank", "leona"])
def test_every_queue_shows_red_amber_and_green_badges(cast, request_in, username):
    """Badges use the running clock: red past it, amber in its last quarter, green before."""
    tuesday = dt.datetime(2025, 3, 4, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with time_machine.travel(tuesday, tick=False):  # a plain working week, no holiday near
        late, near, _fresh = (request_in("rectifying") for _ in range(3))
        now = tuesday + dt.timedelta(hours=1)
        type(late).objects.filter(pk=late.pk).update(answer_due_at=now - dt.timedelta(hours=1))
        type(near).objects.filter(pk=near.pk).update(answer_due_at=now + dt.timedelta(hours=3))
    with time_machine.travel(now, tick=False):
        html = page_client(cast[username]).get("/requests/").content.decode()
    assert "badge late" in html and "badge warn" in html and "badge ok" in html


def test_amber_counts_working_time_left_not_calendar_time():
    """Friday 20:00 with a Monday 10:00 deadline: 2½ calendar days, but 14 working hours left."""
    from django.utils import timezone

    from requests_app.deadlines import DeadlinePolicy
    from requests_app.models import ServiceRequest
    from requests_app.presenters import clock_badge
    from requests_app.working_time import WeekendCalendar

    shanghai = dt.timezone(dt.timedelta(hours=8))
    friday = dt.datetime(2025, 3, 7, 20, 0, tzinfo=shanghai)
    monday = dt.datetime(2025, 3, 10, 10, 0, tzinfo=shanghai)
    row = ServiceRequest(status=Status.RECTIFYING, answer_due_at=monday)
    with timezone.override("Asia/Shanghai"):
        assert clock_badge(row, friday, DeadlinePolicy()).level == "ok"  # calendar time only
        assert clock_badge(row, friday, DeadlinePolicy(), WeekendCalendar()).level == "warn"
        wednesday = dt.datetime(2025, 3, 5, 20, 0, tzinfo=shanghai)
        assert clock_badge(row, wednesday, DeadlinePolicy(), WeekendCalendar()).level == "ok"
