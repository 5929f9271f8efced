"""Reference data and provisioning over the API: categories, departments, enterprises, users."""

import pytest

from officials.models import Department, Enterprise, EnterpriseLink, LinkKind, Role, User
from tests.factories import PASSWORD, credit_code

pytestmark = pytest.mark.django_db

CATEGORY_CODES = [
    "labor",
    "finance",
    "land",
    "approval",
    "environment",
    "policy",
    "infrastructure",
    "legal",
    "other",
]
NON_ADMINS = ["alice", "mallory", "liam", "hank", "leona", "ivan"]
PAGE_KEYS = {"count", "next", "previous", "results"}


# --- authentication ------------------------------------------------------------------------------


def test_token_for_right_credentials(cast, client):
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert token
    listed = client.get("/api/v1/enterprises/", HTTP_AUTHORIZATION=f"Token {token}")
    assert listed.status_code == 200
    assert [e["name"] for e in listed.json()["results"]] == ["Acme Valves"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "alice"},
        {"password": PASSWORD},
        {},
    ],
)
def test_token_for_wrong_or_missing_credentials_is_400(cast, client, body):
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_token_for_a_malformed_body_is_400(cast, client):
    response = client.post("/api/v1/auth/token/", "{oops", content_type="application/json")
    assert response.status_code == 400


def test_a_bad_token_is_401(cast, client):
    response = client.get("/api/v1/categories/", HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401


def test_login_is_throttled_after_the_failure_limit(cast, client, settings):
    """Five wrong passwords lock the account for this address: 429, even for the right one."""
    assert settings.AXES_ENABLED
    assert settings.AXES_FAILURE_LIMIT == 5

    def attempt(password):
        return client.post(
            "/api/v1/auth/token/",
            {"username": "alice", "password": password},
            content_type="application/json",
        )

    codes = [attempt("wrong").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert codes == [400] * 4 + [429]
    locked = attempt(PASSWORD)
    assert locked.status_code == 429
    assert "detail" in locked.json()
    assert "token" not in locked.json()


def test_the_lockout_is_per_username(cast, client):
    for _ in range(5):
        client.post(
            "/api/v1/auth/token/",
            {"username": "alice", "password": "wrong"},
            content_type="application/json",
        )
    other = client.post(
        "/api/v1/auth/token/",
        {"username": "mallory", "password": PASSWORD},
        content_type="application/json",
    )
    assert other.status_code == 200


def test_no_lockout_is_left_over_from_another_test(cast, client):
    """Attempts live in the database and are rolled back with each test."""
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/categories/"),
        ("get", "/api/v1/departments/"),
        ("post", "/api/v1/departments/"),
        ("get", "/api/v1/enterprises/"),
        ("post", "/api/v1/enterprises/"),
        ("get", "/api/v1/users/"),
        ("post", "/api/v1/users/"),
    ],
)
def test_unauthenticated_is_401(cast, api, method, path):
    response = getattr(api(None), method)(path, {}, format="json")
    assert response.status_code == 401
    assert "detail" in response.json()


# --- categories ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "hank", "ada"])
def test_categories(cast, api, persona):
    response = api(cast[persona]).get("/api/v1/categories/")
    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [row["code"] for row in rows] == CATEGORY_CODES
    assert all(set(row) >= {"code", "name"} and row["name"] for row in rows)


def test_category_names_follow_the_language(cast, api):
    client = api(cast.alice)
    zh = client.get("/api/v1/categories/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    en = client.get("/api/v1/categories/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert zh[0] == {"code": "labor", "name": "用工"}
    assert en[0] == {"code": "labor", "name": "Labour and employment"}


# --- departments ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "hank", "ada"])
def test_departments_list(cast, api, persona):
    response = api(cast[persona]).get("/api/v1/departments/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= PAGE_KEYS
    roads = next(d for d in body["results"] if d["id"] == cast.roads.pk)
    assert roads == {
        "id": cast.roads.pk,
        "name": "Gulou Roads Bureau",
        "name_en": "",  # none given: pages in English show the name
        "parent": cast.gulou.pk,
        "region": "gulou",
        "categories": ["infrastructure"],
    }


def test_admin_names_a_department_in_english_too(cast, api):
    response = api(cast.ada).post(
        "/api/v1/departments/",
        {"name": "鼓楼区人社局", "name_en": "Gulou Labour Bureau", "parent": cast.gulou.pk},
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["name"], response.json()["name_en"]) == (
        "鼓楼区人社局",
        "Gulou Labour Bureau",
    )
    too_long = api(cast.ada).post(
        "/api/v1/departments/", {"name": "鼓楼区财政局", "name_en": "x" * 201}, format="json"
    )
    assert too_long.status_code == 400
    assert "name_en" in too_long.json()


def test_admin_creates_a_department_under_a_parent(cast, api):
    response = api(cast.ada).post(
        "/api/v1/departments/",
        {"name": "Gulou Labour Bureau", "parent": cast.gulou.pk, "categories": ["labor", "legal"]},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Gulou Labour Bureau"
    assert body["parent"] == cast.gulou.pk
    assert body["region"] == "gulou"  # inherited from the parent
    assert sorted(body["categories"]) == ["labor", "legal"]
    created = Department.objects.get(pk=body["id"])
    assert created.path == f"{cast.gulou.path}{created.pk}/"


def test_admin_creates_a_top_level_department(cast, api):
    response = api(cast.ada).post(
        "/api/v1/departments/", {"name": "Xiamen", "region": "xiamen"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["parent"] is None
    assert Department.objects.get(pk=response.json()["id"]).path == f"/{response.json()['id']}/"


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "A", "parent": 999_999}, "parent"),
        ({"name": "A", "parent": "abc"}, "parent"),
        ({"name": "A", "categories": ["nope"]}, "categories"),
        ({"name": "A", "categories": "labor"}, "categories"),
        ({"name": ["A"]}, "name"),
    ],
)
def test_department_bad_input_is_400(cast, api, body, field):
    before = Department.objects.count()
    response = api(cast.ada).post("/api/v1/departments/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Department.objects.count() == before


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_only_admins_create_departments(cast, api, persona):
    response = api(cast[persona]).post("/api/v1/departments/", {"name": "Shadow"}, format="json")
    assert response.status_code == 403
    assert not Department.objects.filter(name="Shadow").exists()


def test_department_detail_and_bad_ids(cast, api):
    client = api(cast.alice)
    assert (
        client.get(f"/api/v1/departments/{cast.roads.pk}/").json()["name"] == "Gulou Roads Bureau"
    )
    for bad in ["999999", "abc", "0", "-1", "99999999999999999999999"]:
        assert client.get(f"/api/v1/departments/{bad}/").status_code == 404


# --- enterprises ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "persona, visible",
    [
        ("alice", ["Acme Valves"]),  # the enterprises she acts for
        ("mallory", ["Globex Textiles"]),
        ("liam", ["Acme Valves"]),  # linked; no department, so no region
        ("olga", ["Globex Textiles"]),  # her county, and her link
        ("hank", ["Acme Valves"]),  # his department's region
        ("hugo", ["Acme Valves"]),  # same district, another department
        ("leona", ["Acme Valves", "Globex Textiles"]),  # linked to acme, Minhou by department
        ("lars", ["Globex Textiles"]),
        ("ivan", ["Acme Valves", "Globex Textiles"]),  # no department: the whole portal
        ("irene", ["Globex Textiles"]),
        ("ada", ["Acme Valves", "Globex Textiles"]),
    ],
)
def test_enterprises_are_scoped_to_the_caller(cast, api, persona, visible):
    response = api(cast[persona]).get("/api/v1/enterprises/")
    assert response.status_code == 200
    assert set(response.json()) >= PAGE_KEYS
    assert [e["name"] for e in response.json()["results"]] == visible


def test_enterprise_fields(cast, api):
    body = api(cast.alice).get(f"/api/v1/enterprises/{cast.acme.pk}/").json()
    assert body["id"] == cast.acme.pk
    assert body["name"] == "Acme Valves"
    assert body["credit_code"] == cast.acme.credit_code
    assert len(body["credit_code"]) == 18


def test_another_enterprise_is_404(cast, api):
    assert api(cast.mallory).get(f"/api/v1/enterprises/{cast.acme.pk}/").status_code == 404


def test_admin_creates_an_enterprise(cast, api):
    response = api(cast.ada).post(
        "/api/v1/enterprises/",
        {
            "name": "Fujian Tea Co.",
            "credit_code": "91350100m000100y43",  # lower case: normalised, then checked
            "region": "gulou",
            "industry": "tea",
            "whitelisted": True,
            "quiet_days": [3, 1, 3],
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["credit_code"] == "91350100M000100Y43"
    assert body["quiet_days"] == [1, 3]
    assert body["whitelisted"] is True
    stored = Enterprise.objects.get(pk=body["id"])
    assert stored.credit_code == "91350100M000100Y43"


def test_full_width_credit_code_is_accepted(cast, api):
    response = api(cast.ada).post(
        "/api/v1/enterprises/",
        {"name": "Wide Co.", "credit_code": "９１１１０１０８５５１３８５０８２Ｑ"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["credit_code"] == "91110108551385082Q"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "Bad Co.", "credit_code": "91350100M000100Y44"}, "credit_code"),  # checksum
        ({"name": "Bad Co.", "credit_code": "91350100M00010OY43"}, "credit_code"),  # letter O
        ({"name": "Bad Co.", "credit_code": "9135010"}, "credit_code"),  # length
        ({"name": "Bad Co.", "credit_code": 913501}, "credit_code"),
        ({"name": "Bad Co."}, "credit_code"),
        ({"credit_code": "91350100M000100Y43"}, "name"),
        ({"name": "Bad Co.", "credit_code": "91350100M000100Y43", "quiet_days": [8]}, "quiet_days"),
        ({"name": "Bad Co.", "credit_code": "91350100M000100Y43", "quiet_days": [0]}, "quiet_days"),
        (
            {"name": "Bad Co.", "credit_code": "91350100M000100Y43", "quiet_days": "monday"},
            "quiet_days",
        ),
        (
            {"name": "Bad Co.", "credit_code": "91350100M000100Y43", "whitelisted": "perhaps"},
            "whitelisted",
        ),
    ],
)
def test_enterprise_bad_input_is_400(cast, api, body, field):
    before = Enterprise.objects.count()
    response = api(cast.ada).post("/api/v1/enterprises/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Enterprise.objects.count() == before


def test_a_credit_code_is_registered_once(cast, api):
    response = api(cast.ada).post(
        "/api/v1/enterprises/",
        {"name": "Acme Again", "credit_code": cast.acme.credit_code.lower()},
        format="json",
    )
    assert response.status_code == 400
    assert "credit_code" in response.json()


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_only_admins_create_enterprises(cast, api, persona):
    response = api(cast[persona]).post(
        "/api/v1/enterprises/",
        {"name": "Shadow Co.", "credit_code": credit_code(777)},
        format="json",
    )
    assert response.status_code == 403
    assert not Enterprise.objects.filter(name="Shadow Co.").exists()


# --- users ---------------------------------------------------------------------------------------


def test_admin_lists_users(cast, api):
    response = api(cast.ada).get("/api/v1/users/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= PAGE_KEYS
    hank = next(u for u in body["results"] if u["username"] == "hank")
    assert hank["id"] == cast.hank.pk
    assert hank["name"] == "Hank"
    assert hank["role"] == "handler"
    assert hank["department"] == cast.roads.pk
    assert all("password" not in u for u in body["results"])


def test_admin_filters_users_by_role_and_search(cast, api):
    client = api(cast.ada)
    handlers = client.get("/api/v1/users/?role=handler").json()["results"]
    assert sorted(u["username"] for u in handlers) == ["hank", "hilda", "hugo"]
    found = client.get("/api/v1/users/?search=ALI").json()["results"]
    assert [u["username"] for u in found] == ["alice"]


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_only_admins_see_users(cast, api, persona):
    assert api(cast[persona]).get("/api/v1/users/").status_code == 403
    assert api(cast[persona]).get(f"/api/v1/users/{cast.ada.pk}/").status_code == 403


@pytest.mark.parametrize("persona", NON_ADMINS)
def test_only_admins_create_users(cast, api, persona):
    response = api(cast[persona]).post(
        "/api/v1/users/",
        {"username": "eve", "password": "a-long-unusual-pass", "name": "Eve", "role": "admin"},
        format="json",
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="eve").exists()


def test_admin_creates_an_entrepreneur_who_can_log_in(cast, api, client):
    response = api(cast.ada).post(
        "/api/v1/users/",
        {
            "username": "bob",
            "password": "a-long-unusual-pass",
            "name": "Bob Chen",
            "role": "entrepreneur",
            "enterprises": [cast.acme.pk],
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert isinstance(body["id"], int)
    assert body["username"] == "bob"
    assert body["role"] == "entrepreneur"
    assert "password" not in body
    bob = User.objects.get(pk=body["id"])
    assert list(bob.enterprises.all()) == [cast.acme]
    assert not bob.is_staff
    token = client.post(
        "/api/v1/auth/token/",
        {"username": "bob", "password": "a-long-unusual-pass"},
        content_type="application/json",
    )
    assert token.status_code == 200


@pytest.mark.parametrize("role, kind", [("liaison", LinkKind.LIAISON), ("leader", LinkKind.LEADER)])
def test_admin_links_an_official_to_enterprises(cast, api, role, kind):
    response = api(cast.ada).post(
        "/api/v1/users/",
        {
            "username": "newbie",
            "password": "a-long-unusual-pass",
            "name": "New Official",
            "role": role,
            "enterprises": [cast.acme.pk, cast.globex.pk],
        },
        format="json",
    )
    assert response.status_code == 201
    links = EnterpriseLink.objects.filter(official_id=response.json()["id"])
    assert {(link.enterprise_id, link.kind) for link in links} == {
        (cast.acme.pk, kind),
        (cast.globex.pk, kind),
    }


def test_admin_creates_a_handler_in_a_department(cast, api):
    response = api(cast.ada).post(
        "/api/v1/users/",
        {
            "username": "harry",
            "password": "a-long-unusual-pass",
            "name": "Harry",
            "role": "handler",
            "department": cast.roads.pk,
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["department"] == cast.roads.pk


def test_an_admin_made_by_the_api_may_use_the_django_admin(cast, api):
    response = api(cast.ada).post(
        "/api/v1/users/",
        {"username": "root2", "password": "a-long-unusual-pass", "name": "R", "role": "admin"},
        format="json",
    )
    assert response.status_code == 201
    assert User.objects.get(pk=response.json()["id"]).is_staff


GOOD_USER = {"username": "zed", "password": "a-long-unusual-pass", "name": "Zed", "role": "liaison"}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"role": "handler"}, "department"),  # a handler needs a department
        ({"role": "wizard"}, "role"),
        ({"role": "inspector", "enterprises": [0]}, "enterprises"),
        ({"password": "123"}, "password"),  # too short and numeric
        ({"password": "password"}, "password"),  # too common
        ({"username": "alice"}, "username"),  # taken
        ({"username": "bad name!"}, "username"),
        ({"name": ""}, "name"),
        ({"department": 999_999}, "department"),
        ({"enterprises": ["abc"]}, "enterprises"),
    ],
)
def test_user_bad_input_is_400(cast, api, change, field):
    before = User.objects.count()
    response = api(cast.ada).post("/api/v1/users/", {**GOOD_USER, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert User.objects.count() == before


def test_only_entrepreneurs_liaisons_and_leaders_have_enterprises(cast, api):
    response = api(cast.ada).post(
        "/api/v1/users/",
        {**GOOD_USER, "role": "inspector", "enterprises": [cast.acme.pk]},
        format="json",
    )
    assert response.status_code == 400
    assert "enterprises" in response.json()


@pytest.mark.parametrize("missing", ["username", "password", "name", "role"])
def test_user_required_fields(cast, api, missing):
    body = {k: v for k, v in GOOD_USER.items() if k != missing}
    response = api(cast.ada).post("/api/v1/users/", body, format="json")
    assert response.status_code == 400
    assert missing in response.json()


def test_user_role_values_are_the_contract(cast):
    assert set(Role.values) == {
        "entrepreneur",
        "liaison",
        "handler",
        "leader",
        "inspector",
        "admin",
    }
