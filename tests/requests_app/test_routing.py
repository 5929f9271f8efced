"""A request always reaches a liaison (`requests_app.routing`): the linked one (首接负责制); when
every linked liaison recused (回避) or none is linked, another eligible liaison of the region —
active, whose department covers the enterprise's region, without a tie — the one with the fewest
open requests, lowest id on a tie; else nobody, and the region's administrators are told.

Recusal details are for officials and inspectors: the enterprise reads "reassigned", no name.

Cast: acme (Gulou) is linked to liam (no department); dora and dan are liaisons of Gulou District
(created in that order); olga is Minhou's liaison; ada an administrator without a department.
"""

import pytest
from django.test import Client

from compliance.services import record_declaration
from notifications.models import Notification
from officials.models import Role
from requests_app import routing
from requests_app.checkpoints import verify_chain
from requests_app.models import RequestEvent, ServiceRequest, Status
from requests_app.workflow import InvalidInput, transition
from tests.factories import EnterpriseFactory, ServiceRequestFactory, UserFactory

pytestmark = pytest.mark.django_db


def liaison(username: str, department, **extra):
    return UserFactory(
        username=username, name=username.title(), role=Role.LIAISON, department=department, **extra
    )


@pytest.fixture
def dora(cast):
    return liaison("dora", cast.gulou)


def told(kind: str) -> list[str]:
    rows = Notification.objects.filter(kind=kind).order_by("recipient__username")
    return list(rows.values_list("recipient__username", flat=True))


def file(cast, enterprise=None) -> ServiceRequest:
    made = ServiceRequestFactory(enterprise=enterprise or cast.acme, by=cast.alice)
    return ServiceRequest.objects.with_related().get(pk=made.pk)


def tie(cast, official, enterprise=None):
    record_declaration(by=official, enterprise=enterprise or cast.acme, relation="shareholding")


# --- at submission -------------------------------------------------------------------------------


def test_the_linked_liaison_takes_it_and_is_told(cast, dora):
    service_request = file(cast)
    assert service_request.liaison == cast.liam
    assert told("new_request") == ["liam"]
    assert told("request_unrouted") == []


def test_when_the_only_linked_liaison_recused_an_eligible_liaison_takes_it(cast, dora):
    tie(cast, cast.liam)
    service_request = file(cast)
    assert service_request.liaison == dora
    assert told("new_request") == ["dora"]
    actions = list(service_request.events.order_by("seq").values_list("action", flat=True))
    assert actions == ["submitted", "recusal"]
    assert verify_chain(service_request).ok


def test_an_enterprise_with_no_linked_liaison_reaches_the_regions_liaison(cast, dora):
    lone = EnterpriseFactory(name="Lone Tea", region="gulou")
    alice_acts_for = cast.alice.enterprises
    alice_acts_for.add(lone)
    assert file(cast, lone).liaison == dora


def test_a_liaison_of_the_city_covers_the_district(cast):
    city = liaison("cyril", cast.city)
    tie(cast, cast.liam)
    assert file(cast).liaison == city


def test_the_fewest_open_requests_wins_then_the_lowest_id(cast, dora):
    dan = liaison("dan", cast.gulou)
    assert dora.pk < dan.pk
    tie(cast, cast.liam)
    first = file(cast)
    assert first.liaison == dora  # both have none open: the lowest id
    second = file(cast)
    assert second.liaison == dan  # dora has one open now
    transition(first.pk, "withdraw", by=cast.alice)
    assert file(cast).liaison == dora  # her only request is closed: none open again


@pytest.mark.parametrize("who", ["declared", "inactive", "other_district", "handler"])
def test_who_is_not_eligible(cast, who):
    tie(cast, cast.liam)
    if who == "declared":
        tie(cast, liaison("dora", cast.gulou))
    elif who == "inactive":
        liaison("dora", cast.gulou, is_active=False)
    elif who == "other_district":
        pass  # olga, Minhou's liaison, is in the cast
    else:
        UserFactory(username="hal", role=Role.HANDLER, department=cast.gulou)
    assert routing.next_eligible(cast.acme) is None
    assert file(cast).liaison is None


def test_with_no_eligible_liaison_the_request_waits_and_the_admins_are_told(cast):
    tie(cast, cast.liam)
    service_request = file(cast)
    assert service_request.liaison is None
    assert told("request_unrouted") == ["ada"]
    assert told("new_request") == []
    row = Notification.objects.get(kind="request_unrouted")
    assert row.link == f"/requests/{service_request.pk}/"


def test_the_admins_of_the_region_are_told_before_those_of_the_whole_portal(cast):
    gus = UserFactory(username="gus", role=Role.ADMIN, department=cast.gulou)
    UserFactory(username="mia", role=Role.ADMIN, department=cast.minhou)
    assert routing.region_admins(cast.acme) == [gus]
    assert routing.region_admins(cast.globex)[0].username == "mia"
    tie(cast, cast.liam)
    file(cast)
    assert told("request_unrouted") == ["gus"]


# --- when the request's liaison recuses later ----------------------------------------------------


def recuse(cast, service_request):
    """liam declares a tie after the request reached him, then tries to assign it."""
    tie(cast, cast.liam)
    with pytest.raises(InvalidInput) as refused:
        transition(service_request.pk, "assign", by=cast.liam, department=cast.roads)
    assert "liaison" in refused.value.errors
    service_request.refresh_from_db()
    return service_request


def test_the_only_linked_liaison_recuses_and_an_eligible_liaison_takes_over(cast, dora):
    service_request = recuse(cast, file(cast))
    assert (service_request.status, service_request.liaison) == (Status.SUBMITTED, dora)
    assert told("liaison_reassigned") == ["dora"]
    event = service_request.events.order_by("-seq").first()
    assert (event.action, event.actor) == ("recusal", cast.liam)
    assert event.data["liaison"] == {"from": cast.liam.pk, "to": dora.pk}
    assert verify_chain(service_request).ok
    # dora may act on it at once.
    transition(service_request.pk, "assign", by=dora, department=cast.roads)


def test_another_linked_liaison_comes_before_the_region(cast, dora):
    lily = liaison("lily", None, enterprises=[cast.acme])
    service_request = recuse(cast, file(cast))
    assert service_request.liaison == lily
    assert told("liaison_reassigned") == ["lily"]


def test_with_nobody_to_take_over_the_admins_are_told(cast):
    service_request = recuse(cast, file(cast))
    assert service_request.liaison is None
    assert told("request_unrouted") == ["ada"]
    event = service_request.events.order_by("-seq").first()
    assert event.data["liaison"] == {"from": cast.liam.pk, "to": None}


def test_a_handlers_recusal_leaves_the_liaison_alone(cast, dora):
    service_request = file(cast)
    tie(cast, cast.hank)
    with pytest.raises(InvalidInput):
        transition(
            service_request.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank
        )
    service_request.refresh_from_db()
    assert service_request.liaison == cast.liam
    assert "liaison" not in service_request.events.order_by("-seq").first().data
    assert told("liaison_reassigned") == []


# --- what the enterprise reads of a recusal ------------------------------------------------------


@pytest.fixture
def recused(cast, dora) -> ServiceRequest:
    return recuse(cast, file(cast))


def events_of(api, user, service_request) -> list[dict]:
    response = api(user).get(
        f"/api/v1/requests/{service_request.pk}/events/", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    return response.json()["results"]


def test_the_enterprise_reads_only_that_the_request_was_reassigned(api, cast, recused):
    rows = events_of(api, cast.alice, recused)
    assert [row["action"] for row in rows] == ["submitted", "reassigned"]
    shown = rows[-1]
    assert shown["actor"] is None and shown["data"] == {}
    assert shown["note"] == "The request was passed to another official."
    stored = RequestEvent.objects.get(pk=shown["id"])
    assert shown["hash"] == stored.hash and stored.action == "recusal"  # nothing rewritten
    body = str(rows)
    # The stored note is in the language of whoever recused: neither language's words show.
    for words in ("Liam", "tie", "回避", "利害关系"):
        assert words not in body


@pytest.mark.parametrize("who", ["ivan", "liam", "ada"])
def test_officials_and_inspectors_read_the_recusal(api, cast, recused, who):
    shown = events_of(api, cast[who], recused)[-1]
    assert shown["action"] == "recusal"
    assert shown["actor"]["name"] == "Liam"
    assert shown["note"].startswith("Liam ") and "回避" in shown["note"]
    assert shown["data"]["official"] == cast.liam.pk


def detail_page(user, service_request) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    response = client.get(f"/requests/{service_request.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_enterprises_detail_page_shows_no_recusal_name(cast, recused):
    html = detail_page(cast.alice, recused)
    assert "Reassigned" in html and "The request was passed to another official." in html
    for words in ("Liam", "declared a tie", "Recusal", "回避", "利害关系"):
        assert words not in html


def test_the_inspectors_detail_page_shows_the_recusal(cast, recused):
    html = detail_page(cast.ivan, recused)
    assert "Recusal: conflict of interest" in html and "Liam" in html
    assert recused.events.get(action="recusal").note in html
