"""Records name any enterprise of the portal; visit filings follow the department's jurisdiction,
as a tree of regions.

The cast's tree (Fuzhou → Gulou, Minhou) gets a city bureau, Commerce, a child of the city
government (region "fuzhou"), with carl, one of its handlers. hank (Gulou Roads Bureau) is a
district official; globex is in Minhou, another district.

Time is fixed at Monday 2026-11-16 09:00 in Shanghai.
"""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from compliance.models import Declaration, Gift, Interaction, VisitFiling
from compliance.selectors import oversees, records_visible_to
from officials.models import Role
from tests.conftest import at
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = at("2026-11-16 09:00")


@pytest.fixture(autouse=True)
def _monday():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def carl(cast):
    commerce = DepartmentFactory(name="Fuzhou Bureau of Commerce", parent=cast.city)
    return UserFactory(username="carl", name="Carl", role=Role.HANDLER, department=commerce)


def visit(enterprise) -> dict:
    return {
        "enterprise": enterprise.pk,
        "planned_start": at("2026-11-17 09:00").isoformat(),
        "planned_end": at("2026-11-17 11:00").isoformat(),
        "purpose": "service",
    }


# --- visit filings: the jurisdiction as a tree ---------------------------------------------------


def test_a_city_bureau_files_a_visit_to_a_district_enterprise(api, cast, carl):
    response = api(carl).post("/api/v1/visit-filings/", visit(cast.acme), format="json")
    assert response.status_code == 201, response.json()
    filing = VisitFiling.objects.get()
    assert (filing.official, filing.enterprise, filing.region) == (carl, cast.acme, "gulou")
    assert api(carl).post("/api/v1/visit-filings/", visit(cast.globex)).status_code == 201


def test_a_district_office_cannot_file_a_visit_to_another_districts_enterprise(api, cast):
    response = api(cast.hank).post(
        "/api/v1/visit-filings/", visit(cast.globex), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "outside your jurisdiction" in response.json()["enterprise"][0]
    assert not VisitFiling.objects.exists()


def test_a_district_office_files_for_a_sub_district_below_it(api, cast):
    dongjie = DepartmentFactory(name="Dongjie Office", parent=cast.gulou, region="dongjie")
    cast.globex.region = dongjie.region  # moved into Gulou's sub-district
    cast.globex.save()
    response = api(cast.hank).post("/api/v1/visit-filings/", visit(cast.globex), format="json")
    assert response.status_code == 201, response.json()


def page(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_visit_form_offers_the_jurisdiction_and_the_record_forms_every_enterprise(cast, carl):
    visits = page(cast.hank).get(reverse("compliance:visit-new")).content.decode()
    assert "Acme Valves" in visits and "Globex Textiles" not in visits
    city_visits = page(carl).get(reverse("compliance:visit-new")).content.decode()
    assert "Acme Valves" in city_visits and "Globex Textiles" in city_visits
    for kind in ("interactions", "gifts", "asset-uses", "declarations"):
        form = page(cast.hank).get(reverse("compliance:record-new", args=[kind]))
        assert form.status_code == 200, kind
        assert "Globex Textiles" in form.content.decode(), kind


# --- records: any enterprise of the portal -------------------------------------------------------


def test_a_handler_records_a_gift_from_an_enterprise_outside_their_jurisdiction(api, cast):
    response = api(cast.hank).post(
        "/api/v1/gifts/",
        {
            "enterprise": cast.globex.pk,
            "direction": "received",
            "kind": "goods",
            "value_cny": "120.00",
            "received_at": (NOW - dt.timedelta(hours=3)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    gift = Gift.objects.get()
    assert (gift.official, gift.enterprise, gift.region) == (cast.hank, cast.globex, "minhou")
    # Minhou's inspector reads it (the record lies in her region); it is hank's own record too.
    assert records_visible_to(cast.irene, Gift).filter(pk=gift.pk).exists()
    assert records_visible_to(cast.hank, Gift).filter(pk=gift.pk).exists()


def test_a_meal_and_a_tie_outside_the_jurisdiction_are_recorded_on_the_pages(cast):
    client = page(cast.hank)
    meal = client.post(
        reverse("compliance:record-new", args=["interactions"]),
        {
            "enterprise": cast.globex.pk,
            "kind": "meal",
            "occurred_at": "2026-11-15T19:00",
            "payer": "self",
            "amount_total": "80",
            "headcount": "2",
        },
    )
    assert meal.status_code == 302
    tie = client.post(
        reverse("compliance:record-new", args=["declarations"]),
        {"enterprise": cast.globex.pk, "relation": "relative_employed"},
    )
    assert tie.status_code == 302
    assert Interaction.objects.get().enterprise == cast.globex
    assert Declaration.objects.get().enterprise == cast.globex


# --- the management relation reads the same tree --------------------------------------------------


def test_a_city_bureau_oversees_a_district_enterprise_and_a_district_does_not_another(cast, carl):
    assert oversees(carl, cast.acme) and oversees(carl, cast.globex)
    assert oversees(cast.hank, cast.acme) and not oversees(cast.hank, cast.globex)


def test_an_inspector_of_a_city_bureau_reads_the_districts_records(api, cast, carl):
    api(cast.hank).post(
        "/api/v1/interactions/",
        {
            "enterprise": cast.acme.pk,
            "kind": "meeting",
            "occurred_at": (NOW - dt.timedelta(hours=2)).isoformat(),
        },
        format="json",
    )
    city_inspector = UserFactory(role=Role.INSPECTOR, department=carl.department)
    assert records_visible_to(city_inspector, Interaction).count() == 1
    assert records_visible_to(cast.irene, Interaction).count() == 0
