"""The one definition of overdue (requests_app.models.OVERDUE_RULES): the query and the loaded
request answer the same, for every state a clock can be in."""

import datetime as dt

import pytest

from requests_app.deadlines import deadline_rows
from requests_app.models import ServiceRequest, Status, overdue_q
from tests.conftest import at
from tests.factories import RawServiceRequestFactory

NOW = at("2025-03-20 12:00")
PAST, FUTURE = NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=1)
EARLIER = PAST - dt.timedelta(hours=1)

CASES = [
    # status, assign due, answer due, paused at, overdue, on which clock
    (Status.SUBMITTED, PAST, FUTURE, None, True, "assign"),
    (Status.SUBMITTED, FUTURE, FUTURE, None, False, None),
    (Status.SUBMITTED, FUTURE, PAST, None, True, "answer"),  # answer due before assign due
    (Status.ASSIGNED, PAST, FUTURE, None, False, None),  # the assign clock stopped
    (Status.ASSIGNED, PAST, PAST, None, True, "answer"),
    (Status.RECTIFYING, None, PAST, None, True, "answer"),
    (Status.INFO_NEEDED, None, PAST, NOW, True, "answer"),  # breached before the pause
    (Status.INFO_NEEDED, None, PAST, EARLIER, False, None),  # paused in time: not late
    (Status.INFO_NEEDED, None, PAST, None, False, None),
    (Status.FEEDBACK, PAST, PAST, None, False, None),  # clocks stopped
    (Status.CLOSED, PAST, PAST, None, False, None),
]


@pytest.mark.django_db
@pytest.mark.parametrize("status, assign_due, answer_due, paused_at, overdue, clock", CASES)
def test_the_query_and_the_request_agree(status, assign_due, answer_due, paused_at, overdue, clock):
    row = RawServiceRequestFactory(
        status=status,
        submitted_at=EARLIER - dt.timedelta(days=5),
        assign_due_at=assign_due,
        answer_due_at=answer_due,
        answer_paused_at=paused_at,
    )
    assert row.is_overdue(NOW) is overdue
    assert ServiceRequest.objects.overdue(NOW).filter(pk=row.pk).exists() is overdue
    for name in ("assign", "answer"):
        on_clock = ServiceRequest.objects.filter(overdue_q(NOW, clock=name), pk=row.pk).exists()
        assert on_clock is (clock == name)


def test_the_sweep_keeps_escalating_a_clock_paused_after_its_breach():
    paused = ServiceRequest(
        status=Status.INFO_NEEDED, answer_due_at=PAST, answer_paused_at=NOW, reopen_count=0
    )
    assert deadline_rows(paused)["answer"]["running"]
    paused.answer_paused_at = EARLIER
    assert not deadline_rows(paused)["answer"]["running"]
