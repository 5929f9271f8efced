"""Two sweeps at once, and a sweep beside a user holding a request: every firing happens once.
A large sweep's batches side by side, and the vacuum of the deadlines it leaves behind.

These need real row locks and concurrent connections, so they run on PostgreSQL only. The
requests are filed before National Day 2026 as in test_escalation.py; on 2026-10-20 every rule
of the default ladder is due for them.
"""

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.db import connection, transaction
from django.db.models import Count

from compliance.models import AccountabilityCase
from notifications import messages
from notifications.models import Notification
from requests_app import escalation
from requests_app.checkpoints import verify_chain
from requests_app.escalation import SweepResult, sweep
from requests_app.models import Deadline, EscalationFiring, RequestEvent, ServiceRequest
from requests_app.workflow import transition
from tests.conftest import SHANGHAI, drive
from tests.factories import ServiceRequestFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (set DATABASE_URL): row locks and concurrent connections",
    ),
    # Threads use their own connections, so the data must be committed; the calendar, the
    # categories and the default ladder of the data migrations are restored after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

FILED = dt.datetime(2026, 9, 30, 9, tzinfo=SHANGHAI)
UNTIL = dt.datetime(2026, 10, 16, 18, tzinfo=SHANGHAI)
NOW = dt.datetime(2026, 10, 20, 9, tzinfo=SHANGHAI)
ESCALATION_ACTIONS = ("reminder", "escalated", "accountability_opened")

# How many requests of each kind, and what the ladder does to each once everything is due:
# waiting (never assigned) meets all four rules of the assign and answer clocks; in work, the
# two answer-clock rules; with an approved extension, only the extension's case.
WAITING, IN_WORK, EXTENDED = 300, 20, 10
EXPECTED = Counter(
    {
        "reminder": 2 * WAITING + IN_WORK,
        "escalated": WAITING,
        "accountability_opened": WAITING + IN_WORK + EXTENDED,
    }
)


@pytest.fixture
def enqueued(monkeypatch) -> list[list[int]]:
    """The e-mail batches handed to Celery after commit, recorded instead of sent to a broker."""
    batches: list[list[int]] = []
    monkeypatch.setattr(messages, "enqueue_emails", batches.append)
    return batches


def file_requests(cast, waiting: int, in_work: int = 0, extended: int = 0) -> list:
    with time_machine.travel(FILED, tick=False):
        made = [ServiceRequestFactory(enterprise=cast.acme, by=cast.alice) for _ in range(waiting)]
        for _ in range(in_work):
            made.append(drive(cast, ServiceRequestFactory(enterprise=cast.acme), "rectifying"))
        for _ in range(extended):
            request = drive(cast, ServiceRequestFactory(enterprise=cast.acme), "rectifying")
            transition(request.pk, "extend", by=cast.hank, until=UNTIL, plan="By the 16th.")
            made.append(transition(request.pk, "approve_extension", by=cast.leona))
    return made


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released together by a barrier; return results or exceptions."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=10)
            return call()
        except Exception as error:  # reported, not swallowed: the test asserts on it
            return error
        finally:
            connection.close()  # each thread opened its own connection

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def fired(request: ServiceRequest) -> int:
    return EscalationFiring.objects.filter(request=request).count()


def assert_timelines_whole(requests) -> None:
    for request in requests:
        check = verify_chain(request)
        assert check.ok, (request.pk, check)


def test_two_sweeps_at_once_fire_each_rule_once_per_request_and_cycle(cast, enqueued, monkeypatch):
    # Small batches, so that the two sweeps take turns over many batches of each rule (each
    # skipping the rows the other holds) instead of one of them doing everything in one go.
    monkeypatch.setattr(escalation, "BATCH_SIZE", 40)
    requests = file_requests(cast, WAITING, IN_WORK, EXTENDED)
    enqueued.clear()  # the transitions' own e-mails

    results = race(lambda: sweep(now=NOW), lambda: sweep(now=NOW))

    assert all(isinstance(result, SweepResult) for result in results), results
    assert sum((result.fired for result in results), Counter()) == EXPECTED
    total = sum(EXPECTED.values())
    assert EscalationFiring.objects.count() == total
    assert RequestEvent.objects.filter(action__in=ESCALATION_ACTIONS).count() == total
    # One firing per (request, rule, cycle) and one event per firing, request by request.
    per_request = dict(
        EscalationFiring.objects.values_list("request")
        .annotate(n=Count("id"))
        .values_list("request", "n")
    )
    events_per_request = dict(
        RequestEvent.objects.filter(action__in=ESCALATION_ACTIONS)
        .values_list("request")
        .annotate(n=Count("id"))
        .values_list("request", "n")
    )
    assert per_request == events_per_request
    assert sorted(Counter(per_request.values()).items()) == [
        (1, EXTENDED),
        (2, IN_WORK),
        (4, WAITING),
    ]
    cases = AccountabilityCase.objects.values_list("request").annotate(n=Count("id"))
    assert [n for _, n in cases] == [1] * EXPECTED["accountability_opened"]
    # Every inbox row written once, and every e-mail handed to Celery once.
    written = Notification.objects.filter(created_at=NOW)
    assert written.count() == sum(result.notifications for result in results) > 0
    handed = [pk for batch in enqueued for pk in batch]
    assert len(handed) == len(set(handed))
    assert set(handed) == set(written.filter(email_wanted=True).values_list("pk", flat=True))
    assert_timelines_whole(requests)

    again = sweep(now=NOW)
    assert (sum(again.fired.values()), again.cases, again.notifications) == (0, 0, 0)


def test_a_sweep_skips_a_request_a_user_is_changing_and_fires_it_next_time(cast, enqueued):
    """Deterministic: while a transaction holds one request's row (as transition() does), a
    sweep neither waits for it nor fires it; the next sweep does."""
    held, *others = file_requests(cast, 4)
    inside, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                ServiceRequest.objects.select_for_update().get(pk=held.pk)
                inside.set()
                assert release.wait(timeout=60)
        finally:
            connection.close()

    def sweeper() -> SweepResult:
        try:
            return sweep(now=NOW)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        holding = pool.submit(holder)
        assert inside.wait(timeout=30)
        try:
            # Without SKIP LOCKED this would wait on the row lock until the timeout.
            result = pool.submit(sweeper).result(timeout=20)
        finally:
            release.set()
        holding.result(timeout=30)

    assert fired(held) == 0
    assert [fired(request) for request in others] == [4, 4, 4]
    assert sum(result.fired.values()) == 12

    later = sweep(now=NOW + dt.timedelta(minutes=1))
    assert sum(later.fired.values()) == 4
    assert fired(held) == 4
    assert_timelines_whole([held, *others])


def test_a_large_sweep_runs_its_batches_side_by_side_and_fires_each_once(
    cast, enqueued, monkeypatch
):
    """More than one batch due: batches run two at a time on their own connections (threads),
    each thread's connection kept from batch to batch, and the outcome is the one sweep of
    batches one after another would have."""
    monkeypatch.setattr(escalation, "BATCH_SIZE", 25)
    threads: set[str] = set()
    backends: list[int] = []  # the PostgreSQL process each batch ran in
    fire_alone, fire_batch = escalation._fire_on_own_connection, escalation.fire

    def recorded(*args):
        threads.add(threading.current_thread().name)
        return fire_alone(*args)

    def batch_recorded(*args, **kwargs):
        fire_batch(*args, **kwargs)
        backends.append(connection.connection.info.backend_pid)

    monkeypatch.setattr(escalation, "_fire_on_own_connection", recorded)
    monkeypatch.setattr(escalation, "fire", batch_recorded)
    requests = file_requests(cast, 120)

    result = sweep(now=NOW)

    assert len(threads) == escalation.SIDE_BY_SIDE
    # 120 requests, batches of 25: five a rung on four rungs, in two connections a rung.
    assert len(backends) == 20
    assert len(set(backends)) == 4 * escalation.SIDE_BY_SIDE
    assert result.fired == Counter(
        {"reminder": 2 * 120, "escalated": 120, "accountability_opened": 120}
    )
    assert [fired(request) for request in requests] == [4] * 120
    assert Notification.objects.filter(created_at=NOW).count() == result.notifications > 0
    assert_timelines_whole(requests)


def _manual_vacuums_of_deadlines() -> int:
    """How often the deadline table was vacuumed by a VACUUM statement (autovacuum counts
    apart), as PostgreSQL's statistics say now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # not a figure cached earlier
        cursor.execute(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE relid = %s::regclass",
            [Deadline._meta.db_table],
        )
        return cursor.fetchone()[0]


# 30 requests never assigned: two reminders, an escalation and a case each.
SMALL_BACKLOG, ITS_FIRINGS = 30, 4 * 30


@pytest.mark.parametrize(
    ("tidy_after", "vacuums"),
    [(ITS_FIRINGS, 1), (ITS_FIRINGS + 1, 0)],
    ids=["as-many-as-tidy-after", "fewer"],
)
def test_a_sweep_that_fired_tidy_after_or_more_vacuums_the_deadlines_before_it_returns(
    cast, enqueued, monkeypatch, tidy_after, vacuums
):
    """Each climb leaves a dead deadline row and its entry in the pending index: a large sweep
    vacuums them away, so that the next sweep does not walk them; a small one leaves them to
    autovacuum."""
    monkeypatch.setattr(escalation, "BATCH_SIZE", 25)  # side by side, as a large sweep runs
    monkeypatch.setattr(escalation, "TIDY_AFTER", tidy_after)
    file_requests(cast, SMALL_BACKLOG)
    before = _manual_vacuums_of_deadlines()

    result = sweep(now=NOW)

    assert sum(result.fired.values()) == ITS_FIRINGS
    assert _manual_vacuums_of_deadlines() == before + vacuums


def test_a_sweep_inside_a_transaction_fires_but_leaves_the_vacuum(cast, enqueued, monkeypatch):
    """VACUUM cannot run inside a transaction: a caller's sweep fires as always and does not
    try."""
    monkeypatch.setattr(escalation, "TIDY_AFTER", 1)
    file_requests(cast, SMALL_BACKLOG)
    before = _manual_vacuums_of_deadlines()

    with transaction.atomic():
        result = sweep(now=NOW)

    assert sum(result.fired.values()) == ITS_FIRINGS
    assert _manual_vacuums_of_deadlines() == before


def test_autovacuum_visits_the_deadline_table_after_two_percent_of_its_rows_change():
    """Migration 0023: autovacuum does not wait for the default 20% of dead rows."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [Deadline._meta.db_table]
        )
        (options,) = cursor.fetchone()
    assert sorted(options) == [
        "autovacuum_analyze_scale_factor=0.02",
        "autovacuum_vacuum_scale_factor=0.02",
    ]
