"""A sweep shared among workers (SWEEP_WORKERS): each part fires the whole ladder for its own
requests, in order, and the parts together fire exactly what one sweep fires."""

from collections import Counter

import pytest
import time_machine
from django.db import transaction

from requests_app import escalation
from requests_app.models import EscalationFiring, RequestEvent
from requests_app.tasks import run_deadline_sweep
from tests.conftest import at, drive
from tests.factories import ServiceRequestFactory

pytestmark = pytest.mark.django_db

LATER = "2026-10-20 09:00"


def _backlog(cast) -> list:
    """Requests left at different rungs: never assigned, assigned, answering, closed."""
    made = []
    with time_machine.travel(at("2026-09-30 09:00"), tick=False):
        for index in range(24):
            state = ("submitted", "assigned", "rectifying", "closed")[index % 4]
            made.append(drive(cast, ServiceRequestFactory(enterprise=cast.acme), state))
    return made


def _firings() -> Counter:
    rows = EscalationFiring.objects.values_list("request_id", "rule_id", "cycle")
    return Counter(rows)


def _escalation_actions() -> dict[int, list[str]]:
    """Each request's sweep events, in timeline order."""
    actions: dict[int, list[str]] = {}
    events = RequestEvent.objects.filter(
        actor=None, action__in=escalation.firing.EVENT_ACTIONS.values()
    )
    for request_id, action in events.order_by("request_id", "seq").values_list(
        "request_id", "action"
    ):
        actions.setdefault(request_id, []).append(action)
    return actions


def test_the_parts_fire_exactly_what_one_sweep_fires_in_the_same_order(cast):
    made = _backlog(cast)
    with transaction.atomic():
        whole = escalation.sweep(now=at(LATER))
        expected, expected_order = _firings(), _escalation_actions()
        transaction.set_rollback(True)
    assert sum(whole.fired.values()) > len(made)  # several rungs fired for some requests
    assert not EscalationFiring.objects.exists()

    parts = [escalation.sweep(now=at(LATER), partition=(3, part)) for part in range(3)]

    assert _firings() == expected
    assert set(_firings().values()) == {1}
    assert _escalation_actions() == expected_order
    assert sum(sum(p.fired.values()) for p in parts) == sum(whole.fired.values())
    # Each part fired only its own requests.
    for part, result in enumerate(parts):
        assert sum(result.fired.values()) == sum(
            count for (request_id, _, _), count in expected.items() if request_id % 3 == part
        )


def test_a_part_fires_nothing_twice_when_it_runs_again(cast):
    _backlog(cast)
    first = escalation.sweep(now=at(LATER), partition=(2, 1))
    assert sum(first.fired.values()) > 0
    assert sum(escalation.sweep(now=at(LATER), partition=(2, 1)).fired.values()) == 0
    rest = escalation.sweep(now=at(LATER))  # the whole sweep finds only part 0 left
    assert {request_id % 2 for request_id, _, _ in _firings()} == {0, 1}
    assert sum(rest.fired.values()) > 0
    assert set(_firings().values()) == {1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_beat_hands_a_shared_sweep_out_as_a_group_of_parts(cast, eager_tasks, monkeypatch):
    """On PostgreSQL with SWEEP_WORKERS = 3 the minute tick enqueues three parts (eager here:
    they run at once); on SQLite, which has one writer, it sweeps itself."""
    eager_tasks.SWEEP_WORKERS = 3
    made = _backlog(cast)
    with time_machine.travel(at(LATER), tick=False):
        summary = run_deadline_sweep.delay().get()
    if escalation.in_database():
        assert "handed to 3 tasks" in summary
    else:
        assert "reminders" in summary
    assert {request_id for request_id, _, _ in _firings()} == {
        r.pk for r in made if r.status != "closed"
    }
    assert set(_firings().values()) == {1}
