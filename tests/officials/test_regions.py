"""Regions as a tree: an enterprise's region is chosen from the department tree, never typed; a
department's jurisdiction is its region and every region below it.

The cast's tree (Fuzhou → Gulou, Minhou) gets a city bureau (a child of the city government, so
of region "fuzhou") and a sub-district office below Gulou District (region "dongjie"):

    fuzhou   Fuzhou Municipal Government, Fuzhou Bureau of Commerce
      gulou    Gulou District, Gulou Roads Bureau, Gulou Environment Bureau
        dongjie  Dongjie Sub-district Office
      minhou   Minhou County, Minhou Land Bureau
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from officials.models import Department, Enterprise, EnterpriseClaim, Role
from officials.selectors import (
    INDENT,
    Region,
    departments_covering,
    enterprises_visible_to,
    inspectors_by_region,
    jurisdiction_regions,
    one_inspector_per_department,
    region_choices,
    region_tree,
)
from tests.factories import DepartmentFactory, EnterpriseFactory, UserFactory, credit_code

pytestmark = pytest.mark.django_db

MARKUP = '<script>alert("x")</script>'


@pytest.fixture
def tree(cast):
    cast.commerce = DepartmentFactory(name="Fuzhou Bureau of Commerce", parent=cast.city)
    cast.dongjie = DepartmentFactory(name="Dongjie Office", parent=cast.gulou, region="dongjie")
    return cast


def regions_of(user) -> set[str]:
    return set(jurisdiction_regions(user))


# --- the tree ------------------------------------------------------------------------------------


def test_the_regions_form_a_tree_parents_first(tree):
    assert region_tree() == [
        Region("fuzhou", 0),
        Region("gulou", 1),
        Region("dongjie", 2),
        Region("minhou", 1),
    ]


def test_select_boxes_indent_each_region_by_its_depth(tree):
    assert region_choices() == [
        ("fuzhou", "fuzhou"),
        ("gulou", INDENT + "gulou"),
        ("dongjie", INDENT * 2 + "dongjie"),
        ("minhou", INDENT + "minhou"),
    ]


def test_a_loop_in_the_data_still_shows_each_region_once(tree):
    # Minhou Land Bureau renamed to region "fuzhou": fuzhou then also sits below minhou.
    tree.land.region = "fuzhou"
    tree.land.save()
    names = [region.name for region in region_tree()]
    assert sorted(names) == ["dongjie", "fuzhou", "gulou", "minhou"]


# --- jurisdiction --------------------------------------------------------------------------------


def test_a_city_bureau_covers_the_districts_below_its_region(tree):
    clerk = UserFactory(role=Role.HANDLER, department=tree.commerce)
    assert regions_of(clerk) == {"fuzhou", "gulou", "dongjie", "minhou"}
    assert set(enterprises_visible_to(clerk)) == {tree.acme, tree.globex}


def test_a_district_bureau_covers_its_district_and_the_sub_districts_below(tree):
    # The Roads Bureau is not above Dongjie in the department tree, but its region is.
    assert regions_of(tree.hank) == {"gulou", "dongjie"}
    local = EnterpriseFactory(name="Dongjie Tea", region="dongjie")
    assert set(enterprises_visible_to(tree.hank)) == {tree.acme, local}


def test_a_sub_district_covers_only_itself(tree):
    clerk = UserFactory(role=Role.HANDLER, department=tree.dongjie)
    assert regions_of(clerk) == {"dongjie"}
    assert not enterprises_visible_to(clerk).filter(pk=tree.acme.pk).exists()


def test_a_users_regions_are_read_once_for_their_department(tree):
    """A page asks up to three times (the requests', enterprises' and cases' scopes): the user
    object keeps the answer for its department, and reads again once moved."""
    clerk = UserFactory(role=Role.HANDLER, department=tree.gulou)
    with CaptureQueriesContext(connection) as first:
        assert regions_of(clerk) == {"gulou", "dongjie"}
    with CaptureQueriesContext(connection) as again:
        assert regions_of(clerk) == {"gulou", "dongjie"}
    # One statement, from the department's id: the department row itself is not read.
    assert len(first) == 1 and len(again) == 0
    clerk.department = tree.commerce
    assert regions_of(clerk) == {"fuzhou", "gulou", "dongjie", "minhou"}
    # What a caller does with the list it was given changes nothing kept.
    jurisdiction_regions(clerk).append("nowhere")
    assert "nowhere" not in regions_of(clerk)
    clerk.department = None
    assert jurisdiction_regions(clerk) is None


def test_the_departments_covering_a_region_are_those_whose_jurisdiction_has_it(tree):
    covering = set(departments_covering("dongjie"))
    everyone = {
        tree.city,
        tree.commerce,
        tree.gulou,
        tree.roads,
        tree.environment,
        tree.dongjie,
    }
    assert covering == everyone
    for department in [*everyone, tree.minhou, tree.land]:
        clerk = UserFactory(role=Role.HANDLER, department=department)
        assert ("dongjie" in regions_of(clerk)) == (department in covering), department.name
    assert not departments_covering("").exists()
    assert not departments_covering("nowhere").exists()


def test_every_jurisdiction_agrees_with_the_departments_covering_each_region(tree):
    """The jurisdiction is one statement of its own (officials.selectors._JURISDICTION_SQL);
    `departments_covering` asks the inverse question through the ORM. They agree for every
    department and region, with a department of no region (and a region below it) and a region
    with two tops (Gulou's district government and a Gulou office directly under the city)."""
    # A department below another takes its region when given none: only a root has none.
    nowhere = DepartmentFactory(name="Unplaced Office", region="")
    assert nowhere.region == ""
    annex = DepartmentFactory(name="Minhou Annex", parent=nowhere, region="minhou")
    second_top = DepartmentFactory(name="Gulou Liaison Office", parent=tree.city, region="gulou")
    below_it = DepartmentFactory(name="Dongjie Annex", parent=second_top, region="dongjie")
    departments = list(Department.objects.all())
    regions = {department.region for department in departments} - {""}
    for department in [*departments, nowhere, annex, second_top, below_it]:
        clerk = UserFactory(role=Role.HANDLER, department=department)
        found = regions_of(clerk)
        for region in regions:
            covered = departments_covering(region).filter(pk=department.pk).exists()
            assert (region in found) == covered, (department.name, region)
    assert regions_of(UserFactory(role=Role.HANDLER, department=nowhere)) == {"minhou"}


def test_inspectors_answer_for_the_regions_below_theirs_in_two_queries(tree):
    def inspector(name, department):
        return UserFactory(username=name, role=Role.INSPECTOR, department=department)

    inspector("cora", tree.commerce)
    inspector("rhea", tree.roads)
    inspector("dina", tree.dongjie)
    with CaptureQueriesContext(connection) as queries:
        found = inspectors_by_region(["gulou", "dongjie", "minhou"])
    assert len(queries) == 2
    names = {region: {user.username for user in users} for region, users in found.items()}
    assert names == {
        "gulou": {"ivan", "cora", "rhea"},
        "dongjie": {"ivan", "cora", "rhea", "dina"},
        "minhou": {"ivan", "cora", "irene"},
    }


def test_one_active_inspector_stands_for_each_department_with_inspectors(tree):
    """Beat keeps each jurisdiction once (reports.snapshots), from one reader of it."""
    gone = UserFactory(username="gone", role=Role.INSPECTOR, department=tree.roads)
    gone.is_active = False
    gone.save()
    rhea = UserFactory(username="rhea", role=Role.INSPECTOR, department=tree.roads)
    UserFactory(username="rory", role=Role.INSPECTOR, department=tree.roads)
    UserFactory(username="hal", role=Role.HANDLER, department=tree.dongjie)
    # Ivan, without a department, reads the whole portal: no jurisdiction of a department.
    found = one_inspector_per_department()
    assert len(found) == 2 and set(found) == {tree.irene, rhea}


# --- an enterprise's region: chosen, never typed -------------------------------------------------


def new_enterprise(number: int, **fields) -> dict:
    return {"name": f"Enterprise {number}", "credit_code": credit_code(number), **fields}


@pytest.mark.parametrize("region", ["dongjie", "gulou", ""])
def test_the_api_takes_a_region_of_the_tree(api, tree, region):
    response = api(tree.ada).post(
        "/api/v1/enterprises/", new_enterprise(601, region=region), format="json"
    )
    assert response.status_code == 201, response.json()
    assert Enterprise.objects.get(pk=response.json()["id"]).region == region


@pytest.mark.parametrize("region", ["Gulou district", "nowhere", MARKUP, "gulou/dongjie"])
def test_the_api_refuses_a_typed_region(api, tree, region):
    response = api(tree.ada).post(
        "/api/v1/enterprises/",
        new_enterprise(602, region=region),
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["region"]
    assert "not a region of the department tree" in response.json()["region"][0]
    assert not Enterprise.objects.filter(credit_code=credit_code(602)).exists()


def page_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_registration_page_offers_the_tree_in_a_select_box(tree):
    html = page_client(tree.alice).get(reverse("officials:enterprise-create")).content.decode()
    assert '<select name="region"' in html
    assert '<option value="dongjie">\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0dongjie' in html
    assert '<input type="text" name="region"' not in html


@pytest.mark.parametrize("region", ["Somewhere I typed", MARKUP, ""])
def test_the_registration_page_refuses_anything_else(tree, region):
    response = page_client(tree.mallory).post(
        reverse("officials:enterprise-create"),
        new_enterprise(603, region=region),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="err-region"' in html
    assert MARKUP not in html  # never echoed as markup
    assert not Enterprise.objects.filter(credit_code=credit_code(603)).exists()


def test_the_registration_page_takes_a_region_of_the_tree(tree):
    """An unknown enterprise is claimed with its region; it is registered, there, only when a
    liaison of the region verifies the claim (tests/officials/test_claims.py)."""
    response = page_client(tree.mallory).post(
        reverse("officials:enterprise-create"), new_enterprise(604, region="dongjie")
    )
    assert response.status_code == 302
    claim = EnterpriseClaim.objects.get(credit_code=credit_code(604))
    assert (claim.region, claim.user, claim.enterprise) == ("dongjie", tree.mallory, None)
    assert not Enterprise.objects.filter(credit_code=credit_code(604)).exists()


def test_the_django_admin_chooses_the_region_too(tree):
    root = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    client = page_client(root)
    url = reverse("admin:officials_enterprise_add")
    assert '<select name="region"' in client.get(url).content.decode()
    form = new_enterprise(605, quiet_days="[]", created_at_0="2026-01-05", created_at_1="09:00")
    for inline in ("enterprisemember_set", "links"):  # the inlines' management forms
        form |= {f"{inline}-TOTAL_FORMS": "0", f"{inline}-INITIAL_FORMS": "0"}
    refused = client.post(url, form | {"region": MARKUP})
    assert refused.status_code == 200
    assert "not a region of the department tree" in refused.content.decode()
    assert not Enterprise.objects.filter(credit_code=credit_code(605)).exists()
    saved = client.post(url, form | {"region": "minhou"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert Enterprise.objects.get(credit_code=credit_code(605)).region == "minhou"
