"""Bulk assign and transfer from the queue (requests_app.bulk): one input, each request run
through the workflow on its own; what cannot take the action is left as it was and named."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from requests_app.models import RequestEvent, ServiceRequest, Status
from tests.factories import ServiceRequestFactory

pytestmark = pytest.mark.django_db


def client_of(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def told(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_a_liaison_assigns_several_at_once_and_a_wrong_state_is_left_alone(cast, request_in):
    waiting = [request_in("submitted") for _ in range(3)]
    already = request_in("assigned")
    before = RequestEvent.objects.filter(request=already).count()
    response = client_of(cast.liam).post(
        "/requests/bulk/",
        {
            "action": "assign",
            "department": cast.roads.pk,
            "text": "Road works, one team",
            "ids": [r.pk for r in [*waiting, already]],
            "next": "/requests/?category=infrastructure",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/requests/?category=infrastructure"
    for request in waiting:
        request.refresh_from_db()
        assert (request.status, request.department) == (Status.ASSIGNED, cast.roads)
        assert request.events.get(action="assign").note == "Road works, one team"
    assert ServiceRequest.objects.get(pk=already.pk).status == Status.ASSIGNED
    assert RequestEvent.objects.filter(request=already).count() == before
    messages = told(response)
    assert any("3 requests done" in m for m in messages)
    assert any(m.startswith(f"{already.reference} was left as it was") for m in messages)


def test_requests_outside_the_scope_are_not_touched_nor_named(cast, request_in):
    theirs = ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory)
    response = client_of(cast.liam).post(
        "/requests/bulk/",
        {"action": "assign", "department": cast.roads.pk, "ids": [theirs.pk]},
    )
    assert ServiceRequest.objects.get(pk=theirs.pk).status == Status.SUBMITTED
    messages = told(response)
    assert messages == ["None of the ticked requests is visible to you."]
    assert theirs.reference not in " ".join(messages)


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"action": "close"}, "Choose assign or transfer."),
        (
            {"action": "assign", "department": "1", "ids": []},
            "Tick between 1 and 100 requests first.",
        ),
        ({"action": "assign", "ids": ["x"]}, "Tick between 1 and 100 requests first."),
        ({"action": "assign", "ids": [str(i) for i in range(1, 102)]}, "Tick between"),
        ({"action": "assign", "ids": ["1"], "department": "999999"}, "Department:"),
        ({"action": "transfer", "ids": ["1"], "department": "1", "text": " "}, "Note or reason:"),
    ],
)
def test_bad_bulk_input_changes_nothing_and_says_why(cast, request_in, form, problem):
    waiting = request_in("submitted")
    form = {**form, "ids": form.get("ids", [str(waiting.pk)])}
    if form.get("department") == "1":
        form["department"] = str(cast.roads.pk)
    response = client_of(cast.liam).post("/requests/bulk/", form)
    assert response.status_code == 302
    assert ServiceRequest.objects.get(pk=waiting.pk).status == Status.SUBMITTED
    assert any(problem in m for m in told(response)), told(response)


def test_a_handler_transfers_only_their_own_departments(cast, request_in):
    ours = request_in("assigned")  # assigned to the Roads Bureau, hank's
    response = client_of(cast.hank).post(
        "/requests/bulk/",
        {
            "action": "transfer",
            "department": cast.environment.pk,
            "text": "Parks' land",
            "ids": [ours.pk],
        },
    )
    ours.refresh_from_db()
    assert ours.department == cast.environment, told(response)


def test_the_bulk_bar_is_offered_to_those_who_may_assign_or_transfer(cast, request_in):
    request_in("submitted")
    liaison = client_of(cast.liam).get("/requests/").content.decode()
    assert 'action="/requests/bulk/"' in liaison and 'name="ids"' in liaison
    assert '<option value="assign">Assign</option>' in liaison
    entrepreneur = client_of(cast.alice).get("/requests/").content.decode()
    assert 'action="/requests/bulk/"' not in entrepreneur


def test_an_entrepreneur_cannot_bulk_act(cast, request_in):
    waiting = request_in("submitted")
    response = client_of(cast.alice).post(
        "/requests/bulk/",
        {"action": "assign", "department": cast.roads.pk, "ids": [waiting.pk]},
    )
    assert response.status_code == 403
    assert ServiceRequest.objects.get(pk=waiting.pk).status == Status.SUBMITTED
