"""Answer rounds and follow-up ratings in the figures, checked by hand (issue 12).

Requests of 2026-Q3 lived through the workflow with the clock moved by time_machine, so their
`late_rounds` is what requests_app.changes.feedback counted. August 2026 has no holiday: a
working day is Monday to Friday, and the answer clock runs 3 working days (72 working hours)
from submission, and afresh from a rejected review. "Now" is 2026-10-15 12:00.

    L1  Mon 08-03 09:00 filed, answer due Thu 08-06 09:00; answered Fri 08-07 10:00 (late);
        rejected 12:00, fresh clock to Wed 08-12 12:00; answered Mon 08-10 09:00 (on time);
        accepted 15:00, rating 5.                                   late rounds 1: not on time
    L2  Mon 08-03 09:00 filed, due Thu 08-06 09:00; answered Fri 08-07 10:00 (late); rejected
        12:00, due Wed 08-12 12:00; answered Thu 08-13 09:00 (late); accepted 15:00, rating 5.
                                                                    late rounds 2: not on time
    T   Tue 08-04 09:00 filed, due Fri 08-07 09:00; answered Wed 08-05 09:00 (on time);
        rejected 12:00, due Mon 08-10 12:00; answered Fri 08-07 09:00 (on time); accepted
        15:00, rating 2.                                            late rounds 0: on time
    F1  Wed 08-05 09:00 filed, due Mon 08-10 09:00; answered Thu 08-06 09:00 (on time);
        accepted 15:00, rating 5 on a liaison's follow-up call.     on time
    F2  as F1, rating 2 on a follow-up call.                        on time
    B   Thu 08-06 09:00 filed, due Tue 08-11 09:00; answered Fri 08-07 09:00 (on time);
        rejected 10:00, fresh clock to Wed 08-12 10:00, never answered again: that round is
        past due now.                                               late rounds 0: not on time

All were assigned within the hour (the assign clock runs a working day) to the Roads bureau.
F1 and F2 are filed under "environment", the rest under "infrastructure".
"""

import csv
import io
from dataclasses import dataclass

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from reports import figures, flags
from reports.exports import report_columns
from reports.figures import Period
from reports.selectors import narrow_to_department, quarterly_report, report_scope
from requests_app.models import ServiceRequest
from requests_app.workflow import transition
from tests.conftest import at
from tests.factories import ServiceRequestFactory, category

Q3 = Period(2026, 3)
QUERY = {"year": 2026, "quarter": 3}
NOW = "2026-10-15 12:00"


@dataclass
class Lives:
    l1: ServiceRequest
    l2: ServiceRequest
    t: ServiceRequest
    f1: ServiceRequest
    f2: ServiceRequest
    b: ServiceRequest

    def names(self, pks) -> set[str]:
        by_pk = {getattr(self, name).pk: name for name in ("l1", "l2", "t", "f1", "f2", "b")}
        return {by_pk[pk] for pk in pks}


def _at(when: str, action: str, request, by, **payload):
    with time_machine.travel(at(when), tick=False):
        return transition(request.pk, action, by=by, **payload)


def _live(cast, filed: str, code: str, steps: list[tuple]) -> ServiceRequest:
    """File a request for acme at `filed`, assign and start it within the hour, then play
    `steps`: (when, "answer") for the handler's feedback, (when, "reject") and
    (when, "accept", rating) for the enterprise's review."""
    with time_machine.travel(at(filed), tick=False):
        request = ServiceRequestFactory(
            enterprise=cast.acme,
            by=cast.alice,
            title=f"道路破损 {filed}",
            description="厂区门口道路破损，货车无法进厂。",
            category=category(code),
        )
    day, hour = filed.split()
    _at(f"{day} {int(hour[:2]) + 1:02d}:00", "assign", request, cast.liam, department=cast.roads)
    _at(f"{day} {int(hour[:2]) + 1:02d}:30", "start", request, cast.hank)
    for when, what, *rating in steps:
        if what == "answer":
            _at(when, "feedback", request, cast.hank, message="已处理。")
        elif what == "reject":
            _at(when, "review", request, cast.alice, accepted=False, comment="没有修好。")
        else:
            _at(when, "review", request, cast.alice, accepted=True, rating=rating[0])
    return ServiceRequest.objects.get(pk=request.pk)


def _on_follow_up(request: ServiceRequest) -> ServiceRequest:
    # The rating as a liaison's follow-up call records it (requests_app.changes.review sets the
    # same column); set here so these figures do not depend on the call's own checks.
    ServiceRequest.objects.filter(pk=request.pk).update(rated_on_follow_up=True)
    return ServiceRequest.objects.get(pk=request.pk)


@pytest.fixture
def lives(cast, statutory) -> Lives:
    late_first_round = [
        ("2026-08-07 10:00", "answer"),
        ("2026-08-07 12:00", "reject"),
    ]
    result = Lives(
        l1=_live(
            cast,
            "2026-08-03 09:00",
            "infrastructure",
            [*late_first_round, ("2026-08-10 09:00", "answer"), ("2026-08-10 15:00", "accept", 5)],
        ),
        l2=_live(
            cast,
            "2026-08-03 09:00",
            "infrastructure",
            [*late_first_round, ("2026-08-13 09:00", "answer"), ("2026-08-13 15:00", "accept", 5)],
        ),
        t=_live(
            cast,
            "2026-08-04 09:00",
            "infrastructure",
            [
                ("2026-08-05 09:00", "answer"),
                ("2026-08-05 12:00", "reject"),
                ("2026-08-07 09:00", "answer"),
                ("2026-08-07 15:00", "accept", 2),
            ],
        ),
        f1=_on_follow_up(
            _live(
                cast,
                "2026-08-05 09:00",
                "environment",
                [("2026-08-06 09:00", "answer"), ("2026-08-06 15:00", "accept", 5)],
            )
        ),
        f2=_on_follow_up(
            _live(
                cast,
                "2026-08-05 09:00",
                "environment",
                [("2026-08-06 09:00", "answer"), ("2026-08-06 15:00", "accept", 2)],
            )
        ),
        b=_live(
            cast,
            "2026-08-06 09:00",
            "infrastructure",
            [("2026-08-07 09:00", "answer"), ("2026-08-07 10:00", "reject")],
        ),
    )
    with time_machine.travel(at(NOW), tick=False):
        yield result


# Worked out by hand from the table above.
EXPECTED = {
    "received": 6,
    "answered": 6,
    "answer_measured": 6,  # all answered at least once
    "answer_on_time": 3,  # T, F1, F2
    "answer_on_time_rate": 0.5,  # 3 / 6
    "answered_late": 2,  # L1, L2
    "late_answer_rounds": 3,  # L1 1 + L2 2
    "closed": 5,  # all but B
    "resolution_rate": 0.8333,  # 5 / 6
    "rated": 3,  # the enterprise's own: L1 5, L2 5, T 2
    "satisfied": 2,  # L1, L2
    "satisfaction": 0.6667,  # 2 / 3 (mixed with the calls it would be 3 / 5)
    "rated_follow_up": 2,  # F1 5, F2 2
    "satisfied_follow_up": 1,  # F1
    "satisfaction_follow_up": 0.5,  # 1 / 2
    "reopened": 4,  # L1, L2, T, B
    "overdue": 3,  # L1 and L2 (late rounds), B (its second round is past due now)
}


def test_the_workflow_counted_each_late_round(lives):
    assert (lives.l1.late_rounds, lives.l2.late_rounds) == (1, 2)
    assert (lives.t.late_rounds, lives.f1.late_rounds, lives.b.late_rounds) == (0, 0, 0)
    assert (lives.l1.reopen_count, lives.t.reopen_count) == (1, 1)
    assert (lives.f1.rated_on_follow_up, lives.l1.rated_on_follow_up) == (True, False)


def test_late_then_on_time_is_not_on_time(cast, lives):
    report = quarterly_report(report_scope(cast.ada), Q3, now=at(NOW))
    assert {key: report[key] for key in EXPECTED} == EXPECTED


@pytest.mark.parametrize(
    ("figure", "expected"),
    [
        ("answer_on_time", {"t", "f1", "f2"}),
        ("answered_late", {"l1", "l2"}),
        # A sum of rounds; its list is the requests with a late round.
        ("late_answer_rounds", {"l1", "l2"}),
        ("rated", {"l1", "l2", "t"}),
        ("satisfied", {"l1", "l2"}),
        ("rated_follow_up", {"f1", "f2"}),
        ("satisfied_follow_up", {"f1"}),
        ("overdue", {"l1", "l2", "b"}),
    ],
)
def test_each_figure_lists_its_requests(cast, lives, figure, expected):
    members = figures.members(report_scope(cast.ada).requests, figure, Q3, now=at(NOW))
    assert lives.names(members.values_list("pk", flat=True)) == expected


def test_the_breakdowns_keep_the_two_satisfactions_apart(cast, lives):
    report = quarterly_report(report_scope(cast.ada), Q3, now=at(NOW))
    (roads,) = report["by_department"]
    assert roads["department"]["id"] == cast.roads.pk
    assert {key: roads[key] for key in EXPECTED} == EXPECTED  # every request went to Roads
    by_category = {row["category"]: row for row in report["by_category"]}
    infrastructure, environment = by_category["infrastructure"], by_category["environment"]
    # L1, L2, T, B: on time only T; own ratings 5, 5, 2; no call.
    assert (infrastructure["answer_on_time"], infrastructure["answer_on_time_rate"]) == (1, 0.25)
    assert (infrastructure["late_answer_rounds"], infrastructure["answered_late"]) == (3, 2)
    assert (infrastructure["satisfaction"], infrastructure["satisfaction_follow_up"]) == (
        0.6667,
        None,
    )
    # F1, F2: both on time; ratings only on calls.
    assert (environment["answer_on_time_rate"], environment["late_answer_rounds"]) == (1.0, 0)
    assert (environment["satisfaction"], environment["satisfaction_follow_up"]) == (None, 0.5)


def test_a_department_report_counts_the_same(cast, lives):
    scope = narrow_to_department(report_scope(cast.ada), cast.roads.pk)
    report = quarterly_report(scope, Q3, now=at(NOW))
    assert (report["answer_on_time_rate"], report["late_answer_rounds"]) == (0.5, 3)
    assert (report["satisfaction"], report["satisfaction_follow_up"]) == (0.6667, 0.5)


def test_the_api_carries_the_new_figures(cast, lives, api):
    data = api(cast.ada).get("/api/v1/reports/quarterly/", QUERY).json()
    assert {key: data[key] for key in EXPECTED} == EXPECTED
    for row in [*data["by_department"], *data["by_category"]]:
        assert {"satisfaction", "satisfaction_follow_up", "late_answer_rounds"} <= set(row)
    assert data["previous"]["late_answer_rounds"] == 0


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_report_csv_has_the_new_columns(cast, lives):
    response = _client(cast.ada).get(
        reverse("reports:download", args=["csv"]), QUERY, HTTP_ACCEPT_LANGUAGE="en"
    )
    header, total, *_rest = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    keys = ["breakdown", "name", *(key for key, _label in report_columns())]
    cells = dict(zip(keys, total, strict=True))
    assert header[keys.index("late_answer_rounds")] == "Answer rounds answered late"
    assert header[keys.index("satisfaction_follow_up")] == "Satisfaction on follow-up calls"
    assert (cells["late_answer_rounds"], cells["answered_late"]) == ("3", "2")
    # Rates read as the dashboard shows them.
    assert (cells["answer_on_time"], cells["answer_on_time_rate"]) == ("3", "50.0%")
    assert (cells["satisfaction"], cells["satisfaction_follow_up"]) == ("66.7%", "50.0%")
    assert (cells["rated_follow_up"], cells["satisfied_follow_up"]) == ("2", "1")


def test_the_list_of_late_requests_exports_their_rounds(cast, lives):
    response = _client(cast.ada).get(
        reverse("reports:requests"),
        {**QUERY, "figure": "answered_late", "format": "xlsx"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    late = header.index("answer rounds late")
    assert {(lives.names([row[0]]).pop(), row[late]) for row in rows} == {("l1", 1), ("l2", 2)}
    calls = _client(cast.ada).get(
        reverse("reports:requests"),
        {**QUERY, "figure": "rated_follow_up", "format": "csv"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    content = b"".join(calls.streaming_content).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(content)))
    column = header.index("rated on a follow-up call")
    assert sorted(row[column] for row in rows) == ["yes", "yes"]


def test_the_flag_score_reads_the_answer_rate_and_own_satisfaction(cast, lives):
    (score,) = flags.department_scores(Q3, now=at(NOW))
    assert score.department_id == cast.roads.pk
    # Default weights 0.30 on time, 0.25 resolution, 0.25 satisfaction, 0.10 (1 − reopen rate),
    # 0.10 compliance: on time (1.0 assign + 0.5 answer) / 2 = 0.75; resolution 0.8333;
    # satisfaction 0.6667 (own ratings only); 1 − 0.6667; no violation, compliance 1.
    expected = 0.3 * 0.75 + 0.25 * 0.8333 + 0.25 * 0.6667 + 0.1 * (1 - 0.6667) + 0.1 * 1
    assert score.score == round(expected, 4) == 0.7333


def test_the_dashboard_shows_late_rounds_and_both_satisfactions(cast, lives):
    client = _client(cast.ada)
    response = client.get(reverse("reports:dashboard"), QUERY, HTTP_ACCEPT_LANGUAGE="en")
    with translation.override("en"):
        cards = {str(card["label"]): card for card in response.context["cards"]}
    late = cards["Answer rounds answered late"]
    assert (late["value"], late["detail"]) == (3, "in 2 requests")
    listing = client.get(late["href"])
    assert listing.context["page"].paginator.count == 2
    assert cards["Satisfaction"]["value"] == "66.7%"
    assert cards["Satisfaction on follow-up calls"]["value"] == "50.0%"
    assert cards["Satisfaction on follow-up calls"]["detail"] == "1 / 2"
    assert b"Satisfaction on follow-up calls" in response.content


def test_the_dashboard_reads_in_chinese(cast, lives):
    response = _client(cast.ada).get(
        reverse("reports:dashboard"), QUERY, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    content = response.content.decode()
    assert "回访满意率" in content
    assert "逾期答复轮次" in content
