"""Conflicts of interest (回避): a declared tie keeps an enterprise's requests from the official.

hank declares that a relative works at acme. Assigning acme's request to him, or his signing for
it, is refused with a reason; the recusal is on the request's timeline; the assign form and the
API offer who may take it instead. A liaison with a tie is refused, and passed over in routing.
"""

import pytest
from django.utils import timezone

from compliance.models import Declaration
from compliance.services import record_declaration
from requests_app.checkpoints import verify_chain
from requests_app.models import ServiceRequest, Status
from requests_app.workflow import InvalidInput, transition
from tests.factories import ServiceRequestFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tied(cast) -> Declaration:
    judged = record_declaration(by=cast.hank, enterprise=cast.acme, relation="relative_employed")
    return judged.record


def last_event(service_request):
    return service_request.events.order_by("-seq").first()


def test_assigning_to_a_conflicted_handler_is_refused_and_the_recusal_recorded(
    api, cast, request_in, tied
):
    service_request = request_in("submitted")
    response = api(cast.liam).post(
        f"/api/v1/requests/{service_request.pk}/assign/",
        {"department": cast.roads.pk, "handler": cast.hank.pk},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "recuse" in response.json()["handler"][0]
    service_request.refresh_from_db()
    assert (service_request.status, service_request.handler) == (Status.SUBMITTED, None)
    event = last_event(service_request)
    assert (event.action, event.actor, event.to_status) == ("recusal", cast.liam, "submitted")
    assert event.data == {
        "official": cast.hank.pk,
        "role": "handler",
        "declaration": tied.pk,
        "refused": "assign",
    }
    assert verify_chain(service_request).ok


def test_another_handler_may_take_it(api, cast, request_in, tied):
    service_request = request_in("submitted")
    response = api(cast.liam).post(
        f"/api/v1/requests/{service_request.pk}/assign/",
        {"department": cast.roads.pk, "handler": cast.hilda.pk},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["handler"]["id"] == cast.hilda.pk


def test_an_ended_declaration_no_longer_recuses(cast, request_in, tied):
    Declaration.objects.filter(pk=tied.pk).update(ended_at=timezone.now())
    service_request = request_in("submitted")
    changed = transition(
        service_request.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank
    )
    assert changed.handler == cast.hank


def test_signing_for_it_oneself_is_refused_too(cast, request_in, tied):
    service_request = request_in("submitted")
    transition(service_request.pk, "assign", by=cast.liam, department=cast.roads)
    with pytest.raises(InvalidInput) as refused:
        transition(service_request.pk, "start", by=cast.hank)
    assert "handler" in refused.value.errors
    service_request.refresh_from_db()
    assert service_request.status == Status.ASSIGNED
    assert last_event(service_request).action == "recusal"
    transition(service_request.pk, "start", by=cast.hilda)


def test_the_api_lists_who_may_take_it_instead(api, cast, request_in, tied):
    service_request = request_in("submitted")
    path = f"/api/v1/requests/{service_request.pk}/eligible-handlers/?department={cast.roads.pk}"
    response = api(cast.liam).get(path)
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [cast.hilda.pk]
    assert api(cast.alice).get(path).status_code == 403
    assert api(cast.mallory).get(path).status_code == 404
    bad = api(cast.liam).get(
        f"/api/v1/requests/{service_request.pk}/eligible-handlers/?department=x"
    )
    assert bad.status_code == 400


def test_the_assign_form_offers_only_eligible_handlers_and_shows_the_refusal(
    client, cast, request_in, tied
):
    service_request = request_in("submitted")
    client.force_login(cast.liam)
    page = client.get(f"/requests/{service_request.pk}/").content.decode()
    # Handlers are offered grouped by department; Hank, who declared a tie, is not offered.
    assert f'<option value="{cast.hilda.pk}" data-department="{cast.roads.pk}">' in page
    assert f'<option value="{cast.hank.pk}" data-department=' not in page
    response = client.post(
        f"/requests/{service_request.pk}/act/assign/",
        {"department": cast.roads.pk, "handler": cast.hank.pk},
    )
    assert response.status_code == 200
    assert "回避" in response.content.decode()
    assert last_event(service_request).action == "recusal"


def test_a_conflicted_liaison_may_not_take_the_request(api, cast, request_in):
    record_declaration(by=cast.liam, enterprise=cast.acme, relation="shareholding")
    service_request = request_in("submitted")
    response = api(cast.liam).post(
        f"/api/v1/requests/{service_request.pk}/assign/",
        {"department": cast.roads.pk},
        format="json",
    )
    assert response.status_code == 400 and "liaison" in response.json()
    event = last_event(service_request)
    assert (event.action, event.data["role"]) == ("recusal", "liaison")


def test_routing_passes_over_a_conflicted_liaison_and_says_so(cast):
    record_declaration(by=cast.liam, enterprise=cast.acme, relation="relative_owner")
    service_request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    service_request = ServiceRequest.objects.get(pk=service_request.pk)
    assert service_request.liaison is None
    actions = list(service_request.events.order_by("seq").values_list("action", flat=True))
    assert actions == ["submitted", "recusal"]
    assert verify_chain(service_request).ok


def test_without_a_declaration_routing_is_unchanged(cast):
    service_request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    assert ServiceRequest.objects.get(pk=service_request.pk).liaison == cast.liam
