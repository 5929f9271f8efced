"""The year's end: no escalation or accountability case on a clock a non-official year decided.

The data migration loads every year `chinesecalendar` knows, up to 2026; 2027 has no published
schedule, so its clocks count Monday–Friday (the fallback) and New Year's Day 2027 passes for a
working day. A working day counts all its 24 hours. By hand, for a request filed on Thursday
2026-12-31 at 17:00 (Asia/Shanghai):

- on the fallback: assign due Friday 2027-01-01 17:00 (7 h of 12-31, 17 h of 01-01), answer
  due Tuesday 01-05 17:00 (7 h + 24 h of 01-01 + 24 h of 01-04 + 17 h of 01-05).
- on the 2027 notice (元旦 1–3 January off): assign due Monday 01-04 17:00, answer due
  Wednesday 01-06 17:00.
- the liaison's reminder at 75 % of the assign clock: 18 h used, 7 h on 12-31 and 11 h on
  01-01 → 01-01 11:00 on the fallback (a reminder goes out on the fallback).

Every test here runs on SQLite (the sweep's portable path) and, with DATABASE_URL set, on
PostgreSQL (its statements): both must hold and fire the same.
"""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from compliance.models import AccountabilityCase
from notifications import messages
from notifications.models import Notification
from requests_app.checkpoints import verify_chain
from requests_app.escalation import sweep
from requests_app.firing import message_defaults, overdue_by, when_due
from requests_app.models import (
    CalendarYear,
    EscalationAction,
    EscalationFiring,
    EscalationRule,
    RequestEvent,
    ServiceRequest,
    Trigger,
)
from requests_app.working_time import (
    SettledBound,
    add_working_time,
    calendar_changed,
    is_official_year,
    is_settled_year,
    subtract_working_time,
    unsettled_years,
)
from tests.conftest import at, drive
from tests.factories import ServiceRequestFactory

URL = "/api/v1/calendar/{}/"
DAY = dt.timedelta(days=1)
# The notice as an administrator pastes it: the title, the schedule lines, the signature.
NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知
各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
经国务院批准，现将2027年元旦、春节放假调休日期的具体安排通知如下。
一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。
二、春节：2月5日（周五）至11日（周四）放假调休，共7天。2月13日（周六）、2月14日（周日）上班。
国务院办公厅
"""

REMIND_ASSIGN = ("assign", "fraction", "remind")
ESCALATE_ASSIGN = ("assign", "breach", "escalate")
REMIND_ANSWER = ("answer", "fraction", "remind")
ACCOUNT_ANSWER = ("answer", "breach", "accountability")


def file_at(cast, moment: str, state: str = "submitted") -> ServiceRequest:
    with time_machine.travel(at(moment), tick=False):
        return drive(cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), state)


def sweep_at(moment: str):
    with time_machine.travel(at(moment), tick=False):
        return sweep()


def fired(request: ServiceRequest) -> list[tuple[str, str, str]]:
    """(clock, trigger, action) of every firing recorded for the request, in order."""
    return [
        tuple(row)
        for row in EscalationFiring.objects.filter(request=request)
        .order_by("id")
        .values_list("rule__clock", "rule__trigger", "rule__action")
    ]


def load_2027(cast, api, moment: str) -> dict:
    with time_machine.travel(at(moment), tick=False):
        response = api(cast.ada).put(URL.format(2027), {"notice": NOTICE_2027}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def confirm_fallback(cast, year: int, moment: str) -> None:
    """What the admin action records (requests_app.calendar): who accepted the fallback, when."""
    row, _ = CalendarYear.objects.get_or_create(year=year, defaults={"provisional": True})
    row.fallback_confirmed_by, row.fallback_confirmed_at = cast.ada, at(moment)
    row.save(update_fields=["fallback_confirmed_by", "fallback_confirmed_at"])
    calendar_changed()


def no_case_decided(result) -> bool:
    return result.fired["escalated"] == result.fired["accountability_opened"] == result.cases == 0


# --- the year-end case ---------------------------------------------------------------------------


def test_the_year_end_request_waits_for_2027_and_fires_once_on_its_official_days(cast, api):
    assert not is_official_year(2027) and not is_settled_year(2027)
    request = file_at(cast, "2026-12-31 17:00")
    assert request.assign_due_at == at("2027-01-01 17:00")  # the fallback counts New Year's Day
    assert request.answer_due_at == at("2027-01-05 17:00")

    # An hour after the fallback's assign deadline, on the holiday: the liaison's reminder goes
    # out, but nobody is escalated to and no case opens on a day 2027 has not settled.
    holiday = sweep_at("2027-01-01 18:00")
    assert dict(holiday.fired) == {"reminder": 1}
    assert no_case_decided(holiday)
    assert fired(request) == [REMIND_ASSIGN]  # the escalation wrote nothing: it fires later
    assert sum(sweep_at("2027-01-02 09:00").fired.values()) == 0

    # 2027 is loaded from the pasted notice: the clocks filed before it are re-based.
    loaded = load_2027(cast, api, "2027-01-02 10:00")
    assert loaded["official"] is True and loaded["rebased"] == 1
    request.refresh_from_db()
    assert request.assign_due_at == at("2027-01-04 17:00")
    assert request.answer_due_at == at("2027-01-06 17:00")
    rebased = request.events.filter(action="clock_rebased").order_by("seq")
    assert [(e.data["clock"], e.data["old_due_at"], e.data["new_due_at"]) for e in rebased] == [
        ("assign", at("2027-01-01 17:00").isoformat(), at("2027-01-04 17:00").isoformat()),
        ("answer", at("2027-01-05 17:00").isoformat(), at("2027-01-06 17:00").isoformat()),
    ]

    # Judged on the official days: not due an hour before 01-04 17:00, due an hour after.
    before = sweep_at("2027-01-04 16:00")
    assert sum(before.fired.values()) == 0
    after = sweep_at("2027-01-04 18:00")
    assert dict(after.fired) == {"escalated": 1}
    assert fired(request) == [REMIND_ASSIGN, ESCALATE_ASSIGN]
    assert sum(sweep_at("2027-01-04 18:05").fired.values()) == 0  # exactly once
    event = RequestEvent.objects.get(request=request, action="escalated")
    assert (event.created_at, event.data["due_at"]) == (
        at("2027-01-04 18:00"),
        at("2027-01-04 17:00").astimezone(dt.UTC).isoformat(),
    )
    assert verify_chain(request).ok
    # The answer clock runs on its official days too: no case before 01-06 17:00.
    assert AccountabilityCase.objects.count() == 0


# --- nothing escalates on a year that is not settled --------------------------------------------


def test_nothing_escalates_on_an_unofficial_year_until_it_is_loaded(cast, api):
    # Filed Monday 2027-03-01 09:00 and never handled: on the fallback (the notice will not move
    # these days), assign due 03-02 09:00, answer due 03-04 09:00.
    request = file_at(cast, "2027-03-01 09:00")
    waiting = [sweep_at(moment) for moment in ("2027-03-02 10:00", "2027-03-05 10:00")]
    waiting.append(sweep_at("2027-06-30 10:00"))  # however late
    assert all(no_case_decided(result) for result in waiting)
    assert sum(result.fired["reminder"] for result in waiting) == 2  # both reminders went out
    assert fired(request) == [REMIND_ASSIGN, REMIND_ANSWER]
    assert not AccountabilityCase.objects.exists()

    assert load_2027(cast, api, "2027-07-01 09:00")["rebased"] == 0  # nothing to move
    done = sweep_at("2027-07-01 09:01")
    assert dict(done.fired) == {"escalated": 1, "accountability_opened": 1}
    assert done.cases == AccountabilityCase.objects.count() == 1
    assert fired(request) == [REMIND_ASSIGN, REMIND_ANSWER, ESCALATE_ASSIGN, ACCOUNT_ANSWER]
    assert sum(sweep_at("2027-07-01 09:02").fired.values()) == 0


def test_a_confirmed_fallback_lets_the_clocks_fire_on_the_fallback_days(cast):
    request = file_at(cast, "2026-12-31 17:00")
    assert no_case_decided(sweep_at("2027-01-01 17:30"))

    confirm_fallback(cast, 2027, "2027-01-01 17:45")
    assert is_settled_year(2027) and not is_official_year(2027)
    # On the fallback New Year's Day works: the assign clock breached at 17:00.
    assert dict(sweep_at("2027-01-01 18:00").fired) == {"escalated": 1}
    assert fired(request) == [REMIND_ASSIGN, ESCALATE_ASSIGN]
    # ... and the answer clock at 01-05 17:00, the fallback's due time, kept (not re-based);
    # its reminder at 2/3 of it went out on 01-04 17:01:26.4.
    assert dict(sweep_at("2027-01-05 16:59").fired) == {"reminder": 1}
    answered = sweep_at("2027-01-05 17:00")
    assert (answered.fired["reminder"], answered.fired["accountability_opened"]) == (0, 1)
    assert answered.cases == 1
    assert sum(sweep_at("2027-01-05 17:01").fired.values()) == 0


def test_a_due_time_2026_decided_still_escalates_at_its_breach(cast):
    """Only what an unsettled year decides waits: a clock due on 2026's official days escalates
    at its breach though the sweep runs in 2027."""
    request = file_at(cast, "2026-12-30 10:00")  # assign due 2026-12-31 10:00
    assert request.assign_due_at == at("2026-12-31 10:00")
    result = sweep_at("2027-01-01 10:00")
    assert result.fired["escalated"] == 1
    assert ESCALATE_ASSIGN in fired(request)


def test_in_one_batch_only_the_clock_2027_decided_waits(cast):
    """The batch runs from the first pending deadline to the end of the index range: a clock that
    waits, due after one that fires, lies inside it, and the lock and the firing statement must
    leave it out themselves (PostgreSQL's as well as the ORM's)."""
    fires = file_at(cast, "2026-12-30 10:00")  # assign due 2026-12-31 10:00
    waits = file_at(cast, "2026-12-31 17:00")  # assign due 2027-01-01 17:00 on the fallback
    result = sweep_at("2027-01-01 18:00")
    assert result.fired["escalated"] == 1
    assert ESCALATE_ASSIGN in fired(fires)
    assert ESCALATE_ASSIGN not in fired(waits)
    assert waits.deadlines.get(clock="assign").stage == 1  # past its reminder, not its escalation


def test_a_rule_counted_after_the_breach_waits_for_the_days_it_counts(cast, api):
    """One working day after the assign breach: from 2027-01-01 11:00 the fallback counts back
    to 2026-12-31 11:00 (New Year's Day works), past the breach at 10:00; on the official days
    01-01 is off and the day after the breach ends on 01-04 10:00. Whatever 2027 turns out to
    be, the rule must not fire on 01-01."""
    EscalationRule.objects.create(
        name="Accountability a working day after the assign breach",
        clock="assign",
        trigger=Trigger.AFTER_BREACH,
        days_after=1,
        action=EscalationAction.ACCOUNTABILITY,
        recipients=["leader"],
    )
    request = file_at(cast, "2026-12-30 10:00")  # assign due 2026-12-31 10:00
    first = sweep_at("2027-01-01 11:00")
    assert (first.fired["escalated"], first.fired["accountability_opened"]) == (1, 0)
    assert not AccountabilityCase.objects.exists()

    load_2027(cast, api, "2027-01-02 09:00")
    assert sum(sweep_at("2027-01-04 09:59").fired.values()) == 0
    late = sweep_at("2027-01-04 10:00")
    assert (late.fired["accountability_opened"], late.cases) == (1, 1)
    assert fired(request)[-1] == ("assign", "after_breach", "accountability")


def test_a_reminder_set_above_a_waiting_escalation_waits_with_it(cast, api):
    """A deadline climbs its ladder in order: had the reminder above the held escalation fired
    first, the escalation below would be passed over for good."""
    EscalationRule.objects.create(
        name="Remind the liaison again a working day after the assign breach",
        clock="assign",
        trigger=Trigger.AFTER_BREACH,
        days_after=1,
        action=EscalationAction.REMIND,
        recipients=["liaison"],
    )
    request = file_at(cast, "2026-12-31 17:00")
    # On the fallback a working day past the breach (01-01 17:00) is 01-04 17:00.
    result = sweep_at("2027-01-04 17:00")
    assert dict(result.fired) == {"reminder": 1}  # the 75 % reminder, below the escalation
    load_2027(cast, api, "2027-01-05 09:00")
    caught_up = sweep_at("2027-01-05 17:00")  # official: breach 01-04 17:00, +1 day 01-05 17:00
    assert dict(caught_up.fired) == {"escalated": 1, "reminder": 1}
    assert fired(request) == [
        REMIND_ASSIGN,
        ESCALATE_ASSIGN,
        ("assign", "after_breach", "remind"),
    ]


# --- the calendar's questions --------------------------------------------------------------------


def test_settled_years_are_read_once_and_forgotten_with_the_calendar(
    cast, django_assert_num_queries
):
    assert is_settled_year(2026) and not is_settled_year(2027)
    with django_assert_num_queries(0):  # kept by the process, like the calendar itself
        assert unsettled_years(2028) == [2027, 2028]
        assert not is_settled_year(2027)
    confirm_fallback(cast, 2027, "2026-12-06 09:00")
    assert is_settled_year(2027) and unsettled_years(2028) == [2028]
    CalendarYear.objects.filter(year=2027).update(fallback_confirmed_at=None)
    calendar_changed()
    assert not is_settled_year(2027)


def test_the_bounds_count_an_unsettled_year_as_all_working_or_all_off(statutory):
    working, idle = SettledBound(unsettled_work=True), SettledBound(unsettled_work=False)
    # 2027: New Year's Day and the weekend after it work on one bound, nothing on the other.
    assert add_working_time(at("2027-01-01 17:00"), DAY, working) == at("2027-01-02 17:00")
    assert subtract_working_time(at("2027-03-01 09:00"), DAY, idle) == at("2026-12-31 00:00")
    # A settled year counts as the clocks count it: National Day 2026 off on both.
    for bound in (working, idle):
        assert add_working_time(at("2026-09-30 09:00"), DAY, bound) == at("2026-10-08 09:00")
        assert add_working_time(at("2026-09-30 09:00"), DAY, bound) == add_working_time(
            at("2026-09-30 09:00"), DAY, statutory
        )


# --- what a reminder says ------------------------------------------------------------------------


def reminders_to(request: ServiceRequest) -> dict[str, tuple[str, str]]:
    rows = Notification.objects.filter(
        kind="reminder", link=reverse("requests:detail", args=[request.pk])
    ).select_related("recipient")
    return {row.recipient.username: (row.subject, row.body) for row in rows}


def test_a_reminder_after_the_due_time_says_how_long_ago_in_each_readers_language(cast):
    cast.hank.language = "en"
    cast.hank.save(update_fields=["language"])
    cast.liam.language = "zh-hans"
    cast.liam.save(update_fields=["language"])
    # Filed Monday 2026-10-12 09:00, assigned to hank at once: answer due Thursday 10-15 09:00.
    request = file_at(cast, "2026-10-12 09:00", "assigned")
    assert request.answer_due_at == at("2026-10-15 09:00")
    assert sweep_at("2026-10-17 10:30").fired["reminder"] >= 1  # no sweep since: 2 days late
    ref, title = request.reference, request.title
    told = reminders_to(request)
    assert told["hank"] == (
        f"Reminder: {ref} was due 2 days ago, at 2026-10-15 09:00",
        f"The answer deadline of “{title}” (Acme Valves) was due 2 days ago, at 2026-10-15 09:00.",
    )
    assert told["liam"] == (
        f"催办：{ref} 已超时2天（时限为 2026-10-15 09:00）",
        f"“{title}”（Acme Valves）的答复时限已超时2天（时限为 2026-10-15 09:00）。",
    )


def test_a_reminder_before_the_due_time_says_when_it_is_due(cast):
    cast.hank.language = "en"
    cast.hank.save(update_fields=["language"])
    request = file_at(cast, "2026-10-12 09:00", "assigned")
    sweep_at("2026-10-14 10:00")  # 2/3 of the answer clock passed at 10-14 09:01:26.4
    told = reminders_to(request)
    assert told["hank"][0] == f"Reminder: {request.reference} is due at 2026-10-15 09:00"
    assert told["liam"][0] == f"催办：{request.reference} 将于 2026-10-15 09:00 到期"


@pytest.mark.parametrize(
    "late, unit, count, english, chinese",
    [
        (dt.timedelta(seconds=20), "minute", 1, "1 minute", "1分钟"),
        (dt.timedelta(minutes=59, seconds=59), "minute", 59, "59 minutes", "59分钟"),
        (dt.timedelta(hours=1), "hour", 1, "1 hour", "1小时"),
        (dt.timedelta(hours=23, minutes=59), "hour", 23, "23 hours", "23小时"),
        (dt.timedelta(days=1), "day", 1, "1 day", "1天"),
        (dt.timedelta(days=9, hours=23), "day", 9, "9 days", "9天"),
    ],
)
def test_how_long_ago_is_calendar_time_in_whole_units(late, unit, count, english, chinese):
    due = at("2026-10-15 09:00")
    assert overdue_by(due, due + late) == (unit, count)
    assert overdue_by(due, due) is None and overdue_by(due, due - late) is None
    words = when_due(due, due + late)
    with translation.override("en"):
        assert str(words) == f"was due {english} ago, at 2026-10-15 09:00"
    with translation.override("zh-hans"):
        assert str(words) == f"已超时{chinese}（时限为 2026-10-15 09:00）"


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): the database writes the reminder's words",
)
@pytest.mark.parametrize(
    "late",
    [
        dt.timedelta(0),
        dt.timedelta(seconds=-1),
        dt.timedelta(seconds=1),
        dt.timedelta(minutes=1, microseconds=1),
        dt.timedelta(minutes=2),
        dt.timedelta(hours=1),
        dt.timedelta(hours=5, minutes=3),
        dt.timedelta(days=1),
        dt.timedelta(days=2, hours=23, minutes=59, seconds=59, microseconds=999999),
    ],
)
def test_the_database_says_how_long_ago_word_for_word_as_python_does(cast, late):
    """`postgres.notify_batch` counts and words the delay as `firing.when_due` does."""
    from requests_app.sweep import postgres

    cast.hank.language = "en"
    cast.hank.save(update_fields=["language"])
    request = file_at(cast, "2026-10-12 09:00", "assigned")
    now = request.answer_due_at + late
    context = {
        "reference": request.reference,
        "title": request.title,
        "enterprise": cast.acme.name,
        "department": request.department.name,
        "clock": message_defaults("answer")["clock"],
        "due": timezone.localtime(request.answer_due_at).strftime("%Y-%m-%d %H:%M"),
        "when": when_due(request.answer_due_at, now),
    }
    expected = messages.rows_for_many(
        "reminder", [([cast.hank, cast.liam], context, f"/r/{request.pk}/")], now=now
    )
    words = messages.inbox_words(
        "reminder",
        [(request.pk, [cast.hank, cast.liam])],
        fields=postgres.NOTICE_FIELDS,
        defaults=message_defaults("answer"),
    )
    with connection.cursor() as cursor:
        count, _ids = postgres.notify_batch(
            cursor,
            words=words,
            requests=[request.pk],
            due_column="answer_due_at",
            time_zone=timezone.get_current_timezone_name(),
            link="/r/{}/",
            now=now,
        )
    stored = Notification.objects.filter(link__startswith="/r/").values_list(*messages.COLUMNS)
    assert count == 2
    assert sorted(stored) == sorted(expected)
