"""The service request API against API.md: shapes, filters, paging, status codes and bad input."""

import datetime as dt
import json
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from officials.models import EnterpriseMember, User
from requests_app.attachments import add_attachment
from requests_app.models import RequestEvent, ServiceRequest
from requests_app.timeline import append_event
from requests_app.workflow import TRANSITIONS, transition
from tests.conftest import SHANGHAI, drive
from tests.factories import (
    RawServiceRequestFactory,
    ServiceRequestFactory,
    UserFactory,
    category,
)

pytestmark = pytest.mark.django_db

MONDAY_9 = dt.datetime(2025, 3, 10, 9, 0, tzinfo=SHANGHAI)  # an ordinary working week

REQUEST_KEYS = {
    "id",
    "reference",
    "status",
    "enterprise",
    "category",
    "title",
    "description",
    "source",
    "submitted_at",
    "assign_due_at",
    "answer_due_at",
    "assigned_at",
    "answered_at",
    "closed_at",
    "department",
    "handler",
    "liaison",
    "overdue",
    "reopen_count",
    "rating",
    "allowed_actions",
}
EVENT_KEYS = {"id", "action", "actor", "from_status", "to_status", "note", "created_at", "hash"}
PAGE_KEYS = {"count", "next", "previous", "results"}
STATUSES = {
    "submitted",
    "assigned",
    "rectifying",
    "info_needed",
    "feedback",
    "closed",
    "rejected",
    "merged",
    "withdrawn",
}


def new_request(**overrides):
    return {
        "category": "infrastructure",
        "title": "The road to our gate is broken",
        "description": "Trucks cannot reach the loading bay since the flood.",
        **overrides,
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def is_iso_with_offset(value: str) -> bool:
    return dt.datetime.fromisoformat(value).utcoffset() is not None


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, suffix",
    [
        ("get", ""),
        ("post", ""),
        ("get", "{id}/"),
        ("get", "{id}/events/"),
        ("get", "{id}/verify/"),
        ("post", "{id}/attachments/"),
        *[("post", "{id}/" + action + "/") for action in TRANSITIONS],
    ],
)
def test_unauthenticated_is_401(cast, api, request_in, method, suffix):
    service_request = request_in("submitted")
    path = "/api/v1/requests/" + suffix.format(id=service_request.pk)
    response = getattr(api(None), method)(path, {}, format="json")
    assert response.status_code == 401
    assert "detail" in response.json()
    assert response.headers["WWW-Authenticate"].startswith("Token")
    assert service_request.events.count() == 1


def test_token_authentication_reaches_the_requests(cast, client, request_in):
    service_request = request_in("submitted")
    token = client.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": "correct horse battery staple"},
        content_type="application/json",
    ).json()["token"]
    response = client.get("/api/v1/requests/", HTTP_AUTHORIZATION=f"Token {token}")
    assert ids(response) == [service_request.pk]


# --- filing --------------------------------------------------------------------------------------


@time_machine.travel(MONDAY_9, tick=False)
def test_create_answers_201_with_the_full_request(cast, api):
    response = api(cast.alice).post("/api/v1/requests/", new_request(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= REQUEST_KEYS
    assert isinstance(body["id"], int)
    assert re.fullmatch(r"QQ2025\d{7}", body["reference"])
    assert body["status"] == "submitted"
    assert body["enterprise"] == {"id": cast.acme.pk, "name": "Acme Valves"}
    assert body["category"] == "infrastructure"
    assert body["title"] == "The road to our gate is broken"
    assert body["source"] == "web"
    assert body["submitted_at"] == "2025-03-10T09:00:00+08:00"
    assert body["assign_due_at"] == "2025-03-11T09:00:00+08:00"
    assert body["answer_due_at"] == "2025-03-13T09:00:00+08:00"
    assert body["assigned_at"] is None
    assert body["answered_at"] is None
    assert body["closed_at"] is None
    assert body["department"] is None
    assert body["handler"] is None
    assert body["liaison"] == {"id": cast.liam.pk, "name": "Liam"}  # acme's linked liaison
    assert body["overdue"] is False
    assert body["reopen_count"] == 0
    assert body["rating"] is None
    assert body["allowed_actions"] == ["withdraw", "comment"]
    stored = ServiceRequest.objects.get(pk=body["id"])
    assert stored.submitted_by == cast.alice
    (event,) = stored.events.all()
    assert (event.action, event.to_status, event.actor) == ("submitted", "submitted", cast.alice)


def test_create_with_an_explicit_enterprise_and_api_source(cast, api):
    response = api(cast.alice).post(
        "/api/v1/requests/", new_request(enterprise=cast.acme.pk, source="api"), format="json"
    )
    assert response.status_code == 201
    assert response.json()["source"] == "api"


def test_an_entrepreneur_of_two_enterprises_must_say_which(cast, api):
    EnterpriseMember.objects.create(user=cast.alice, enterprise=cast.globex)
    response = api(cast.alice).post("/api/v1/requests/", new_request(), format="json")
    assert response.status_code == 400
    assert "enterprise" in response.json()


TOO_LONG = "标" * 10_000


@pytest.mark.parametrize(
    "body, field",
    [
        (new_request(title=None), "title"),
        ({"category": "labor", "description": "d"}, "title"),
        ({"category": "labor", "title": "t"}, "description"),
        ({"title": "t", "description": "d"}, "category"),
        (new_request(title=""), "title"),
        (new_request(title="   "), "title"),
        (new_request(title="x" * 201), "title"),
        (new_request(title=TOO_LONG), "title"),
        (new_request(description=TOO_LONG + "x"), "description"),
        (new_request(title=["a", "list"]), "title"),
        (new_request(title={"an": "object"}), "title"),
        (new_request(description=True), "description"),
        (new_request(category="teleportation"), "category"),
        (new_request(category=5), "category"),
        (new_request(category="LABOR"), "category"),
        (new_request(enterprise="acme"), "enterprise"),
        (new_request(enterprise=999_999), "enterprise"),
        (new_request(enterprise=10**30), "enterprise"),
        (new_request(enterprise=[1]), "enterprise"),
        (new_request(source="visit"), "source"),  # an enterprise files on the web or the API
        (new_request(source="carrier pigeon"), "source"),
        (new_request(title="nul\u0000byte"), "title"),
    ],
)
def test_create_bad_input_is_400(cast, api, body, field):
    body = {k: v for k, v in body.items() if v is not None}
    response = api(cast.alice).post("/api/v1/requests/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not ServiceRequest.objects.exists()


@pytest.mark.parametrize(
    "payload, content_type",
    [
        ("{not json", "application/json"),
        ('{"title": "unterminated', "application/json"),
        ("", "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"just a string"', "application/json"),
        ("null", "application/json"),
    ],
)
def test_create_with_a_body_that_is_not_a_json_object_is_400(cast, api, payload, content_type):
    response = api(cast.alice).generic(
        "POST", "/api/v1/requests/", payload, content_type=content_type
    )
    assert response.status_code == 400
    assert not ServiceRequest.objects.exists()


def test_create_with_an_unsupported_media_type_is_415(cast, api):
    response = api(cast.alice).generic(
        "POST", "/api/v1/requests/", "title=x", content_type="text/plain"
    )
    assert response.status_code == 415
    assert "detail" in response.json()


def test_create_from_a_form_post(cast, api):
    response = api(cast.alice).post("/api/v1/requests/", new_request(), format="multipart")
    assert response.status_code == 201


@pytest.mark.parametrize("persona", ["hank", "ivan"])
def test_roles_that_do_not_file_get_403(cast, api, persona):
    response = api(cast[persona]).post(
        "/api/v1/requests/", new_request(enterprise=cast.acme.pk), format="json"
    )
    assert response.status_code == 403
    assert not ServiceRequest.objects.exists()


HOSTILE_TEXTS = [
    '<script>alert("x")</script><img src=x onerror=alert(1)> & &amp; <b>bold</b>',
    "'; DROP TABLE requests_app_servicerequest; --",
    "1' OR '1'='1",
    "Robert'); DELETE FROM officials_user WHERE ('1'='1",
    "%_\\%' LIKE '%",
    "企业诉求：道路损坏 🚧 — “quotes” ‘single’",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_html_and_sql_are_stored_and_returned_verbatim(cast, api, text):
    client = api(cast.alice)
    created = client.post(
        "/api/v1/requests/", new_request(title=text[:200], description=text), format="json"
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    for body in (created.json(), client.get(f"/api/v1/requests/{pk}/").json()):
        assert body["title"] == text[:200]
        assert body["description"] == text
    commented = client.post(f"/api/v1/requests/{pk}/comment/", {"text": text}, format="json")
    assert commented.status_code == 200
    events = client.get(f"/api/v1/requests/{pk}/events/").json()["results"]
    assert events[-1]["note"] == text
    assert ids(client.get("/api/v1/requests/", {"search": text[:200]})) == [pk]
    assert ServiceRequest.objects.count() == 1  # and every table is still there
    assert cast.alice.__class__.objects.filter(username="alice").exists()


def test_the_longest_allowed_texts_are_accepted(cast, api):
    response = api(cast.alice).post(
        "/api/v1/requests/",
        new_request(title="标" * 200, description="述" * 10_000),
        format="json",
    )
    assert response.status_code == 201
    assert len(response.json()["description"]) == 10_000


# --- one request, its events, its verification ---------------------------------------------------


def test_detail(cast, api, request_in):
    service_request = request_in("rectifying")
    body = api(cast.hank).get(f"/api/v1/requests/{service_request.pk}/").json()
    assert set(body) >= REQUEST_KEYS
    assert body["status"] == "rectifying"
    assert body["department"] == {"id": cast.roads.pk, "name": "Gulou Roads Bureau"}
    assert body["handler"] == {"id": cast.hank.pk, "name": "Hank"}
    assert is_iso_with_offset(body["assigned_at"])
    assert set(body["allowed_actions"]) == {
        "transfer",
        "request_info",
        "feedback",
        "extend",
        "comment",
    }


def test_events_are_the_timeline_oldest_first(cast, api, request_in):
    service_request = request_in("closed")
    response = api(cast.alice).get(f"/api/v1/requests/{service_request.pk}/events/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= PAGE_KEYS
    events = body["results"]
    assert body["count"] == len(events) == 5
    assert [e["action"] for e in events] == ["submitted", "assign", "start", "feedback", "review"]
    for event in events:
        assert set(event) >= EVENT_KEYS
        assert isinstance(event["id"], int)
        assert set(event["actor"]) == {"id", "name"}
        assert is_iso_with_offset(event["created_at"])
        assert re.fullmatch(r"[0-9a-f]{64}", event["hash"])
        assert event["from_status"] in STATUSES | {""}
        assert event["to_status"] in STATUSES
    assert events[0]["actor"] == {"id": cast.alice.pk, "name": "Alice"}
    assert (events[1]["from_status"], events[1]["to_status"]) == ("submitted", "assigned")
    assert events[3]["note"] == "Repaved."
    assert events[-1]["to_status"] == "closed"
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)


def test_an_event_without_an_actor_shows_null(cast, api, request_in):
    service_request = request_in("submitted")
    append_event(service_request, action="reminder", actor=None, now=service_request.submitted_at)
    events = api(cast.ivan).get(f"/api/v1/requests/{service_request.pk}/events/").json()
    assert events["results"][-1]["action"] == "reminder"
    assert events["results"][-1]["actor"] is None


@pytest.mark.parametrize("persona", ["ivan", "ada"])
def test_verify_shape(cast, api, request_in, persona):
    service_request = request_in("feedback")
    response = api(cast[persona]).get(f"/api/v1/requests/{service_request.pk}/verify/")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "events": 4,
        "first_bad_event": None,
        "state_matches": True,
        "checkpoint": None,
    }


@pytest.mark.parametrize("persona", ["alice", "liam", "hank", "leona"])
def test_only_inspectors_verify(cast, api, request_in, persona):
    service_request = request_in("rectifying")
    response = api(cast[persona]).get(f"/api/v1/requests/{service_request.pk}/verify/")
    assert response.status_code == 403
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "suffix",
    ["", "events/", "verify/", "comment/", "attachments/", "assign/"],
)
@pytest.mark.parametrize("bad_id", ["999999", "0", "-1", "abc", "1.5", "99999999999999999999999"])
def test_bad_ids_in_paths_are_404(cast, api, request_in, bad_id, suffix):
    request_in("submitted")
    client = api(cast.ada)
    path = f"/api/v1/requests/{bad_id}/{suffix}"
    if suffix in ("", "events/", "verify/"):
        response = client.get(path)
    else:
        response = client.post(path, {"text": "x"}, format="json")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_an_unknown_action_is_404_and_reading_an_action_is_405(cast, api, request_in):
    service_request = request_in("submitted")
    client = api(cast.ada)
    assert client.post(f"/api/v1/requests/{service_request.pk}/teleport/", {}).status_code == 404
    assert client.get(f"/api/v1/requests/{service_request.pk}/assign/").status_code == 405


# --- the list: filters, ordering, paging ---------------------------------------------------------


@pytest.fixture
def varied(cast):
    """Five requests of acme (and one of globex) that differ in each filtered field."""
    with time_machine.travel(MONDAY_9, tick=False):
        early = ServiceRequestFactory(
            enterprise=cast.acme, by=cast.alice, title="Drain blocked at the north gate"
        )
    with time_machine.travel(MONDAY_9 + dt.timedelta(days=1), tick=False):
        labour = ServiceRequestFactory(
            enterprise=cast.acme,
            by=cast.alice,
            category=category("labor"),
            title="Hiring fair",
            description="We need forty welders.",
        )
    with time_machine.travel(MONDAY_9 + dt.timedelta(days=2), tick=False):
        assigned = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title="Street lamps")
        transition(assigned.pk, "assign", by=cast.liam, department=cast.roads)
    with time_machine.travel(MONDAY_9 + dt.timedelta(days=3), tick=False):
        closed = drive(
            cast,
            ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title="Pothole"),
            "closed",
        )
    with time_machine.travel(MONDAY_9 + dt.timedelta(days=4), tick=False):
        foreign = ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory, title="Dye waste")
    return {
        "early": early,
        "labour": labour,
        "assigned": assigned,
        "closed": closed,
        "foreign": foreign,
    }


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["closed", "assigned", "labour", "early"]),  # newest first by default
        ("status=submitted", ["labour", "early"]),
        ("status=closed", ["closed"]),
        ("status=withdrawn", []),
        ("category=labor", ["labour"]),
        ("category=infrastructure", ["closed", "assigned", "early"]),
        ("department={roads}", ["closed", "assigned"]),
        ("department={environment}", []),
        ("enterprise={acme}", ["closed", "assigned", "labour", "early"]),
        ("enterprise={globex}", []),  # a filter never widens the scope
        ("search=welders", ["labour"]),  # description
        ("search=NORTH GATE", ["early"]),  # title, any case
        ("search={early_ref}", ["early"]),  # reference
        ("search=", ["closed", "assigned", "labour", "early"]),
        ("submitted_after=2025-03-12", ["closed", "assigned"]),
        ("submitted_before=2025-03-11", ["labour", "early"]),  # the whole named day
        ("submitted_after=2025-03-11&submitted_before=2025-03-11", ["labour"]),
        ("ordering=submitted_at", ["early", "labour", "assigned", "closed"]),
        ("ordering=-submitted_at", ["closed", "assigned", "labour", "early"]),
        ("ordering=answer_due_at", ["early", "labour", "assigned", "closed"]),
        ("ordering=-answer_due_at", ["closed", "assigned", "labour", "early"]),
        ("status=submitted&category=labor&search=hiring", ["labour"]),
    ],
)
def test_list_filters(cast, api, varied, query, expected):
    query = query.format(
        roads=cast.roads.pk,
        environment=cast.environment.pk,
        acme=cast.acme.pk,
        globex=cast.globex.pk,
        early_ref=varied["early"].reference,
    )
    response = api(cast.alice).get("/api/v1/requests/?" + query)
    assert ids(response) == [varied[name].pk for name in expected]


def test_overdue_filter(cast, api, varied):
    client = api(cast.ada)
    with time_machine.travel(MONDAY_9 + dt.timedelta(days=4, hours=1), tick=False):
        # early and labour have not been assigned within a working day; assigned's answer clock
        # (Wed 09:00 + 3 working days = Mon 09:00) still runs; closed and foreign are fine.
        assert ids(client.get("/api/v1/requests/?overdue=true")) == [
            varied["labour"].pk,
            varied["early"].pk,
        ]
        not_overdue = ids(client.get("/api/v1/requests/?overdue=false"))
        assert set(not_overdue) == {varied[n].pk for n in ("assigned", "closed", "foreign")}


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=bogus", "status"),
        ("category=teleportation", "category"),
        ("enterprise=acme", "enterprise"),
        ("enterprise=99999999999999999999999", "enterprise"),
        ("department=1.5", "department"),
        ("department=-3", "department"),
        ("submitted_after=yesterday", "submitted_after"),
        ("submitted_before=2025-02-30", "submitted_before"),
        ("ordering=title", "ordering"),
        ("ordering=submitted_at;DROP TABLE x", "ordering"),
        ("search=" + "x" * 201, "search"),
        ("overdue=maybe", "overdue"),
        ("overdue=-58800", "overdue"),
    ],
)
def test_bad_filter_values_are_400(cast, api, varied, query, field):
    response = api(cast.alice).get("/api/v1/requests/?" + query)
    assert response.status_code == 400
    assert field in response.json()


def test_pagination(cast, api):
    RawServiceRequestFactory.create_batch(5, enterprise=cast.acme)
    client = api(cast.alice)
    first = client.get("/api/v1/requests/?page_size=2").json()
    assert set(first) >= PAGE_KEYS
    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert "page=2" in first["next"]
    second = client.get(first["next"]).json()
    assert second["previous"] is not None
    last = client.get("/api/v1/requests/?page_size=2&page=3").json()
    assert len(last["results"]) == 1
    assert last["next"] is None
    pages = [first, second, last]
    seen = [row["id"] for page in pages for row in page["results"]]
    assert len(set(seen)) == 5


def test_page_size_is_capped_at_200_and_defaults_to_20(cast, api):
    RawServiceRequestFactory.create_batch(201, enterprise=cast.acme)
    client = api(cast.alice)
    assert len(client.get("/api/v1/requests/").json()["results"]) == 20
    capped = client.get("/api/v1/requests/?page_size=500").json()
    assert capped["count"] == 201
    assert len(capped["results"]) == 200
    assert capped["next"] is not None


@pytest.mark.parametrize(
    "query",
    ["page=99", "page=abc", "page=0", "page=-1", "page=abc&page=", "page=1&page=x", "page="],
)
def test_a_page_that_does_not_exist_is_404(cast, api, query):
    RawServiceRequestFactory.create_batch(3, enterprise=cast.acme)
    assert api(cast.alice).get("/api/v1/requests/?" + query).status_code == 404


@pytest.mark.parametrize("query", ["page_size=abc", "page_size=0", "page_size=-5"])
def test_a_nonsense_page_size_falls_back_to_the_default(cast, api, query):
    RawServiceRequestFactory.create_batch(3, enterprise=cast.acme)
    response = api(cast.alice).get("/api/v1/requests/?" + query)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 3


# --- constant queries ----------------------------------------------------------------------------


def _fill(cast, n: int) -> None:
    for i in range(n):
        service_request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
        if i % 2:
            transition(
                service_request.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank
            )
        add_attachment(
            service_request, by=cast.alice, upload=SimpleUploadedFile("a.txt", b"plain words")
        )


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/requests/?page_size=50")
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("persona", ["alice", "liam", "hank", "leona", "ivan", "ada"])
def test_the_list_runs_a_constant_number_of_queries(cast, api, persona):
    def afresh():  # the user loaded anew, as each request loads its own
        return api(User.objects.get(pk=cast[persona].pk))

    _fill(cast, 2)
    few = _list_queries(afresh())
    _fill(cast, 23)
    many = _list_queries(afresh())
    assert afresh().get("/api/v1/requests/?page_size=50").json()["count"] in (25, 12)
    assert many == few


# --- nothing a client sends is a 500 -------------------------------------------------------------

JUNK_BODIES = [
    [],
    ["a"],
    "string",
    None,
    0,
    {"department": None, "handler": None, "into": None},
    {"department": [], "into": {}, "until": 5, "accepted": None, "rating": []},
    {"department": 10**30, "handler": 10**30, "into": 10**30, "rating": 10**30},
    {"department": -1, "into": -1, "rating": -1, "until": "9999-99-99T99:99"},
    {"until": "10000-01-01T00:00:00Z", "plan": "p"},
    {"until": "0001-01-01T00:00:00+14:00", "plan": "p"},
    {"text": "\ud800", "reason": "\x00", "question": "x" * 100_000},
]
# An actor and a state in which each action is allowed, so the body is what gets judged.
WHERE_ALLOWED = {
    "assign": ("submitted", "liam"),
    "reject": ("submitted", "liam"),
    "merge": ("submitted", "liam"),
    "start": ("assigned", "hank"),
    "transfer": ("rectifying", "hank"),
    "request_info": ("rectifying", "hank"),
    "provide_info": ("info_needed", "alice"),
    "feedback": ("rectifying", "hank"),
    "extend": ("rectifying", "hank"),
    "approve_extension": ("rectifying+extension_pending", "leona"),
    "refuse_extension": ("rectifying+extension_pending", "leona"),
    "review": ("feedback", "alice"),
    "dispute": ("closed+follow_up", "alice"),
    "withdraw": ("submitted", "alice"),
    "comment": ("closed", "ivan"),
}


@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_junk_bodies_never_cause_a_500(cast, api, request_in, action):
    state, actor = WHERE_ALLOWED[action]
    service_request = request_in(state)
    client = api(cast[actor])
    for junk in JUNK_BODIES:
        before = RequestEvent.objects.filter(request=service_request).count()
        response = client.generic(
            "POST",
            f"/api/v1/requests/{service_request.pk}/{action}/",
            json.dumps(junk),  # ASCII: a lone surrogate travels as the escape "\ud800"
            content_type="application/json",
        )
        assert response.status_code in (200, 400), (junk, response.content)
        if response.status_code == 400:
            assert RequestEvent.objects.filter(request=service_request).count() == before
            assert isinstance(response.json(), dict)
        else:  # the optional-body actions accept an empty-ish body once; start afresh
            service_request = request_in(state)


def test_every_action_route_exists(cast, api, request_in):
    service_request = request_in("closed")
    stranger = UserFactory(username="stan", role="admin")
    for action in TRANSITIONS:
        response = api(stranger).post(f"/api/v1/requests/{service_request.pk}/{action}/", {})
        assert response.status_code != 404, action


@pytest.mark.parametrize(
    "path", ["/api/v1/requests/", "/api/v1/auth/token/", "/api/v1/departments/"]
)
def test_an_unpaired_surrogate_is_400(cast, api, path):
    body = '{"title": "\\ud800", "description": "d", "category": "labor", "name": "\\ud800",'
    body += ' "username": "\\ud800", "password": "x"}'
    response = api(cast.ada if "departments" in path else cast.alice).generic(
        "POST", path, body, content_type="application/json"
    )
    assert response.status_code == 400


# --- the schema ----------------------------------------------------------------------------------


def test_the_openapi_schema_documents_every_endpoint(cast, api):
    response = api(cast.alice).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    expected = {
        "/api/v1/auth/token/",
        "/api/v1/categories/",
        "/api/v1/departments/",
        "/api/v1/enterprises/",
        "/api/v1/users/",
        "/api/v1/requests/",
        "/api/v1/requests/{id}/",
        "/api/v1/requests/{id}/events/",
        "/api/v1/requests/{id}/verify/",
        "/api/v1/requests/{id}/attachments/",
        *(f"/api/v1/requests/{{id}}/{action}/" for action in TRANSITIONS),
    }
    assert expected <= paths, expected - paths
    assert api(cast.alice).get("/api/docs/").status_code == 200


def _openapi(api, user) -> dict:
    response = api(user).get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    return json.loads(response.content)


def test_each_kind_of_record_is_documented_with_its_own_input(cast, api):
    """The record viewsets share one `create`; each documents its own body and answer."""
    schema = _openapi(api, cast.ada)
    fields = {"interactions": "kind", "gifts": "value_cny", "asset-uses": "asset"}
    for path, field in fields.items():
        operation = schema["paths"][f"/api/v1/{path}/"]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        component = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
        assert field in component["properties"], path


def test_the_schema_documents_json_bodies_and_multipart_only_for_files(cast, api):
    schema = _openapi(api, cast.ada)
    bodies = {
        (path, method): tuple(operation["requestBody"]["content"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    attachments = ("/api/v1/requests/{id}/attachments/", "post")
    # A reporter's addition takes its evidence files, or JSON when it carries text only.
    additions = ("/api/v1/reports/confidential/additions/", "post")
    files = {attachments, additions}
    assert {key for key, media in bodies.items() if media != ("application/json",)} == files
    assert bodies[attachments] == ("multipart/form-data",)
    assert bodies[additions] == ("multipart/form-data", "application/json")


def _report(cast, **changes) -> dict:
    body = {"kind": "petty_extortion", "text": "A clerk asked for a fee that no rule names."}
    return {**body, "enterprise": cast.acme.pk, "anonymous": False, **changes}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"anonymous": 0}, "anonymous"),
        ({"anonymous": "false"}, "anonymous"),
        ({"text": 1234567890123456789012345678901234567890}, "text"),
        ({"official_name": ["a list"]}, "official_name"),
    ],
)
def test_json_bodies_take_json_types_only(cast, api, change, field):
    """DRF would read 0 as false and a number as text; the schema says boolean and string."""
    response = api(cast.alice).post(
        "/api/v1/reports/confidential/", _report(cast, **change), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_form_body_spells_booleans_as_text(cast, api):
    response = api(cast.alice).post(
        "/api/v1/reports/confidential/", _report(cast, anonymous="false"), format="multipart"
    )
    assert response.status_code == 201


def test_an_object_is_no_list(cast, api):
    response = api(cast.ada).post(
        "/api/v1/departments/", {"name": "Harbour", "categories": {}}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["categories"]
