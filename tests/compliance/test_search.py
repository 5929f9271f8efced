"""The console search across case histories (by enterprise, department, official, category,
period, overdue, reopened), each with its full timeline and chain verification, scoped to the
inspector's region; and the timeline of an official for an inquiry."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from compliance.models import Finding, Gift, Interaction, Severity
from inspection import histories
from inspection.histories import Criteria
from requests_app.models import RequestEvent
from requests_app.workflow import transition
from tests.compliance.inspection_helpers import breach_case, page_client
from tests.factories import ServiceRequestFactory, category

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_throttles")]


@pytest.fixture
def histories_of(cast, request_in):
    """acme: one plain, one reopened, one assigned to hank; globex (Minhou): one."""
    plain = request_in("submitted")
    reopened = transition(
        request_in("feedback").pk, "review", by=cast.alice, accepted=False, comment="No."
    )
    assigned = request_in("assigned")
    globex = ServiceRequestFactory(
        enterprise=cast.globex, by=cast.mallory, category=category("labor")
    )
    return {"plain": plain, "reopened": reopened, "assigned": assigned, "globex": globex}


def found(user, **criteria) -> set[int]:
    results = histories.search(user, Criteria(**criteria))
    return {history.request_id for history in results[0 : results.count()]}


def ids(histories_of, *names) -> set[int]:
    return {histories_of[name].pk for name in names}


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ({}, {"plain", "reopened", "assigned"}),
        ({"reopened": True}, {"reopened"}),
        ({"reopened": False}, {"plain", "assigned"}),
        ({"category": "labor"}, set()),  # globex's: outside Gulou
        ({"category": "infrastructure"}, {"plain", "reopened", "assigned"}),
        ({"text": "nothing-like-this"}, set()),
    ],
)
def test_the_search_narrows_a_scoped_set(people, histories_of, criteria, expected):
    assert found(people["gina"], **criteria) == ids(histories_of, *expected)


def test_search_by_enterprise_department_and_official(cast, people, histories_of):
    gina = people["gina"]
    assert found(gina, enterprise=cast.globex.pk) == set()
    assert found(people["ivan"], enterprise=cast.globex.pk) == ids(histories_of, "globex")
    by_roads = found(gina, department=cast.roads.pk)
    assert by_roads == ids(histories_of, "reopened", "assigned")
    assert found(gina, official=cast.hank.pk) == ids(histories_of, "reopened", "assigned")


def test_search_by_period_and_overdue(cast, people, histories_of):
    gina = people["gina"]
    today = dt.date.today()
    assert found(gina, submitted_after=today + dt.timedelta(days=1)) == set()
    assert len(found(gina, submitted_before=today + dt.timedelta(days=1))) == 3
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=30), tick=False):
        late = found(gina, overdue=True)
    assert late == ids(histories_of, "plain", "reopened", "assigned")
    assert found(gina, overdue=True) == set()
    assert found(gina, overdue=False) == ids(histories_of, "plain", "reopened", "assigned")


def test_each_result_carries_its_full_timeline_and_verification(people, histories_of):
    history = histories.history(people["gina"], histories_of["reopened"].pk)
    events = RequestEvent.objects.filter(request=histories_of["reopened"]).order_by("seq")
    assert [event.seq for event in history.events] == [event.seq for event in events]
    assert history.chain.ok and history.chain.events == events.count()
    assert history.reopen_count == 1


def test_an_outside_inspector_gets_no_history(people, histories_of):
    assert histories.history(people["irene"], histories_of["plain"].pk) is None


def test_the_search_page_shows_timelines_verification_and_cases(cast, people, histories_of):
    case = breach_case(cast, request=histories_of["reopened"])
    response = page_client(people["gina"]).get(
        reverse("inspector:search"), {"go": "1", "reopened": "true"}
    )
    html = response.content.decode()
    assert histories_of["reopened"].reference in html
    assert histories_of["plain"].reference not in html
    assert "events verified" in html
    assert reverse("inspector:case", args=[case.pk]) in html
    # Each hit links to its request as well as its cases.
    assert reverse("requests:detail", args=[histories_of["reopened"].pk]) in html


def test_bad_search_input_is_a_400(people):
    response = page_client(people["gina"]).get(
        reverse("inspector:search"), {"go": "1", "submitted_after": "yesterday", "enterprise": "x"}
    )
    assert response.status_code == 400


# --- the timeline of an official ------------------------------------------------------------------


def test_an_officials_timeline_shows_records_findings_and_cases_in_scope(cast, people):
    now = dt.datetime.now(dt.UTC)
    Interaction.objects.create(
        official=cast.hank,
        enterprise=cast.acme,
        region="gulou",
        kind="meal",
        occurred_at=now,
        description="Lunch at the canteen (in-scope-marker)",
    )
    Interaction.objects.create(
        official=cast.hank,
        enterprise=cast.globex,
        region="minhou",
        kind="meeting",
        occurred_at=now,
        description="Elsewhere (out-of-scope-marker)",
    )
    Gift.objects.create(
        official=cast.hank,
        enterprise=cast.acme,
        region="gulou",
        direction="received",
        kind="souvenir",
        value_cny=50,
        received_at=now,
    )
    Finding.objects.create(
        rule_code="N02",
        severity=Severity.VIOLATION,
        message="Meal paid (finding-marker)",
        official=cast.hank,
        region="gulou",
    )
    case = breach_case(cast, cause="Late answer (case-marker)")
    html = page_client(people["gina"]).get(reverse("inspector:official", args=[cast.hank.pk]))
    html = html.content.decode()
    for marker in ("in-scope-marker", "finding-marker", "case-marker", "50"):
        assert marker in html
    assert "out-of-scope-marker" not in html
    assert reverse("inspector:case", args=[case.pk]) in html


def test_the_official_list_finds_by_name(cast, people):
    html = page_client(people["gina"]).get(reverse("inspector:officials"), {"q": "han"})
    assert reverse("inspector:official", args=[cast.hank.pk]) in html.content.decode()
    assert reverse("inspector:official", args=[cast.liam.pk]) not in html.content.decode()


def test_the_enterprise_and_official_are_typed_not_picked_from_every_row(
    cast, people, histories_of
):
    """A credit code, a part of the name, or the id a link carries finds the one enterprise;
    no drop-down lists every enterprise or official of the scope."""
    client = page_client(people["gina"])
    url = reverse("inspector:search")
    acme = {"plain", "reopened", "assigned"}
    for typed in (cast.acme.credit_code.lower(), "acme valv", str(cast.acme.pk)):
        response = client.get(url, {"enterprise": typed, "go": "1"})
        assert response.status_code == 200, typed
        shown = {h.request_id for h, _cases in response.context["results"]}
        assert shown == ids(histories_of, *acme), typed
    html = client.get(url).content.decode()
    assert "<option" not in html.split('name="enterprise"')[1].split("</div>")[0]
    assert "---------" not in html
    response = client.get(url, {"official": cast.hank.username.upper(), "go": "1"})
    assert response.status_code == 200
    assert response.context["form"].cleaned_data["official"] == cast.hank


@pytest.mark.parametrize("typed", ["globex", "Nothing like this"])
def test_an_enterprise_outside_the_scope_or_unknown_is_no_match(cast, people, histories_of, typed):
    """Globex is in Minhou, outside Gulou's inspector's region: the same answer as a name that
    does not exist, and nothing is searched."""
    response = page_client(people["gina"]).get(
        reverse("inspector:search"), {"enterprise": typed, "go": "1"}
    )
    assert response.status_code == 400
    assert "Nothing you may see matches" in response.content.decode()
    assert response.context["results"] == []


def test_a_name_part_that_fits_two_enterprises_asks_for_more(cast, people, histories_of):
    from tests.factories import EnterpriseFactory

    EnterpriseFactory(name="Acme Valves East", region="gulou")
    response = page_client(people["gina"]).get(
        reverse("inspector:search"), {"enterprise": "acme", "go": "1"}
    )
    assert response.status_code == 400
    assert "More than one matches" in response.content.decode()
