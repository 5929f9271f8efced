"""The escalation ladder: each default rule fires once, at its moment, on the statutory calendar.

Requests are filed on Wednesday 2026-09-30 09:00 (Asia/Shanghai), the last working day before
National Day: 2026-10-01..07 are holidays, Saturday 2026-10-10 is a make-up working day (调休)
and Sunday 2026-10-11 an ordinary day off. A working day counts all its 24 hours. By hand:

- assign clock, 1 working day: 15 h left of 09-30, nothing during the holiday, 9 h of 10-08
  → due Thursday 2026-10-08 09:00.
- answer clock, 3 working days = 72 h: 15 h (09-30) + 24 h (10-08) + 24 h (10-09) = 63 h, the
  last 9 h on the make-up Saturday → due 2026-10-10 09:00.
- 75 % of the assign clock is 18 h used: 15 h on 09-30 and 3 h on 10-08 → 2026-10-08 03:00,
  a week of holiday later.
- the ladder stores 0.667 (not 2/3): 72 h × 0.667 = 48 h 1 min 26.4 s used: 15 h + 24 h (10-08)
  + 9 h 1 min 26.4 s of 10-09 → 2026-10-09 09:01:26.4; 23 h 58 min 33.6 s are then left.
- the answer clock breaches at 2026-10-10 09:00, on the make-up Saturday.

Time is moved with time_machine; `sweep()` reads it through `timezone.now()`.
"""

import datetime as dt
import re
from collections import Counter
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance.models import AccountabilityCase, CaseSource, CaseStatus
from notifications.models import Notification
from officials.models import Role
from requests_app import escalation
from requests_app.checkpoints import verify_chain
from requests_app.escalation import SweepResult, sweep
from requests_app.models import (
    CalendarYear,
    Deadline,
    EscalationFiring,
    EscalationRule,
    RequestEvent,
    ServiceRequest,
    Status,
)
from requests_app.workflow import transition
from requests_app.working_time import calendar_changed
from tests.conftest import PENDING_EXTENSION, at, drive
from tests.factories import ServiceRequestFactory, UserFactory

MINUTE = dt.timedelta(minutes=1)

FILED = "2026-09-30 09:00"
ASSIGN_DUE = "2026-10-08 09:00"
ANSWER_DUE = "2026-10-10 09:00"
ANSWER_REMINDER = "2026-10-09 09:01:26.4"
EXTENDED_UNTIL = "2026-10-16 18:00"  # an approved extension's date is a plain moment

# The default ladder (migration 0004), each rule known by what it does: (clock, when, action).
# Names are for people and admins rename them.
REMIND_ASSIGN = ("assign", "fraction", "remind")
ESCALATE_ASSIGN = ("assign", "breach", "escalate")
REMIND_ANSWER = ("answer", "fraction", "remind")
ACCOUNT_ANSWER = ("answer", "breach", "accountability")
ACCOUNT_EXTENSION = ("extension", "breach", "accountability")
Rung = tuple[str, str, str]


def sweep_at(moment) -> SweepResult:
    with time_machine.travel(at(moment), tick=False):
        return sweep()


def act(cast, request, action: str, actor: str, moment, **payload) -> ServiceRequest:
    with time_machine.travel(at(moment), tick=False):
        return transition(request.pk, action, by=cast[actor], **payload)


def file_request(cast, state="submitted", when=FILED, until=EXTENDED_UNTIL) -> ServiceRequest:
    """A request of acme filed by alice at `when`, driven to `state` at the same moment.

    "extended": rectifying with an extension until `until`, approved by the linked leader.
    """
    with time_machine.travel(at(when), tick=False):
        request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
        if state != "extended":
            return drive(cast, request, state)
        request = drive(cast, request, "rectifying")
        transition(request.pk, "extend", by=cast.hank, until=at(until), plan="Repave by then.")
        return transition(request.pk, "approve_extension", by=cast.leona)


def rule(rung: Rung) -> EscalationRule:
    clock, trigger, action = rung
    return EscalationRule.objects.get(clock=clock, trigger=trigger, action=action)


def fired(request: ServiceRequest) -> list[tuple[Rung, int]]:
    """(rule, cycle) of every firing for the request, in the order they were recorded."""
    rows = (
        EscalationFiring.objects.filter(request=request)
        .order_by("id")
        .values_list("rule__clock", "rule__trigger", "rule__action", "cycle")
    )
    return [((clock, trigger, action), cycle) for clock, trigger, action, cycle in rows]


def escalation_events(request: ServiceRequest) -> list[RequestEvent]:
    return list(
        RequestEvent.objects.filter(
            request=request, action__in=["reminder", "escalated", "accountability_opened"]
        ).order_by("seq")
    )


def inbox(request: ServiceRequest, moment) -> dict[str, set[str]]:
    """{kind: usernames} of the inbox rows about the request written at `moment`."""
    told: dict[str, set[str]] = {}
    rows = Notification.objects.filter(
        link=reverse("requests:detail", args=[request.pk]), created_at=at(moment)
    ).select_related("recipient")
    for row in rows:
        told.setdefault(row.kind, set()).add(row.recipient.username)
    return told


def confirm_fallback(cast, *years: int) -> None:
    """An administrator accepts the Monday–Friday fallback for `years` not officially loaded."""
    for year in years:
        row, _ = CalendarYear.objects.get_or_create(year=year, defaults={"provisional": True})
        if row.provisional:
            row.fallback_confirmed_by, row.fallback_confirmed_at = cast.ada, timezone.now()
            row.save(update_fields=["fallback_confirmed_by", "fallback_confirmed_at"])
    calendar_changed()


def assert_chain_whole(request: ServiceRequest) -> None:
    check = verify_chain(request)
    assert check.ok, check


@pytest.fixture
def ines(cast):
    """An inspector of Gulou District, acme's region (irene covers Minhou: the outsider)."""
    return UserFactory(username="ines", name="Ines", role=Role.INSPECTOR, department=cast.gulou)


# --- each rule at its moment ---------------------------------------------------------------------

LADDER = [
    # rule, state of the request, the moment it fires, timeline event, who is told
    (REMIND_ASSIGN, "submitted", "2026-10-08 03:00", "reminder", {"liam"}),
    (ESCALATE_ASSIGN, "submitted", ASSIGN_DUE, "escalated", {"leona", "liam"}),
    (REMIND_ANSWER, "rectifying", ANSWER_REMINDER, "reminder", {"hank", "liam"}),
    # The inspectors of acme's region (ines) and of the whole portal (ivan), never irene of
    # Minhou; the linked leader (leona), never lars who is not linked to acme.
    (ACCOUNT_ANSWER, "rectifying", ANSWER_DUE, "accountability_opened", {"ivan", "ines", "leona"}),
    (
        ACCOUNT_EXTENSION,
        "extended",
        EXTENDED_UNTIL,
        "accountability_opened",
        {"ivan", "ines", "leona"},
    ),
]


def test_the_table_covers_the_whole_default_ladder(db):
    active = EscalationRule.objects.filter(active=True).values_list("clock", "trigger", "action")
    assert sorted(active) == sorted(row[0] for row in LADDER)


@pytest.mark.parametrize(
    "rung, state, moment, action, told", LADDER, ids=[" ".join(row[0]) for row in LADDER]
)
def test_each_default_rule_fires_at_its_moment_and_not_a_minute_before(
    cast, ines, rung, state, moment, action, told
):
    request = file_request(cast, state)
    the_rule = rule(rung)
    answer_due = EXTENDED_UNTIL if state == "extended" else ANSWER_DUE
    assert (request.assign_due_at, request.answer_due_at) == (at(ASSIGN_DUE), at(answer_due))

    sweep_at(at(moment) - MINUTE)
    assert (rung, 0) not in fired(request)

    sweep_at(moment)
    firing = EscalationFiring.objects.get(request=request, rule=the_rule)
    due = request.assign_due_at if the_rule.clock == "assign" else request.answer_due_at
    assert (firing.cycle, firing.due_at, firing.fired_at) == (0, due, at(moment))
    event = escalation_events(request)[-1]
    assert (event.action, event.actor, event.note, event.created_at) == (
        action,
        None,
        the_rule.name,
        at(moment),
    )
    assert event.data == {
        "rule": the_rule.pk,
        "clock": the_rule.clock,
        "due_at": due.isoformat(),
        "cycle": 0,
    }
    assert inbox(request, moment) == {action: told}

    sweep_at(at(moment) + dt.timedelta(days=40))  # and never again in this cycle
    assert fired(request).count((rung, 0)) == 1
    assert len(escalation_events(request)) == len(fired(request))
    assert_chain_whole(request)


def test_an_accountability_case_names_the_request_department_official_breach_and_region(cast, ines):
    request = file_request(cast, "rectifying")
    sweep_at(ANSWER_DUE)
    case = AccountabilityCase.objects.get(request=request)
    assert case.source == CaseSource.BREACH
    assert case.status == CaseStatus.OPEN
    assert (case.department, case.official, case.region) == (cast.roads, cast.hank, "gulou")
    assert (case.breach_at, case.opened_at) == (at(ANSWER_DUE), at(ANSWER_DUE))
    assert case.rule == rule(ACCOUNT_ANSWER).name
    assert request.reference in case.cause
    # Opened by compliance with its N11 finding, in the sweep's own transaction.
    assert (case.finding.rule_code, case.finding.message_id) == ("N11", "n11.answer_breach")
    assert (case.finding.request, case.finding.created_at) == (request, at(ANSWER_DUE))


def test_every_firing_is_a_hash_chained_event_in_the_api(cast, api):
    request = file_request(cast, "submitted")
    for moment in ("2026-10-08 03:00", ASSIGN_DUE, ANSWER_REMINDER, ANSWER_DUE):
        sweep_at(moment)
    response = api(cast.ivan).get(f"/api/v1/requests/{request.pk}/events/")
    assert response.status_code == 200
    events = response.json()["results"]
    assert [(e["action"], e["data"].get("clock")) for e in events] == [
        ("submitted", None),
        ("reminder", "assign"),
        ("escalated", "assign"),
        ("reminder", "answer"),
        ("accountability_opened", "answer"),
    ]
    assert [e["actor"] for e in events[1:]] == [None] * 4  # the portal itself acted
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert all(e["prev_hash"] == p["hash"] for p, e in zip(events, events[1:], strict=False))
    # The enterprise sees the same timeline, the inspector verifies it.
    own = api(cast.alice).get(f"/api/v1/requests/{request.pk}/events/").json()["results"]
    assert [e["hash"] for e in own] == [e["hash"] for e in events]
    verified = api(cast.ivan).get(f"/api/v1/requests/{request.pk}/verify/").json()
    assert verified == {
        "ok": True,
        "events": 5,
        "first_bad_event": None,
        "state_matches": True,
        "checkpoint": None,
    }


# --- requests whose clocks do not run ------------------------------------------------------------


@pytest.mark.parametrize("state", ["closed", "withdrawn", "rejected", "merged", "feedback"])
def test_nothing_fires_for_a_request_that_is_finished_or_answered(cast, ines, state):
    request = file_request(cast, state)
    control = file_request(cast, "submitted")  # filed alongside, and left waiting
    events_before = RequestEvent.objects.filter(request=request).count()
    sweep_at("2026-12-31 12:00")
    assert fired(request) == []
    assert RequestEvent.objects.filter(request=request).count() == events_before
    assert not AccountabilityCase.objects.filter(request=request).exists()
    assert inbox(request, "2026-12-31 12:00") == {}
    assert len(fired(control)) == 4  # the sweep did run


def test_a_paused_clock_does_not_breach_while_paused_and_fires_when_its_kept_time_runs_out(
    cast, ines
):
    request = file_request(cast, "rectifying")
    # Thursday 10-08 12:00 the handler asks a question. Kept: 12 h of 10-08, 24 h of 10-09 and
    # 9 h of the make-up Saturday = 45 h.
    act(cast, request, "request_info", "hank", "2026-10-08 12:00", question="Which gate?")
    for moment in (ANSWER_REMINDER, ANSWER_DUE, "2026-10-12 09:59"):
        sweep_at(moment)  # the reminder's and the breach's moments pass while paused
    assert fired(request) == []

    # Monday 10-12 10:00 alice answers. 45 h from then: 14 h of 10-12, 24 h of 10-13 and 7 h
    # of 10-14 → Wednesday 10-14 07:00.
    resumed = act(cast, request, "provide_info", "alice", "2026-10-12 10:00", answer="North.")
    assert resumed.answer_due_at == at("2026-10-14 07:00")
    # The reminder comes with 23 h 58 min 33.6 s left: 7 h of 10-14 and 16 h 58 min 33.6 s of
    # 10-13 → Tuesday 10-13 07:01:26.4.
    sweep_at("2026-10-13 07:00:26.4")
    assert fired(request) == []
    sweep_at("2026-10-13 07:01:26.4")
    assert fired(request) == [(REMIND_ANSWER, 0)]
    sweep_at("2026-10-14 06:59")
    assert fired(request) == [(REMIND_ANSWER, 0)]
    sweep_at("2026-10-14 07:00")
    assert fired(request) == [(REMIND_ANSWER, 0), (ACCOUNT_ANSWER, 0)]
    assert AccountabilityCase.objects.get(request=request).breach_at == at("2026-10-14 07:00")
    assert_chain_whole(request)


def test_a_breach_missed_by_a_sweep_outage_is_not_lost_to_a_later_pause(cast, ines):
    """The answer clock runs out (10-10 09:00) while no sweep runs; on Monday the handler asks a
    question before the next sweep. The paused request had already breached, so the sweep still
    opens the case — but sends no reminder for a paused clock."""
    request = file_request(cast, "rectifying")
    act(cast, request, "request_info", "hank", "2026-10-12 08:00", question="Which gate?")
    sweep_at("2026-10-12 08:05")
    assert fired(request) == [(ACCOUNT_ANSWER, 0)]
    assert AccountabilityCase.objects.get(request=request).breach_at == at(ANSWER_DUE)
    assert_chain_whole(request)


def test_a_reopened_request_starts_a_new_cycle_and_fires_again(cast, ines):
    request = file_request(cast, "rectifying")
    sweep_at(ANSWER_DUE)  # the reminder and the case of the first round
    act(cast, request, "feedback", "hank", "2026-10-10 10:00", message="Patched.")
    reopened = act(
        cast, request, "review", "alice", "2026-10-10 11:00", accepted=False, comment="Still bad."
    )
    assert reopened.reopen_count == 1
    # A fresh answer clock from the make-up Saturday 11:00: 13 h of it, Sunday off, 24 h of
    # 10-12 and of 10-13, 11 h of 10-14 → Wednesday 10-14 11:00.
    assert reopened.answer_due_at == at("2026-10-14 11:00")
    sweep_at("2026-10-14 10:59")
    assert fired(request) == [(REMIND_ANSWER, 0), (ACCOUNT_ANSWER, 0), (REMIND_ANSWER, 1)]
    sweep_at("2026-10-14 11:00")
    assert fired(request)[-1] == (ACCOUNT_ANSWER, 1)
    cases = AccountabilityCase.objects.filter(request=request).order_by("breach_at")
    assert [case.breach_at for case in cases] == [at(ANSWER_DUE), at("2026-10-14 11:00")]
    # One N11 finding per request and cause: the second round's case shares the first's.
    assert len({case.finding_id for case in cases}) == 1 and cases[0].finding_id is not None
    assert [e.data["cycle"] for e in escalation_events(request)] == [0, 0, 1, 1]
    assert_chain_whole(request)


def test_a_transfer_restarts_no_clock_and_no_rule(cast, ines):
    request = file_request(cast, "rectifying")
    sweep_at(ANSWER_REMINDER)
    assert inbox(request, ANSWER_REMINDER) == {"reminder": {"hank", "liam"}}
    moved = act(
        cast,
        request,
        "transfer",
        "hank",
        "2026-10-09 10:00",
        department=cast.environment,
        reason="Drainage, not roads.",
    )
    act(cast, request, "start", "hugo", "2026-10-09 11:00")
    assert moved.answer_due_at == at(ANSWER_DUE)  # passing it on buys no time
    assert sum(sweep_at("2026-10-09 11:00").fired.values()) == 0  # nor a second reminder
    sweep_at(at(ANSWER_DUE) - MINUTE)
    assert fired(request) == [(REMIND_ANSWER, 0)]
    sweep_at(ANSWER_DUE)
    assert fired(request) == [(REMIND_ANSWER, 0), (ACCOUNT_ANSWER, 0)]
    case = AccountabilityCase.objects.get(request=request)
    assert (case.department, case.official) == (cast.environment, cast.hugo)
    assert_chain_whole(request)


def test_an_approved_extension_stops_the_answer_clock_and_feedback_in_time_stops_it(cast, ines):
    extended = file_request(cast, "extended")
    pending = file_request(cast, PENDING_EXTENSION)  # asked for, never approved
    sweep_at("2026-10-12 12:00")
    assert fired(extended) == []  # the original answer deadline passed: the plan replaced it
    assert fired(pending) == [(REMIND_ANSWER, 0), (ACCOUNT_ANSWER, 0)]
    act(cast, extended, "feedback", "hank", at(EXTENDED_UNTIL) - MINUTE, message="Repaved.")
    sweep_at("2026-11-30 12:00")
    assert fired(extended) == []


# --- idempotency, the command, catching up -------------------------------------------------------


def test_a_second_sweep_fires_nothing(cast, ines):
    request = file_request(cast, "submitted")
    first = sweep_at(ANSWER_DUE)
    assert dict(first.fired) == {"reminder": 2, "escalated": 1, "accountability_opened": 1}
    assert first.cases == 1
    assert first.notifications == Notification.objects.filter(created_at=at(ANSWER_DUE)).count()
    counts = (
        EscalationFiring.objects.count(),
        RequestEvent.objects.count(),
        AccountabilityCase.objects.count(),
        Notification.objects.count(),
    )
    second = sweep_at(ANSWER_DUE)
    assert (sum(second.fired.values()), second.cases, second.notifications) == (0, 0, 0)
    assert counts == (
        EscalationFiring.objects.count(),
        RequestEvent.objects.count(),
        AccountabilityCase.objects.count(),
        Notification.objects.count(),
    )
    assert counts[0] == 4
    assert_chain_whole(request)


SUMMARY = re.compile(
    r"Sweep at (?P<when>[\d-]+ [\d:]+ CST): (?P<reminders>\d+) reminders, "
    r"(?P<escalations>\d+) escalations, (?P<cases>\d+) accountability cases opened, "
    r"(?P<notifications>\d+) notifications \(\d+\.\d\d s\)\."
)


def escalate_at(moment) -> dict[str, str]:
    out = StringIO()
    with time_machine.travel(at(moment), tick=False):
        call_command("escalate", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines
    match = SUMMARY.fullmatch(lines[0])
    assert match, lines[0]
    return match.groupdict()


def test_manage_py_escalate_prints_a_one_line_summary_and_is_safe_to_repeat(cast, eager_tasks):
    request = file_request(cast, "submitted")
    first = escalate_at(ANSWER_DUE)
    assert first["when"] == "2026-10-10 09:00:00 CST"
    assert (first["reminders"], first["escalations"], first["cases"]) == ("2", "1", "1")
    # The sweep's own messages (filing the request told its liaison already).
    swept = Notification.objects.filter(created_at=at(ANSWER_DUE)).count()
    assert int(first["notifications"]) == swept > 0
    again = escalate_at(ANSWER_DUE)
    assert (again["reminders"], again["escalations"], again["cases"]) == ("0", "0", "0")
    assert again["notifications"] == "0"
    assert len(fired(request)) == 4
    # The e-mails of the first run never reached a broker (its commit callbacks do not run in
    # a test transaction); an hour later the command hands them to Celery again. (Those of the
    # filing, days old by then, the first run handed on already.)
    filing = Notification.objects.filter(created_at=at(FILED), email_wanted=True)
    assert len(mail.outbox) == filing.count()
    escalate_at(at(ANSWER_DUE) + dt.timedelta(hours=1))
    assert not Notification.objects.filter(email_wanted=True, emailed_at__isnull=True).exists()
    assert len(mail.outbox) == Notification.objects.filter(email_wanted=True).count()
    assert len(fired(request)) == 4


def test_after_three_days_without_a_sweep_one_sweep_catches_up_once_and_in_order(cast, ines):
    # Filed Monday 2026-10-12 09:00: assign due Tuesday 10-13 09:00, answer due Thursday
    # 10-15 09:00 (15 h + 24 h + 24 h + 9 h). The extended one was filed the Friday before
    # (answer due Tuesday 10-13 09:00, over the make-up Saturday) and given until Wednesday
    # 10-14 12:00. No sweep runs from Monday morning on.
    filed = "2026-10-12 09:00"
    waiting = file_request(cast, "submitted", when=filed)
    working = file_request(cast, "rectifying", when=filed)
    extended = file_request(cast, "extended", when="2026-10-09 09:00", until="2026-10-14 12:00")
    closed = file_request(cast, "closed", when=filed)
    outage_ends = "2026-10-15 09:00"

    result = sweep_at(outage_ends)

    expected = {
        waiting: [
            ("reminder", "assign"),
            ("escalated", "assign"),
            ("reminder", "answer"),
            ("accountability_opened", "answer"),
        ],
        working: [("reminder", "answer"), ("accountability_opened", "answer")],
        extended: [("accountability_opened", "extension")],
        closed: [],
    }
    for request, actions in expected.items():
        # The firings are the newest events of the timeline, one after the other, in order.
        timeline = list(RequestEvent.objects.filter(request=request).order_by("seq"))
        newest = timeline[len(timeline) - len(actions) :]
        assert [(e.action, e.data.get("clock")) for e in newest] == actions, request.status
        assert escalation_events(request) == newest
        assert {e.created_at for e in newest} <= {at(outage_ends)}
        assert len(fired(request)) == len(actions) == len(set(fired(request)))
        assert_chain_whole(request)
    assert dict(result.fired) == {"reminder": 3, "escalated": 1, "accountability_opened": 3}
    assert result.cases == AccountabilityCase.objects.count() == 3
    assert sum(sweep_at(outage_ends).fired.values()) == 0
    assert sum(sweep_at("2026-10-20 09:00").fired.values()) == 0


# --- the sweep's own properties ------------------------------------------------------------------


def _database_clock() -> dt.datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_TIMESTAMP")
        value = cursor.fetchone()[0]
    if isinstance(value, str):  # SQLite: 'YYYY-MM-DD HH:MM:SS' in UTC
        value = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    return value


DATABASE_CLOCK_SQL = re.compile(
    r"\bnow\(|current_timestamp|statement_timestamp|clock_timestamp|localtimestamp|'now'", re.I
)


def test_the_sweep_takes_now_from_its_caller_never_from_the_database_clock(cast):
    database_now = _database_clock()
    # Two months ahead may be a year without a published calendar, whose escalations wait
    # (tests/requests_app/test_year_end.py): an administrator accepted its fallback here.
    confirm_fallback(cast, database_now.year, database_now.year + 1)
    past = ServiceRequestFactory(
        enterprise=cast.acme, by=cast.alice, now=database_now - dt.timedelta(days=60)
    )
    future = ServiceRequestFactory(
        enterprise=cast.acme, by=cast.alice, now=database_now + dt.timedelta(days=60)
    )

    # A minute after the old filing nothing is due yet, though by the database's clock every
    # deadline of it passed weeks ago.
    moment = past.submitted_at + MINUTE
    with CaptureQueriesContext(connection) as queries:
        early = sweep(now=moment)
    assert early.now == moment
    assert sum(early.fired.values()) == 0
    assert not [q["sql"] for q in queries if DATABASE_CLOCK_SQL.search(q["sql"])]

    # At the future request's answer deadline everything is due, though by the database's
    # clock it has not even been filed.
    moment = future.answer_due_at
    late = sweep(now=moment)
    assert late.now == moment
    assert len(fired(future)) == len(fired(past)) == 4
    assert set(EscalationFiring.objects.values_list("fired_at", flat=True)) == {moment}
    assert {e.created_at for e in escalation_events(future)} == {moment}


def test_the_sweep_is_set_based_its_queries_do_not_grow_with_the_due_requests(cast):
    def queries_to_fire(count: int, filed: str) -> int:
        for _ in range(count):
            file_request(cast, "submitted", when=filed)
        with CaptureQueriesContext(connection) as queries:
            result = sweep(now=at(filed) + dt.timedelta(days=10))
        assert dict(result.fired) == {
            "reminder": 2 * count,
            "escalated": count,
            "accountability_opened": count,
        }
        return len(queries)

    assert queries_to_fire(2, "2026-10-12 09:00") == queries_to_fire(25, "2026-11-02 09:00")


def test_a_request_another_sweep_fired_meanwhile_is_not_recorded_or_announced_again(cast):
    """The race of two sweeps at once, made deterministic.

    A sweep whose candidate query ran before another sweep committed still holds the request
    as a candidate; the insert must then find the firing taken (ON CONFLICT DO NOTHING) and
    neither fail nor append an event, open a case or tell anyone again.
    """
    request = file_request(cast, "submitted")
    sweep_at("2026-10-08 03:00")
    assert fired(request) == [(REMIND_ASSIGN, 0)]
    counts = (RequestEvent.objects.count(), Notification.objects.count())
    result = SweepResult(now=at("2026-10-08 03:01"))
    # The stale sweep's view: the deadline not yet climbed past the reminder's rung.
    Deadline.objects.filter(request=request, clock="assign").update(stage=0)
    ladder = dict(escalation.ordered_rules())
    reminder = rule(REMIND_ASSIGN)
    due_by = escalation.threshold(reminder, result.now, escalation.Clocks.current())
    pending = escalation.pending_deadlines(
        reminder, ladder[reminder], result.now, escalation.Clocks.current()
    )
    assert list(pending.values_list("request_id", flat=True)) == [request.pk]
    [bounds] = escalation.batch_bounds(pending)
    escalation.fire(reminder, ladder[reminder], bounds, due_by, result)
    assert (sum(result.fired.values()), result.notifications) == (0, 0)
    assert fired(request) == [(REMIND_ASSIGN, 0)]
    assert counts == (RequestEvent.objects.count(), Notification.objects.count())
    assert_chain_whole(request)


def test_an_inactive_rule_does_not_fire(cast):
    EscalationRule.objects.filter(pk=rule(ESCALATE_ASSIGN).pk).update(active=False)
    request = file_request(cast, "submitted")
    sweep_at(ANSWER_DUE)
    assert [rung for rung, _ in fired(request)] == [REMIND_ASSIGN, REMIND_ANSWER, ACCOUNT_ANSWER]
    assert ServiceRequest.objects.get(pk=request.pk).status == Status.SUBMITTED


def test_small_batches_fire_every_request_once_across_ties_on_the_due_time(
    cast, monkeypatch, django_capture_on_commit_callbacks
):
    """Batches follow each other by position (stage, due time, request): requests filed at the
    same instant share a due time, and a batch boundary falling among them loses or repeats
    none."""
    monkeypatch.setattr(escalation, "BATCH_SIZE", 7)
    filed = at("2026-09-30 09:00")
    with time_machine.travel(filed, tick=False):
        made = [ServiceRequestFactory(enterprise=cast.acme, by=cast.alice) for _ in range(30)]
    assert len({r.assign_due_at for r in made}) == 1  # one due time for all: every batch ties

    with django_capture_on_commit_callbacks():
        result = escalation.sweep(now=at("2026-10-20 09:00"))

    per_request = Counter(EscalationFiring.objects.values_list("request_id", flat=True))
    assert set(per_request) == {r.pk for r in made}
    # Never assigned: both rules of the assign clock and both of the answer clock, once each.
    assert set(per_request.values()) == {4}
    assert sum(result.fired.values()) == sum(per_request.values())
    again = escalation.sweep(now=at("2026-10-20 09:00"))
    assert sum(again.fired.values()) == 0
