"""Who sees which request: insiders do, outsiders get 404 everywhere, filters never widen."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from officials.models import Role
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.selectors import get_visible_request, requests_visible_to
from requests_app.workflow import TRANSITIONS, transition
from tests.conftest import INSIDERS, OUTSIDERS
from tests.factories import EnterpriseLinkFactory, ServiceRequestFactory, UserFactory

pytestmark = pytest.mark.django_db

OUTSIDER_NAMES = sorted(OUTSIDERS.values())
INSIDER_NAMES = sorted(INSIDERS.values())
# A request waiting for triage (no department yet), and one being worked on by the Roads Bureau.
SCOPED_STATES = ["submitted", "rectifying"]


def _snapshot(service_request):
    return (
        ServiceRequest.objects.filter(pk=service_request.pk).values().get(),
        RequestEvent.objects.filter(request=service_request).count(),
    )


@pytest.mark.parametrize("state", SCOPED_STATES)
@pytest.mark.parametrize("outsider", OUTSIDER_NAMES)
def test_outsiders_do_not_find_it_in_the_list(cast, api, request_in, state, outsider):
    service_request = request_in(state)
    ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory)  # something they may see
    client = api(cast[outsider])
    body = client.get("/api/v1/requests/").json()
    assert service_request.pk not in [row["id"] for row in body["results"]]
    for query in [
        f"?enterprise={cast.acme.pk}",
        f"?department={cast.roads.pk}",
        f"?search={service_request.reference}",
        "?status=" + service_request.status,
    ]:
        narrowed = client.get("/api/v1/requests/" + query).json()
        assert service_request.pk not in [row["id"] for row in narrowed["results"]], query


@pytest.mark.parametrize("state", SCOPED_STATES)
@pytest.mark.parametrize("outsider", OUTSIDER_NAMES)
@pytest.mark.parametrize("endpoint", ["", "events/", "verify/"])
def test_outsiders_get_404_reading_it(cast, api, request_in, state, outsider, endpoint):
    service_request = request_in(state)
    response = api(cast[outsider]).get(f"/api/v1/requests/{service_request.pk}/{endpoint}")
    assert response.status_code == 404
    missing = api(cast[outsider]).get(f"/api/v1/requests/999999/{endpoint}")
    assert response.json() == missing.json()  # "not yours" reads exactly like "missing"


@pytest.mark.parametrize("state", SCOPED_STATES)
@pytest.mark.parametrize("outsider", OUTSIDER_NAMES)
@pytest.mark.parametrize("action", [*TRANSITIONS, "attachments"])
def test_outsiders_get_404_acting_on_it(cast, api, request_in, state, outsider, action):
    service_request = request_in(state)
    before = _snapshot(service_request)
    client = api(cast[outsider])
    if action == "attachments":
        upload = SimpleUploadedFile("note.txt", b"hello")
        response = client.post(
            f"/api/v1/requests/{service_request.pk}/attachments/",
            {"file": upload},
            format="multipart",
        )
    else:
        # A body that would be valid, so only the scoping can refuse it.
        response = client.post(
            f"/api/v1/requests/{service_request.pk}/{action}/",
            {
                "department": cast.environment.pk,
                "reason": "r",
                "text": "t",
                "question": "q",
                "answer": "a",
                "message": "m",
                "accepted": True,
                "rating": 5,
                "plan": "p",
                "until": (timezone.now() + dt.timedelta(days=30)).isoformat(),
            },
            format="json",
        )
    assert response.status_code == 404
    assert _snapshot(service_request) == before


@pytest.mark.parametrize("insider", INSIDER_NAMES)
def test_insiders_see_it_everywhere(cast, api, request_in, insider):
    """The positive control of the outsider tests: the same calls succeed for the insiders."""
    service_request = request_in("rectifying")
    client = api(cast[insider])
    listed = client.get("/api/v1/requests/").json()["results"]
    assert service_request.pk in [row["id"] for row in listed]
    assert client.get(f"/api/v1/requests/{service_request.pk}/").status_code == 200
    assert client.get(f"/api/v1/requests/{service_request.pk}/events/").status_code == 200
    comment = client.post(
        f"/api/v1/requests/{service_request.pk}/comment/", {"text": "Seen."}, format="json"
    )
    assert comment.status_code == 200


def test_each_sees_exactly_their_share(cast, api):
    """Three requests, one per place; who sees which is the whole scoping rule in one table."""
    acme_new = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    acme_roads = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    transition(acme_roads.pk, "assign", by=cast.liam, department=cast.roads)
    globex_land = ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory)
    transition(globex_land.pk, "assign", by=cast.olga, department=cast.land)
    expected = {
        "alice": {acme_new, acme_roads},
        "mallory": {globex_land},
        "liam": {acme_new, acme_roads},
        "olga": {globex_land},
        "hank": {acme_roads},
        "hilda": {acme_roads},
        "hugo": set(),
        "leona": {acme_new, acme_roads, globex_land},  # linked to acme, Minhou's leader
        "lars": {globex_land},
        "ivan": {acme_new, acme_roads, globex_land},
        "irene": {globex_land},
        "ada": {acme_new, acme_roads, globex_land},
    }
    for persona, visible in expected.items():
        rows = api(cast[persona]).get("/api/v1/requests/").json()["results"]
        assert {row["id"] for row in rows} == {r.pk for r in visible}, persona
        assert set(requests_visible_to(cast[persona])) == visible, persona


def test_a_jurisdiction_covers_the_regions_below(cast, api, request_in):
    service_request = request_in("submitted")
    city_inspector = UserFactory(username="cindy", role=Role.INSPECTOR, department=cast.city)
    district_liaison = UserFactory(username="dora", role=Role.LIAISON, department=cast.gulou)
    for official in (city_inspector, district_liaison):
        response = api(official).get(f"/api/v1/requests/{service_request.pk}/")
        assert response.status_code == 200, official.username


def test_an_ended_link_no_longer_shows_the_enterprise(cast, api, request_in):
    service_request = request_in("submitted")
    former = UserFactory(username="fred", role=Role.LIAISON)
    today = timezone.localdate()
    EnterpriseLinkFactory(
        official=former,
        enterprise=cast.acme,
        start=today - dt.timedelta(days=400),
        end=today - dt.timedelta(days=1),
    )
    assert api(former).get(f"/api/v1/requests/{service_request.pk}/").status_code == 404
    future = UserFactory(username="gina", role=Role.LIAISON)
    EnterpriseLinkFactory(official=future, enterprise=cast.acme, start=today + dt.timedelta(days=1))
    assert api(future).get(f"/api/v1/requests/{service_request.pk}/").status_code == 404


def test_the_liaison_who_took_a_request_keeps_seeing_it(cast, api, request_in):
    service_request = request_in("submitted")
    assert api(cast.olga).get(f"/api/v1/requests/{service_request.pk}/").status_code == 404
    ServiceRequest.objects.filter(pk=service_request.pk).update(liaison=cast.olga)
    assert api(cast.olga).get(f"/api/v1/requests/{service_request.pk}/").status_code == 200


def test_officials_without_a_department_see_only_what_their_role_allows(cast, api, request_in):
    service_request = request_in("rectifying")
    loose_handler = UserFactory(username="lou", role=Role.HANDLER)
    loose_liaison = UserFactory(username="lia", role=Role.LIAISON)
    roving_leader = UserFactory(username="rover", role=Role.LEADER)
    assert api(loose_handler).get(f"/api/v1/requests/{service_request.pk}/").status_code == 404
    assert api(loose_liaison).get(f"/api/v1/requests/{service_request.pk}/").status_code == 404
    assert api(roving_leader).get(f"/api/v1/requests/{service_request.pk}/").status_code == 200
    assert api(loose_liaison).get("/api/v1/enterprises/").json()["count"] == 0
    assert api(loose_handler).get("/api/v1/enterprises/").json()["count"] == 0


def test_an_inactive_user_sees_nothing(cast, request_in):
    service_request = request_in("submitted")
    cast.alice.is_active = False
    assert not requests_visible_to(cast.alice).exists()
    with pytest.raises(Http404):
        get_visible_request(cast.alice, service_request.pk)


@pytest.mark.parametrize("bad_pk", ["abc", None, "", "1.5", 10**30])
def test_the_selector_answers_404_for_nonsense_ids(cast, request_in, bad_pk):
    request_in("submitted")
    with pytest.raises(Http404):
        get_visible_request(cast.ada, bad_pk)


def test_an_entrepreneur_cannot_file_for_another_enterprise(cast, api):
    response = api(cast.mallory).post(
        "/api/v1/requests/",
        {"enterprise": cast.acme.pk, "category": "labor", "title": "t", "description": "d"},
        format="json",
    )
    assert response.status_code == 400
    assert "enterprise" in response.json()
    assert not ServiceRequest.objects.filter(enterprise=cast.acme).exists()


def test_a_liaison_cannot_merge_into_a_request_they_do_not_see(cast, api, request_in):
    service_request = request_in("submitted")
    foreign = ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory)
    response = api(cast.liam).post(
        f"/api/v1/requests/{service_request.pk}/merge/", {"into": foreign.pk}, format="json"
    )
    assert response.status_code == 400
    assert ServiceRequest.objects.get(pk=service_request.pk).status == "submitted"
    assert foreign.events.count() == 1
