"""The request lifecycle: the whole transition table, through the API, and each action's effects.

The expected outcome of every (state, action, role) is derived from API.md's action table
(`CONTRACT` below), not from `workflow.TRANSITIONS`: the table in the code is checked against
the contract, and the matrix runs over the code's table so that a new action is tested at once.
"""

import dataclasses
import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from officials.models import Role
from requests_app import workflow
from requests_app.checkpoints import verify_chain
from requests_app.models import OPEN_STATUSES, ExtensionState, RequestEvent, ServiceRequest, Status
from requests_app.serializers import ACTION_INPUTS
from requests_app.workflow import (
    TRANSITIONS,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    transition,
)
from tests.conftest import (
    CLOSED_ON_FOLLOW_UP,
    INSIDERS,
    PENDING_EXTENSION,
    STATES,
    follow_up_call,
    status_of,
)
from tests.factories import ServiceRequestFactory

pytestmark = pytest.mark.django_db

S = Status
R = Role
ALL_ROLES = frozenset(Role.values)

# API.md, "Actions": action → (from states, to state or None for "no change", who).
CONTRACT: dict[str, tuple[frozenset, str | None, frozenset]] = {
    "assign": (frozenset({S.SUBMITTED}), S.ASSIGNED, frozenset({R.LIAISON, R.ADMIN})),
    "reject": (frozenset({S.SUBMITTED}), S.REJECTED, frozenset({R.LIAISON, R.ADMIN})),
    "merge": (frozenset({S.SUBMITTED, S.ASSIGNED}), S.MERGED, frozenset({R.LIAISON, R.ADMIN})),
    "start": (frozenset({S.ASSIGNED}), S.RECTIFYING, frozenset({R.HANDLER})),
    # API.md names "handler, liaison"; the code also lets an administrator re-route a request.
    "transfer": (
        frozenset({S.ASSIGNED, S.RECTIFYING}),
        S.ASSIGNED,
        frozenset({R.HANDLER, R.LIAISON, R.ADMIN}),
    ),
    "request_info": (frozenset({S.RECTIFYING}), S.INFO_NEEDED, frozenset({R.HANDLER})),
    "provide_info": (frozenset({S.INFO_NEEDED}), S.RECTIFYING, frozenset({R.ENTREPRENEUR})),
    "feedback": (frozenset({S.RECTIFYING}), S.FEEDBACK, frozenset({R.HANDLER})),
    "extend": (frozenset({S.RECTIFYING}), None, frozenset({R.HANDLER})),
    # The linked leader (of the insiders: leona), else the department head, or an admin: a
    # person, not a role (tests/requests_app/test_extensions.py tries each kind of person).
    "approve_extension": (frozenset({S.RECTIFYING}), None, frozenset({R.LEADER, R.ADMIN})),
    "refuse_extension": (frozenset({S.RECTIFYING}), None, frozenset({R.LEADER, R.ADMIN})),
    "review": (frozenset({S.FEEDBACK}), S.CLOSED, frozenset({R.ENTREPRENEUR, R.LIAISON})),
    "dispute": (frozenset({S.CLOSED}), S.RECTIFYING, frozenset({R.ENTREPRENEUR})),
    "withdraw": (frozenset(OPEN_STATUSES), S.WITHDRAWN, frozenset({R.ENTREPRENEUR})),
    "comment": (frozenset(Status.values), None, ALL_ROLES),
}
# An extension is asked for once and then approved: the pending one is a state of its own.
STATE_GUARDS = {
    "extend": lambda state: state != PENDING_EXTENSION,
    "approve_extension": lambda state: state == PENDING_EXTENSION,
    "refuse_extension": lambda state: state == PENDING_EXTENSION,
    # Only a close made on the liaison's follow-up call is disputed (and only for a while).
    "dispute": lambda state: state == CLOSED_ON_FOLLOW_UP,
}
# Actions decided by a person rather than a role: the table lets every official through to
# `may`, which asks who they are (`requests_app.approvers`).
PERSON_RULED = {
    "approve_extension": ALL_ROLES - {R.ENTREPRENEUR},
    "refuse_extension": ALL_ROLES - {R.ENTREPRENEUR},
}


def expected_code(state: str, action: str, role: str, service_request: ServiceRequest) -> int:
    """What API.md says the insider of `role` gets for `action` on a request in `state`."""
    sources, _, roles = CONTRACT[action]
    # Every insider sees acme's requests; a handler only while it is with his department.
    if role == R.HANDLER and service_request.department_id is None:
        return 404
    if role not in roles:
        return 403
    if status_of(state) not in sources or not STATE_GUARDS.get(action, bool)(state):
        return 409
    return 200


def body_for(
    action: str, cast, service_request: ServiceRequest, twin: ServiceRequest | None, role=None
):
    """A valid body for each action (what a well-behaved client sends; a liaison's review
    records the follow-up call)."""
    due = service_request.answer_due_at or timezone.now()
    if action == "review" and role == R.LIAISON:
        call = {**follow_up_call(), "contacted_at": timezone.now().isoformat()}
        return {"accepted": True, "rating": 4, "comment": "Fine.", "follow_up": call}
    return {
        "assign": {"department": cast.roads.pk, "handler": cast.hank.pk, "note": "Roads."},
        "reject": {"reason": "A private contract dispute."},
        "merge": {"into": twin.pk if twin else 0, "note": "Same gate."},
        "start": {},
        "transfer": {"department": cast.environment.pk, "reason": "It is a drainage problem."},
        "request_info": {"question": "Which gate?"},
        "provide_info": {"answer": "The north gate."},
        "feedback": {"message": "The road was repaved on Monday."},
        "extend": {
            "until": (max(due, timezone.now()) + dt.timedelta(days=20)).isoformat(),
            "plan": "Survey, then repave.",
        },
        "approve_extension": {"note": "Approved at the weekly meeting."},
        "refuse_extension": {"reason": "The plan has no dates."},
        "review": {"accepted": True, "rating": 4, "comment": "Fine."},
        "dispute": {"reason": "Nobody asked me; the road is still broken."},
        "withdraw": {"reason": "Solved ourselves."},
        "comment": {"text": "Called the plant manager."},
    }[action]


def snapshot(service_request: ServiceRequest) -> tuple[dict, list[tuple]]:
    row = ServiceRequest.objects.filter(pk=service_request.pk).values().get()
    events = list(
        RequestEvent.objects.filter(request=service_request)
        .order_by("seq")
        .values_list("id", "seq", "hash")
    )
    return row, events


def new_events(service_request: ServiceRequest, before: list[tuple]) -> list[RequestEvent]:
    seen = {event_id for event_id, _, _ in before}
    return list(
        RequestEvent.objects.filter(request=service_request).exclude(pk__in=seen).order_by("seq")
    )


# --- the tables ----------------------------------------------------------------------------------


def test_the_code_implements_the_contract_table():
    assert set(TRANSITIONS) == set(CONTRACT), "a new action needs its row in API.md and CONTRACT"
    for action, spec in TRANSITIONS.items():
        sources, target, roles = CONTRACT[action]
        assert spec.sources == sources, action
        assert spec.target == target, action
        assert spec.roles == PERSON_RULED.get(action, roles), action


def test_the_table_covers_every_status():
    assert {status_of(state) for state in STATES} == set(Status.values)


def test_every_action_has_an_input_serializer():
    assert set(ACTION_INPUTS) == set(TRANSITIONS)


@pytest.mark.parametrize("state", STATES)
def test_each_state_is_reached_through_the_workflow(request_in, state):
    service_request = request_in(state)
    assert service_request.status == status_of(state)
    assert (service_request.extension_state == ExtensionState.PENDING) == (
        state == PENDING_EXTENSION
    )
    check = verify_chain(service_request)
    assert check.ok
    assert check.events == service_request.events.count() >= 1


@pytest.mark.parametrize("role", sorted(ALL_ROLES))
@pytest.mark.parametrize("action", list(TRANSITIONS))
@pytest.mark.parametrize("state", STATES)
def test_transition_matrix(cast, api, request_in, state, action, role):
    """Allowed: 200, the new status, exactly one event. Refused: 403/404/409 and nothing changes."""
    service_request = request_in(state)
    twin = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice) if action == "merge" else None
    actor = cast[INSIDERS[role]]
    before = snapshot(service_request)
    twin_before = snapshot(twin) if twin else None
    code = expected_code(state, action, role, service_request)

    response = api(actor).post(
        f"/api/v1/requests/{service_request.pk}/{action}/",
        body_for(action, cast, service_request, twin, role),
        format="json",
    )

    assert response.status_code == code, response.content
    if code != 200:
        assert snapshot(service_request) == before
        if twin:
            assert snapshot(twin) == twin_before
        assert "detail" in response.json()
        if code == 409:
            assert response.json()["code"] == "invalid_transition"
            assert response.json()["status"] == status_of(state)
        return

    _, target, _ = CONTRACT[action]
    to_status = target or status_of(state)
    body = response.json()
    assert body["id"] == service_request.pk
    assert body["status"] == to_status
    assert ServiceRequest.objects.get(pk=service_request.pk).status == to_status
    added = new_events(service_request, before[1])
    if action == "review" and role == R.LIAISON:  # the call itself is on the timeline first
        call, *added = added
        assert (call.action, call.data["channel"]) == ("follow_up", "phone")
    (event,) = added
    assert event.action == action
    assert event.actor_id == actor.pk
    assert event.from_status == status_of(state)
    assert event.to_status == to_status
    assert verify_chain(service_request).ok
    if twin:
        (received,) = new_events(twin, twin_before[1])
        assert received.action == "merge_received"
        assert received.data["request"] == service_request.pk
        assert ServiceRequest.objects.get(pk=service_request.pk).merged_into_id == twin.pk
        assert ServiceRequest.objects.get(pk=twin.pk).status == twin_before[0]["status"]
        assert verify_chain(twin).ok


@pytest.mark.parametrize("role", sorted(ALL_ROLES))
@pytest.mark.parametrize("state", STATES)
def test_allowed_actions_in_the_api_match_the_table(cast, api, request_in, state, role):
    service_request = request_in(state)
    response = api(cast[INSIDERS[role]]).get(f"/api/v1/requests/{service_request.pk}/")
    if role == R.HANDLER and service_request.department_id is None:
        assert response.status_code == 404
        return
    allowed = {
        action
        for action in TRANSITIONS
        if expected_code(state, action, role, service_request) == 200
    }
    assert set(response.json()["allowed_actions"]) == allowed


# --- the service, directly -----------------------------------------------------------------------


def test_refusals_raise_domain_errors_and_change_nothing(cast, request_in):
    service_request = request_in("assigned")
    before = snapshot(service_request)
    with pytest.raises(NotPermitted):
        transition(service_request.pk, "start", by=cast.alice)
    with pytest.raises(NotPermitted):  # a handler, but of another department
        transition(service_request.pk, "start", by=cast.hugo)
    with pytest.raises(InvalidTransition) as error:
        transition(service_request.pk, "feedback", by=cast.hank, message="Done.")
    assert error.value.current_status == "assigned"
    with pytest.raises(InvalidTransition):
        transition(service_request.pk, "teleport", by=cast.ada)
    with pytest.raises(InvalidInput) as bad:
        transition(request_in("submitted").pk, "reject", by=cast.liam, reason="   ")
    assert "reason" in bad.value.errors
    assert snapshot(service_request) == before


def test_a_missing_request_is_does_not_exist(cast):
    with pytest.raises(ServiceRequest.DoesNotExist):
        transition(999_999, "comment", by=cast.ada, text="Anyone?")


def test_assign_records_department_handler_and_the_first_liaison(cast, request_in):
    service_request = request_in("submitted")
    service_request.liaison = None  # nobody has taken it yet
    ServiceRequest.objects.filter(pk=service_request.pk).update(liaison=None)
    assigned = transition(
        service_request.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank
    )
    assert assigned.department == cast.roads
    assert assigned.handler == cast.hank
    assert assigned.assigned_at is not None
    assert assigned.liaison == cast.liam  # 首接负责制: whoever takes it follows it to the end
    event = assigned.events.order_by("-seq").first()
    assert event.data == {"department": cast.roads.pk, "handler": cast.hank.pk}


def test_start_makes_the_handler_the_assignee_when_there_was_none(cast, request_in):
    service_request = request_in("submitted")
    transition(service_request.pk, "assign", by=cast.liam, department=cast.roads)
    started = transition(service_request.pk, "start", by=cast.hilda)
    assert started.status == Status.RECTIFYING
    assert started.handler == cast.hilda


def test_transfer_counts_and_clears_the_handler_but_keeps_the_clocks(cast, request_in):
    service_request = request_in("rectifying")
    due = service_request.answer_due_at
    moved = transition(
        service_request.pk,
        "transfer",
        by=cast.hank,
        department=cast.environment,
        reason="Drainage, not roads.",
    )
    assert moved.status == Status.ASSIGNED
    assert moved.department == cast.environment
    assert moved.handler is None
    assert moved.transfer_count == 1
    assert moved.answer_due_at == due  # passing a request around never buys time
    event = moved.events.order_by("-seq").first()
    assert event.note == "Drainage, not roads."
    assert event.data["to_department"] == cast.environment.pk


def test_the_handler_who_transfers_gets_the_result_though_he_no_longer_sees_it(
    cast, api, request_in
):
    service_request = request_in("rectifying")
    client = api(cast.hank)
    response = client.post(
        f"/api/v1/requests/{service_request.pk}/transfer/",
        {"department": cast.environment.pk, "reason": "Drainage."},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["department"] == {
        "id": cast.environment.pk,
        "name": "Gulou Environment Bureau",
    }
    assert client.get(f"/api/v1/requests/{service_request.pk}/").status_code == 404
    assert api(cast.hugo).get(f"/api/v1/requests/{service_request.pk}/").status_code == 200


def test_feedback_stops_the_answer_clock(cast, request_in):
    service_request = request_in("rectifying")
    answered = transition(service_request.pk, "feedback", by=cast.hank, message="Repaved.")
    assert answered.answered_at is not None
    assert not answered.is_overdue(answered.answer_due_at + dt.timedelta(days=30))


@pytest.mark.parametrize("reviewer", ["alice", "liam"])
def test_an_accepting_review_closes_with_the_rating(cast, request_in, reviewer):
    service_request = request_in("feedback")
    on_call = reviewer == "liam"
    call = {"follow_up": follow_up_call()} if on_call else {}
    closed = transition(
        service_request.pk, "review", by=cast[reviewer], accepted=True, rating=5, **call
    )
    assert closed.status == Status.CLOSED
    assert closed.rating == 5
    assert closed.closed_at is not None
    assert closed.rated_on_follow_up is on_call
    event = closed.events.order_by("-seq").first()
    assert event.data == {"accepted": True, "rating": 5, "on_follow_up": on_call}


def test_a_rejecting_review_reopens(cast, request_in):
    service_request = request_in("feedback")
    reopened = transition(
        service_request.pk, "review", by=cast.alice, accepted=False, comment="Still broken."
    )
    assert reopened.status == Status.RECTIFYING
    assert reopened.reopen_count == 1
    assert reopened.rating is None
    assert reopened.closed_at is None
    event = reopened.events.order_by("-seq").first()
    assert (event.from_status, event.to_status) == ("feedback", "rectifying")
    assert event.note == "Still broken."


def test_reject_and_withdraw_record_the_reason(cast, request_in):
    rejected = transition(request_in("submitted").pk, "reject", by=cast.ada, reason="Civil case.")
    assert rejected.events.order_by("-seq").first().note == "Civil case."
    withdrawn = transition(request_in("info_needed").pk, "withdraw", by=cast.alice)
    assert withdrawn.status == Status.WITHDRAWN
    assert not withdrawn.is_open


def test_a_comment_changes_nothing_but_the_timeline(cast, request_in):
    service_request = request_in("closed")
    row_before, events_before = snapshot(service_request)
    commented = transition(service_request.pk, "comment", by=cast.ivan, text="Audited.")
    assert commented.status == Status.CLOSED
    (event,) = new_events(service_request, events_before)
    assert (event.action, event.from_status, event.to_status) == ("comment", "closed", "closed")
    row_after, _ = snapshot(service_request)
    changed = {k for k in row_before if row_before[k] != row_after[k]}
    assert changed <= {"updated_at"}


# --- bad input to an allowed action: 400, and nothing changes ------------------------------------


HOUR = dt.timedelta(hours=1)
# (why, state, actor, action, body(cast, request, foreign request, now), field in the 400)
BAD_INPUTS = [
    ("no department", "submitted", "liam", "assign", lambda c, r, f, now: {}, "department"),
    (
        "department by name",
        "submitted",
        "liam",
        "assign",
        lambda c, r, f, now: {"department": "roads"},
        "department",
    ),
    (
        "no such department",
        "submitted",
        "liam",
        "assign",
        lambda c, r, f, now: {"department": 999_999},
        "department",
    ),
    (
        "handler of another department",
        "submitted",
        "liam",
        "assign",
        lambda c, r, f, now: {"department": c.roads.pk, "handler": c.hugo.pk},
        "handler",
    ),
    (
        "not a handler at all",
        "submitted",
        "liam",
        "assign",
        lambda c, r, f, now: {"department": c.roads.pk, "handler": c.alice.pk},
        "handler",
    ),
    ("no reason", "submitted", "liam", "reject", lambda c, r, f, now: {}, "reason"),
    (
        "blank reason",
        "submitted",
        "liam",
        "reject",
        lambda c, r, f, now: {"reason": "  "},
        "reason",
    ),
    ("no target", "submitted", "liam", "merge", lambda c, r, f, now: {}, "into"),
    ("into itself", "submitted", "liam", "merge", lambda c, r, f, now: {"into": r.pk}, "into"),
    (
        "into an invisible request",
        "submitted",
        "liam",
        "merge",
        lambda c, r, f, now: {"into": f.pk},
        "into",
    ),
    (
        "into a reference",
        "submitted",
        "liam",
        "merge",
        lambda c, r, f, now: {"into": "QQ1"},
        "into",
    ),
    (
        "to the same department",
        "rectifying",
        "hank",
        "transfer",
        lambda c, r, f, now: {"department": c.roads.pk, "reason": "x"},
        "department",
    ),
    (
        "transfer without a reason",
        "rectifying",
        "hank",
        "transfer",
        lambda c, r, f, now: {"department": c.environment.pk},
        "reason",
    ),
    (
        "empty question",
        "rectifying",
        "hank",
        "request_info",
        lambda c, r, f, now: {"question": ""},
        "question",
    ),
    ("no message", "rectifying", "hank", "feedback", lambda c, r, f, now: {}, "message"),
    (
        "message too long",
        "rectifying",
        "hank",
        "feedback",
        lambda c, r, f, now: {"message": "x" * 10_001},
        "message",
    ),
    (
        "until in words",
        "rectifying",
        "hank",
        "extend",
        lambda c, r, f, now: {"until": "next week", "plan": "p"},
        "until",
    ),
    (
        "until in the past",
        "rectifying",
        "hank",
        "extend",
        lambda c, r, f, now: {"until": (now - 24 * HOUR).isoformat(), "plan": "p"},
        "until",
    ),
    (
        "an extension that shortens the clock",
        "rectifying",
        "hank",
        "extend",
        lambda c, r, f, now: {"until": (now + HOUR).isoformat(), "plan": "p"},
        "until",
    ),
    (
        "an extension without a plan",
        "rectifying",
        "hank",
        "extend",
        lambda c, r, f, now: {"until": (now + 30 * 24 * HOUR).isoformat(), "plan": " "},
        "plan",
    ),
    (
        "empty answer",
        "info_needed",
        "alice",
        "provide_info",
        lambda c, r, f, now: {"answer": ""},
        "answer",
    ),
    (
        "accepted without a rating",
        "feedback",
        "alice",
        "review",
        lambda c, r, f, now: {"accepted": True},
        "rating",
    ),
    (
        "rating 6",
        "feedback",
        "alice",
        "review",
        lambda c, r, f, now: {"accepted": True, "rating": 6},
        "rating",
    ),
    (
        "rating 0",
        "feedback",
        "alice",
        "review",
        lambda c, r, f, now: {"accepted": True, "rating": 0},
        "rating",
    ),
    (
        "rating in words",
        "feedback",
        "alice",
        "review",
        lambda c, r, f, now: {"accepted": True, "rating": "five"},
        "rating",
    ),
    (
        "rejected without a comment",
        "feedback",
        "alice",
        "review",
        lambda c, r, f, now: {"accepted": False},
        "comment",
    ),
    (
        "accepted perhaps",
        "feedback",
        "alice",
        "review",
        lambda c, r, f, now: {"accepted": "perhaps", "rating": 3},
        "accepted",
    ),
    (
        "no verdict",
        "feedback",
        "alice",
        "review",
        lambda c, r, f, now: {"rating": 3},
        "accepted",
    ),
    ("empty comment", "closed", "ivan", "comment", lambda c, r, f, now: {"text": ""}, "text"),
    (
        "comment as a list",
        "closed",
        "ivan",
        "comment",
        lambda c, r, f, now: {"text": ["a", "b"]},
        "text",
    ),
]


@pytest.mark.parametrize(
    "state, actor, action, body, field",
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_to_an_allowed_action_is_400_and_changes_nothing(
    cast, api, request_in, state, actor, action, body, field
):
    service_request = request_in(state)
    foreign = ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory)
    before = snapshot(service_request)
    foreign_before = snapshot(foreign)
    response = api(cast[actor]).post(
        f"/api/v1/requests/{service_request.pk}/{action}/",
        body(cast, service_request, foreign, timezone.now()),
        format="json",
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert snapshot(service_request) == before
    assert snapshot(foreign) == foreign_before


def test_merging_into_a_closed_request_is_400(cast, api, request_in):
    service_request = request_in("submitted")
    closed = request_in("closed")
    before = snapshot(service_request)
    response = api(cast.liam).post(
        f"/api/v1/requests/{service_request.pk}/merge/", {"into": closed.pk}, format="json"
    )
    assert response.status_code == 400
    assert "into" in response.json()
    assert snapshot(service_request) == before


@pytest.mark.parametrize("source", ["breakfast_meeting", "visit", "hotline", "symposium", "web"])
def test_officials_file_on_behalf_with_a_source(cast, api, source):
    response = api(cast.liam).post(
        "/api/v1/requests/",
        {
            "enterprise": cast.acme.pk,
            "category": "labor",
            "title": "Hiring fair",
            "description": "Raised at the meeting.",
            "source": source,
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["source"] == source
    assert response.json()["liaison"] == {"id": cast.liam.pk, "name": "Liam"}


# --- one read of the locked row, only the changed columns written -------------------------------

REQUEST_TABLE = ServiceRequest._meta.db_table
# (state, actor, action, payload, the columns the action changes besides updated_at)
WRITES = [
    ("submitted", "liam", "reject", {"reason": "Civil case."}, {"status"}),
    ("assigned", "hank", "start", {}, {"status"}),  # the handler was already named
    (
        "rectifying",
        "hank",
        "transfer",
        {"department": "environment", "reason": "Drainage."},
        {"status", "department_id", "handler_id", "transfer_count"},
    ),
    ("rectifying", "hank", "request_info", {"question": "?"}, {"status", "answer_paused_at"}),
    ("rectifying", "hank", "feedback", {"message": "Done."}, {"status", "answered_at"}),
    (
        "feedback",
        "alice",
        "review",
        {"accepted": True, "rating": 5},
        {"status", "rating", "closed_at"},
    ),
    ("closed", "ivan", "comment", {"text": "Audited."}, set()),
]


def _selects_of_the_request(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith("SELECT") and f'FROM "{REQUEST_TABLE}"' in q["sql"]
    ]


def _updated_columns(queries) -> list[set[str]]:
    """The SET columns of each UPDATE of the request table."""
    updates = [q["sql"] for q in queries if q["sql"].startswith(f'UPDATE "{REQUEST_TABLE}"')]
    return [
        set(re.findall(r'"(\w+)" = ', sql.split(" SET ", 1)[1].split(" WHERE ", 1)[0]))
        for sql in updates
    ]


@pytest.mark.parametrize(
    "state, actor, action, payload, columns",
    WRITES,
    ids=[f"{state}-{action}" for state, _, action, _, _ in WRITES],
)
def test_a_transition_reads_the_row_once_and_writes_only_what_changed(
    cast, request_in, state, actor, action, payload, columns
):
    """One SELECT … FOR UPDATE (relations included), no re-read; an UPDATE of exactly the changed
    columns, none at all for an action that changes no column."""
    service_request = request_in(state)
    payload = {k: cast[v] if k == "department" else v for k, v in payload.items()}
    with CaptureQueriesContext(connection) as captured:
        transition(service_request.pk, action, by=cast[actor], **payload)

    (select,) = _selects_of_the_request(captured.captured_queries)
    if connection.vendor == "postgresql":
        assert select.rstrip().endswith(f'FOR UPDATE OF "{REQUEST_TABLE}"'), select
    expected = [columns | {"updated_at"}] if columns else []
    assert _updated_columns(captured.captured_queries) == expected


def test_a_write_meanwhile_to_a_column_the_action_leaves_alone_survives(
    cast, request_in, monkeypatch
):
    """A column written after the transition read the row (here by code in the same
    transaction, under the same lock) keeps its value: the save names only its own columns."""
    service_request = request_in("rectifying")
    feedback = TRANSITIONS["feedback"]

    def feedback_with_a_write_meanwhile(request, **kwargs):
        ServiceRequest.objects.filter(pk=request.pk).update(
            title="Corrected meanwhile", extension_plan="Written meanwhile"
        )
        return feedback.handler(request, **kwargs)

    monkeypatch.setitem(
        TRANSITIONS,
        "feedback",
        dataclasses.replace(feedback, handler=feedback_with_a_write_meanwhile),
    )
    answered = transition(service_request.pk, "feedback", by=cast.hank, message="Repaved.")

    row = ServiceRequest.objects.get(pk=service_request.pk)
    assert (row.title, row.extension_plan) == ("Corrected meanwhile", "Written meanwhile")
    assert row.status == answered.status == Status.FEEDBACK
    assert row.answered_at == answered.answered_at is not None


def test_transition_returns_the_locked_instance_in_its_new_state(cast, request_in, monkeypatch):
    service_request = request_in("assigned")
    locked = []

    def spy(request_id, payload):
        locked.append(lock(request_id, payload))
        return locked[-1]

    lock = workflow._lock
    monkeypatch.setattr(workflow, "_lock", spy)
    with CaptureQueriesContext(connection) as captured:
        started = transition(service_request.pk, "start", by=cast.hank)
        # Its relations came with the lock: reading them asks nothing more.
        assert (started.enterprise, started.department, started.handler) == (
            cast.acme,
            cast.roads,
            cast.hank,
        )
    assert started is locked[0]
    assert started.status == Status.RECTIFYING
    assert len(_selects_of_the_request(captured.captured_queries)) == 1
    assert ServiceRequest.objects.get(pk=service_request.pk).status == Status.RECTIFYING


def test_a_merge_locks_both_rows_in_one_query_and_reads_the_target_from_it(cast, request_in):
    service_request = request_in("submitted")
    twin = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    with CaptureQueriesContext(connection) as captured:
        merged = transition(service_request.pk, "merge", by=cast.liam, into=twin)
    assert merged.merged_into.pk == twin.pk
    locks = [q["sql"] for q in captured.captured_queries if "FOR UPDATE" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(locks) == 1
    # Besides the lock, only the visibility check (an EXISTS: LIMIT 1) reads the request table;
    # the target is not read again.
    selects = _selects_of_the_request(captured.captured_queries)
    assert len(selects) == 2
    assert len([sql for sql in selects if sql.rstrip().endswith("LIMIT 1")]) == 1
