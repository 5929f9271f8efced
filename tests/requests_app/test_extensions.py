"""Extensions (挂账督办): who decides them, refusal, the cap on how far they reach, and what a far
extension costs a page.

Who decides: the enterprise's linked leader; when it has none, the head of the handling
department (whatever their role); or an administrator. Anyone else who sees the request gets 403,
anyone who does not 404 (requests_app/approvers.py).
"""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from officials.models import EnterpriseLink, Role
from requests_app import approvers
from requests_app.deadlines import Clocks
from requests_app.models import ExtensionState, RequestEvent, ServiceRequest, Status
from requests_app.workflow import InvalidInput, allowed_actions, transition
from requests_app.working_time import add_working_time
from tests.conftest import PENDING_EXTENSION, at, drive
from tests.factories import ServiceRequestFactory, UserFactory

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
# A Monday of an official year: 2026 is in the calendar the data migration loads.
MONDAY = at("2026-03-02 09:00")


@pytest.fixture
def gus(cast):
    """A leader of Gulou District: he sees acme's requests, but is not linked to acme."""
    return UserFactory(username="gus", name="Gus", role=Role.LEADER, department=cast.gulou)


@pytest.fixture
def heads(cast):
    """hilda (a handler) heads the Roads Bureau; hugo heads the Environment Bureau."""
    cast.roads.head = cast.hilda
    cast.roads.save()
    cast.environment.head = cast.hugo
    cast.environment.save()
    return cast


def _unlink_leona(cast) -> None:
    """acme's linked leader leaves: the link ended yesterday."""
    EnterpriseLink.objects.filter(official=cast.leona, enterprise=cast.acme).update(
        end=dt.date.today() - DAY
    )


def _snapshot(service_request):
    row = ServiceRequest.objects.filter(pk=service_request.pk).values().get()
    return row, RequestEvent.objects.filter(request=service_request).count()


# (persona, code when acme has a linked leader, code when it has none)
DECIDERS = [
    ("leona", 200, 404),  # the linked leader; once unlinked, a Minhou leader who cannot see it
    ("gus", 403, 403),  # a leader of the region, not linked
    ("lars", 404, 404),  # a leader of another county
    ("hilda", 403, 200),  # the head of the handling department: only without a linked leader
    ("hugo", 404, 404),  # the head of another department
    ("ada", 200, 200),  # an administrator
    ("hank", 403, 403),  # the handler who asked
    ("liam", 403, 403),  # the liaison
    ("alice", 403, 403),  # the entrepreneur
    ("ivan", 403, 403),  # an inspector of the whole portal
    ("irene", 404, 404),  # an inspector of another county
]
BODIES = {
    "approve_extension": {"note": "Agreed at the weekly meeting."},
    "refuse_extension": {"reason": "The plan has no dates."},
}


@pytest.mark.parametrize("linked", [True, False], ids=["linked-leader", "no-linked-leader"])
@pytest.mark.parametrize("action", list(BODIES))
@pytest.mark.parametrize("persona, with_leader, without_leader", DECIDERS)
def test_who_decides_an_extension(
    heads, gus, api, request_in, action, persona, with_leader, without_leader, linked
):
    cast = heads
    service_request = request_in(PENDING_EXTENSION)
    if not linked:
        _unlink_leona(cast)
    expected = with_leader if linked else without_leader
    actor = gus if persona == "gus" else cast[persona]
    before = _snapshot(service_request)

    response = api(actor).post(
        f"/api/v1/requests/{service_request.pk}/{action}/", BODIES[action], format="json"
    )

    assert response.status_code == expected, response.content
    if expected != 200:
        assert _snapshot(service_request) == before
        return
    assert response.json()["status"] == Status.RECTIFYING
    decided = ServiceRequest.objects.get(pk=service_request.pk)
    wanted = ExtensionState.APPROVED if action == "approve_extension" else ExtensionState.REFUSED
    assert decided.extension_state == wanted
    event = decided.events.order_by("-seq").first()
    assert (event.action, event.actor_id) == (action, actor.pk)


@pytest.mark.parametrize("linked", [True, False], ids=["linked-leader", "no-linked-leader"])
def test_allowed_actions_offer_the_decision_to_the_deciders_only(heads, gus, request_in, linked):
    cast = heads
    service_request = request_in(PENDING_EXTENSION)
    if not linked:
        _unlink_leona(cast)
    for persona, with_leader, without_leader in DECIDERS:
        actor = gus if persona == "gus" else cast[persona]
        fresh = ServiceRequest.objects.with_related().get(pk=service_request.pk)
        offered = {"approve_extension", "refuse_extension"} & set(allowed_actions(fresh, actor))
        decides = (with_leader if linked else without_leader) == 200
        assert offered == ({"approve_extension", "refuse_extension"} if decides else set()), persona


def test_the_people_asked_are_the_linked_leaders_else_the_head(heads, request_in):
    cast = heads
    service_request = request_in(PENDING_EXTENSION)
    assert approvers.extension_approvers(service_request) == [cast.leona]
    _unlink_leona(cast)
    assert approvers.extension_approvers(service_request) == [cast.hilda]
    cast.hilda.is_active = False
    cast.hilda.save()
    assert approvers.extension_approvers(service_request) == []
    cast.roads.head = None
    cast.roads.save()
    service_request = ServiceRequest.objects.with_related().get(pk=service_request.pk)
    assert approvers.extension_approvers(service_request) == []


def test_a_leader_who_left_no_longer_decides_and_the_head_does(heads, request_in):
    cast = heads
    service_request = request_in(PENDING_EXTENSION)
    cast.leona.is_active = False
    cast.leona.save()
    fresh = ServiceRequest.objects.with_related().get(pk=service_request.pk)
    assert approvers.may_decide_extension(fresh, cast.hilda)
    assert not approvers.may_decide_extension(fresh, cast.leona)


# --- refusing ------------------------------------------------------------------------------------


def test_a_refusal_keeps_the_answer_clock_and_the_handler_may_ask_again(cast, api, request_in):
    service_request = request_in(PENDING_EXTENSION)
    due = service_request.answer_due_at
    until = service_request.extension_until

    response = api(cast.leona).post(
        f"/api/v1/requests/{service_request.pk}/refuse_extension/",
        {"reason": "The plan has no dates."},
        format="json",
    )

    assert response.status_code == 200, response.content
    refused = ServiceRequest.objects.get(pk=service_request.pk)
    assert refused.status == Status.RECTIFYING
    assert refused.extension_state == ExtensionState.REFUSED
    assert refused.answer_due_at == due
    event = refused.events.order_by("-seq").first()
    assert (event.action, event.note) == ("refuse_extension", "The plan has no dates.")
    assert (event.from_status, event.to_status) == (Status.RECTIFYING, Status.RECTIFYING)
    assert dt.datetime.fromisoformat(event.data["until"]) == until
    # The handler sees the refusal, and asks again with a better plan.
    handler_view = api(cast.hank).get(f"/api/v1/requests/{service_request.pk}/").json()
    assert handler_view["extension_state"] == "refused"
    assert "extend" in handler_view["allowed_actions"]
    again = api(cast.hank).post(
        f"/api/v1/requests/{service_request.pk}/extend/",
        {"until": (due + 7 * DAY).isoformat(), "plan": "Day 1: survey. Day 5: repave."},
        format="json",
    )
    assert again.status_code == 200, again.content
    assert again.json()["extension_state"] == "pending"
    assert ServiceRequest.objects.get(pk=service_request.pk).answer_due_at == due


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_a_refusal_needs_a_reason(cast, api, request_in, body):
    service_request = request_in(PENDING_EXTENSION)
    before = _snapshot(service_request)
    response = api(cast.leona).post(
        f"/api/v1/requests/{service_request.pk}/refuse_extension/", body, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()
    assert _snapshot(service_request) == before


def test_nothing_to_refuse_is_409(cast, api, request_in):
    service_request = request_in("rectifying")
    response = api(cast.leona).post(
        f"/api/v1/requests/{service_request.pk}/refuse_extension/",
        {"reason": "No."},
        format="json",
    )
    assert response.status_code == 409


def test_the_refusal_on_the_page_in_both_languages(cast, request_in):
    service_request = request_in(PENDING_EXTENSION)
    for language, label in (("zh-hans", "不批准延期"), ("en", "Refuse the extension")):
        client = _page_client(cast.leona, language)
        html = client.get(f"/requests/{service_request.pk}/?act=refuse_extension").content
        page = html.decode()
        assert label in page
        assert 'id="action-refuse_extension" open' in page
    response = _page_client(cast.leona, "en").post(
        f"/requests/{service_request.pk}/act/refuse_extension/", {"reason": ""}
    )
    assert 'id="err-refuse_extension-reason"' in response.content.decode()
    response = _page_client(cast.leona, "en").post(
        f"/requests/{service_request.pk}/act/refuse_extension/", {"reason": "No dates."}
    )
    assert response.status_code == 302
    html = _page_client(cast.hank, "en").get(f"/requests/{service_request.pk}/").content.decode()
    assert "Extension refused" in html and "No dates." in html


def _page_client(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


# --- how far an extension reaches ----------------------------------------------------------------


def _extend(api, cast, service_request, until):
    return api(cast.hank).post(
        f"/api/v1/requests/{service_request.pk}/extend/",
        {"until": until if isinstance(until, str) else until.isoformat(), "plan": "Repave."},
        format="json",
    )


def test_an_extension_to_2999_is_400_and_changes_nothing(cast, api, request_in):
    service_request = request_in("rectifying")
    before = _snapshot(service_request)
    response = _extend(api, cast, service_request, "2999-12-31T18:00:00+08:00")
    assert response.status_code == 400
    assert "60" in response.json()["until"][0]
    assert _snapshot(service_request) == before


def test_an_extension_reaches_at_most_the_configured_working_days(cast, api, settings):
    with time_machine.travel(MONDAY, tick=False):
        service_request = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "rectifying"
        )
        calendar = Clocks.current().calendar
        latest = add_working_time(MONDAY, 60 * DAY, calendar)
        # Qingming and Labour Day fall inside: 60 working days are more than 12 weeks.
        assert latest - MONDAY > 12 * 7 * DAY
        too_far = _extend(api, cast, service_request, latest + dt.timedelta(minutes=1))
        assert too_far.status_code == 400
        (message,) = too_far.json()["until"]  # the portal's language: Chinese by default
        latest_text = f"{latest.astimezone(MONDAY.tzinfo):%Y-%m-%d %H:%M}"
        assert message == f"延期最多只能延至 60 个工作日之后，即最晚 {latest_text}。"
        assert ServiceRequest.objects.get(pk=service_request.pk).extension_state == ""
        assert _extend(api, cast, service_request, latest).status_code == 200

        settings.DEADLINE_EXTENSION_MAX_DAYS = 10
        other = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "rectifying"
        )
        ten = add_working_time(MONDAY, 10 * DAY, calendar)
        refused = _extend(api, cast, other, ten + dt.timedelta(minutes=1))
        assert refused.status_code == 400 and "10" in refused.json()["until"][0]
        assert _extend(api, cast, other, ten).status_code == 200


def test_the_cap_costs_the_same_whatever_the_date_asked_for(cast):
    """Finding the latest date adds working time (a search in a year table), it never walks
    the days up to the date asked for: 2999 costs what the end of the year costs."""
    with time_machine.travel(MONDAY, tick=False):
        service_request = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "rectifying"
        )
        costs = []
        for until in (at("2026-12-31 18:00"), at("2999-12-31 18:00")):
            with (
                CaptureQueriesContext(connection) as queries,
                pytest.raises(InvalidInput) as refused,
            ):
                transition(service_request.pk, "extend", by=cast.hank, until=until, plan="p")
            assert "until" in refused.value.errors
            costs.append(len(queries))
        assert costs[0] == costs[1]


# --- what a far extension costs a page ------------------------------------------------------------


def _far_extension(cast, *, approve: bool) -> ServiceRequest:
    service_request = drive(
        cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "rectifying"
    )
    until = add_working_time(MONDAY, 60 * DAY, Clocks.current().calendar)
    transition(service_request.pk, "extend", by=cast.hank, until=until, plan="Rebuild the road.")
    if approve:
        transition(service_request.pk, "approve_extension", by=cast.leona)
    return ServiceRequest.objects.get(pk=service_request.pk)


def _cost(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "pending"])
def test_a_request_extended_60_working_days_costs_what_any_other_costs(cast, approve):
    with time_machine.travel(MONDAY, tick=False):
        plain = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "rectifying"
        )
        client = _page_client(cast.hank)
        _cost(client, f"/requests/{plain.pk}/")  # warm: session, calendar, translations
        _cost(client, "/requests/")
        baseline = (_cost(client, f"/requests/{plain.pk}/"), _cost(client, "/requests/"))
        extended = _far_extension(cast, approve=approve)
        if approve:
            assert extended.answer_due_at - MONDAY > 12 * 7 * DAY
        queue_with_both = _cost(client, "/requests/")
        detail = _cost(client, f"/requests/{extended.pk}/")
        # The queue now lists two requests: a list costs the same whatever its rows.
        assert (detail, queue_with_both) == baseline


def test_the_api_list_asks_who_decides_once_a_page(cast, api, request_in):
    """A leader's list with pending extensions: one query for the linked leaders of the whole
    page, whether it holds one pending extension or three."""
    request_in(PENDING_EXTENSION)
    client = api(cast.leona)
    client.get("/api/v1/requests/")  # warm
    with CaptureQueriesContext(connection) as one:
        body = client.get("/api/v1/requests/").json()
    assert [r["allowed_actions"] for r in body["results"]][0][:2] == [
        "approve_extension",
        "refuse_extension",
    ]
    request_in(PENDING_EXTENSION)
    request_in(PENDING_EXTENSION)
    with CaptureQueriesContext(connection) as three:
        body = client.get("/api/v1/requests/").json()
    assert len(body["results"]) == 3
    assert all("approve_extension" in r["allowed_actions"] for r in body["results"])
    assert len(three) == len(one)


# --- where pending extensions appear --------------------------------------------------------------


def test_pending_extensions_appear_for_those_who_decide_them(heads, gus, request_in):
    cast = heads
    service_request = request_in(PENDING_EXTENSION)
    title = service_request.title

    def listed(user, query="") -> bool:
        return title in _page_client(user).get(f"/extensions/{query}").content.decode()

    assert listed(cast.leona) and listed(cast.ada)
    assert not listed(gus) and not listed(cast.hilda) and not listed(cast.hank)
    assert listed(gus, "?show=all")  # he sees it, but it is not his to decide
    ledger = _page_client(cast.leona).get("/ledger/").content.decode()
    assert "1 extension waits for your decision." in ledger
    _unlink_leona(cast)
    assert listed(cast.hilda) and listed(cast.ada)
    assert not listed(gus) and not listed(cast.hank) and not listed(cast.hugo)
    # The head (a handler here) finds it in the department's queue too, marked as pending.
    queue = _page_client(cast.hilda).get("/requests/").content.decode()
    assert title in queue and "Pending approval" in queue


def test_the_decidable_filter_agrees_with_the_rule(heads, gus, request_in):
    """`decidable_by` (SQL, for lists) and `may_decide_extension` (Python, per request) say the
    same for every persona, with and without a linked leader."""
    cast = heads
    pending = [request_in(PENDING_EXTENSION) for _ in range(2)]
    for linked in (True, False):
        if not linked:
            _unlink_leona(cast)
        for persona, *_ in DECIDERS:
            user = gus if persona == "gus" else cast[persona]
            rows = ServiceRequest.objects.with_related().filter(pk__in=[r.pk for r in pending])
            by_sql = set(rows.filter(approvers.decidable_by(user)).values_list("pk", flat=True))
            by_rule = {r.pk for r in rows if approvers.may_decide_extension(r, user)}
            assert by_sql == by_rule, (persona, linked)
