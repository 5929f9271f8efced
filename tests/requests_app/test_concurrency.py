"""Two people acting on one request at the same moment: exactly one wins, the timeline stays whole.

These need real row locks and concurrent connections, so they run on PostgreSQL only (SQLite
serialises whole-database writes and has no SELECT … FOR UPDATE).
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from requests_app.checkpoints import verify_chain
from requests_app.models import RequestEvent, ServiceRequest, Status
from requests_app.workflow import (
    InvalidInput,
    InvalidTransition,
    WorkflowError,
    correct_request,
    transition,
)
from tests.conftest import drive, follow_up_call
from tests.factories import ServiceRequestFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): row locks and concurrent connections",
    ),
    # Threads use their own connections, so the data must be committed; the calendar and the
    # categories of the data migrations are restored for each test after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ROUNDS = 3  # each race is run a few times: an unlocked version would lose at least one of them


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released together by a barrier; return results or exceptions."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=10)
            return call()
        except Exception as error:  # the loser's refusal is a result, not a crash
            return error
        finally:
            connection.close()  # each thread opened its own connection

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def assert_timeline_whole(service_request: ServiceRequest) -> list[RequestEvent]:
    events = list(RequestEvent.objects.filter(request=service_request).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    check = verify_chain(service_request)
    assert check.ok, check
    assert check.events == len(events)
    return events


def fresh(cast, state: str) -> ServiceRequest:
    return drive(cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), state)


RACES = {
    # name: (state, [(actor, action, payload)], possible outcomes)
    "two handlers sign for it": (
        "assigned",
        [("hank", "start", {}), ("hilda", "start", {})],
        {Status.RECTIFYING},
    ),
    "rejected while being assigned": (
        "submitted",
        [("ada", "reject", {"reason": "Civil case."}), ("liam", "assign", {"department": "roads"})],
        {Status.REJECTED, Status.ASSIGNED},
    ),
    "withdrawn while being closed": (
        "feedback",
        [
            ("alice", "withdraw", {}),
            ("liam", "review", {"accepted": True, "rating": 4, "follow_up": follow_up_call()}),
        ],
        {Status.WITHDRAWN, Status.CLOSED},
    ),
    "feedback while asking for information": (
        "rectifying",
        [("hank", "feedback", {"message": "Done."}), ("hilda", "request_info", {"question": "?"})],
        {Status.FEEDBACK, Status.INFO_NEEDED},
    ),
    "the enterprise and the liaison both review": (
        "feedback",
        [
            ("alice", "review", {"accepted": True, "rating": 5}),
            (
                "liam",
                "review",
                {
                    "accepted": False,
                    "comment": "They called: not fixed.",
                    "follow_up": follow_up_call(note="Not fixed."),
                },
            ),
        ],
        {Status.CLOSED, Status.RECTIFYING},
    ),
    "approved twice": (
        "rectifying+extension_pending",
        [("leona", "approve_extension", {}), ("ada", "approve_extension", {})],
        {Status.RECTIFYING},
    ),
}


def test_exactly_one_of_two_concurrent_actions_wins(cast):
    # One test for the whole table: every transactional test pays a flush and a reload.
    for name, (state, moves, outcomes) in RACES.items():
        for _ in range(ROUNDS):
            _race_once(cast, name, state, moves, outcomes)


def _race_once(cast, name, state, moves, outcomes) -> None:
    service_request = fresh(cast, state)
    before = RequestEvent.objects.filter(request=service_request).count()

    def act(actor, action, payload):
        payload = {k: cast[v] if k == "department" else v for k, v in payload.items()}
        return lambda: transition(service_request.pk, action, by=cast[actor], **payload)

    results = race(*(act(*move) for move in moves))

    winners = [r for r in results if isinstance(r, ServiceRequest)]
    losers = [r for r in results if not isinstance(r, ServiceRequest)]
    assert len(winners) == 1, (name, results)
    assert len(losers) == 1 and isinstance(losers[0], InvalidTransition), (name, results)
    assert losers[0].current_status == winners[0].status, name
    final = ServiceRequest.objects.get(pk=service_request.pk)
    assert final.status == winners[0].status, name
    assert final.status in outcomes, name
    events = assert_timeline_whole(service_request)
    # Only the winner left a mark (a liaison's review: with the follow-up call before it).
    assert len([e for e in events if e.action != "follow_up"]) == before + 1, name


def test_two_api_clients_at_the_same_moment(cast, api):
    for _ in range(ROUNDS):
        service_request = fresh(cast, "assigned")
        url = f"/api/v1/requests/{service_request.pk}/start/"
        clients = [api(cast.hank), api(cast.hilda)]
        responses = race(*(lambda c=c: c.post(url, {}, format="json") for c in clients))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409], [r.content for r in responses]
        conflict = next(r for r in responses if r.status_code == 409).json()
        assert conflict["code"] == "invalid_transition"
        assert conflict["status"] == "rectifying"
        assert_timeline_whole(service_request)


def test_merging_two_requests_into_each_other_does_not_deadlock(cast):
    for _ in range(ROUNDS):
        first, second = fresh(cast, "submitted"), fresh(cast, "submitted")
        results = race(
            lambda a=first, b=second: transition(a.pk, "merge", by=cast.liam, into=b),
            lambda a=first, b=second: transition(b.pk, "merge", by=cast.liam, into=a),
        )
        winners = [r for r in results if isinstance(r, ServiceRequest)]
        losers = [r for r in results if isinstance(r, WorkflowError)]
        assert len(winners) == 1 and len(losers) == 1, results
        # The loser's own request may be the one already merged (409), or its target (400).
        assert isinstance(losers[0], InvalidTransition | InvalidInput)
        statuses = sorted(ServiceRequest.objects.get(pk=r.pk).status for r in (first, second))
        assert statuses == [Status.MERGED, Status.SUBMITTED]
        assert_timeline_whole(first)
        assert_timeline_whole(second)


def test_concurrent_comments_all_land_in_one_unbroken_chain(cast):
    service_request = fresh(cast, "rectifying")
    before = RequestEvent.objects.filter(request=service_request).count()
    people = ["alice", "liam", "hank", "hilda", "leona", "ivan"]
    results = race(
        *(
            lambda p=p: transition(service_request.pk, "comment", by=cast[p], text=f"from {p}")
            for p in people
        )
    )
    assert all(isinstance(r, ServiceRequest) for r in results), results
    events = assert_timeline_whole(service_request)
    assert len(events) == before + len(people)
    assert {e.note for e in events[before:]} == {f"from {p}" for p in people}


def test_a_correction_and_a_transition_at_once_both_land(cast):
    """Each writes only its own columns under the row lock: whichever goes second keeps the
    first one's change (the status, the handler; the title)."""
    for _ in range(ROUNDS):
        service_request = fresh(cast, "assigned")
        results = race(
            lambda r=service_request: transition(r.pk, "start", by=cast.hank),
            lambda r=service_request: correct_request(
                r.pk, by=cast.ada, reason="Typo.", title="Gate 3 is broken"
            ),
        )
        assert all(isinstance(r, ServiceRequest) for r in results), results
        row = ServiceRequest.objects.get(pk=service_request.pk)
        assert (row.status, row.handler_id, row.title) == (
            Status.RECTIFYING,
            cast.hank.pk,
            "Gate 3 is broken",
        )
        events = assert_timeline_whole(service_request)
        assert {e.action for e in events[-2:]} == {"start", "corrected"}


def test_a_transition_waits_for_the_row_lock(cast):
    """Deterministic: while one transaction holds the request, a second transition blocks on the
    row lock and, once released, sees the new state and is refused (without the lock it would
    read the old state and act twice)."""
    service_request = fresh(cast, "assigned")
    inside, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                transition(service_request.pk, "start", by=cast.hank)
                inside.set()
                assert release.wait(timeout=30)
        finally:
            connection.close()

    def contender():
        try:
            return transition(service_request.pk, "start", by=cast.hilda)
        except WorkflowError as error:
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        held = pool.submit(holder)
        assert inside.wait(timeout=30)
        contended = pool.submit(contender)
        _wait_until_a_backend_waits_for_a_lock()
        assert not contended.done()
        release.set()
        held.result(timeout=30)
        outcome = contended.result(timeout=30)
    assert isinstance(outcome, InvalidTransition)
    assert outcome.current_status == Status.RECTIFYING
    assert ServiceRequest.objects.get(pk=service_request.pk).handler == cast.hank
    events = assert_timeline_whole(service_request)
    assert [e.action for e in events].count("start") == 1


def _wait_until_a_backend_waits_for_a_lock(attempts: int = 500) -> None:
    """Wait (for the other thread, not for time to pass) until PostgreSQL reports it blocked."""
    pause = threading.Event()
    with connection.cursor() as cursor:
        for _ in range(attempts):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            pause.wait(0.01)
    raise AssertionError("the second transition never waited for the row lock")
