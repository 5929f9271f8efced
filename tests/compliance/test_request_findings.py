"""Findings from request history (N11): repeated transfers, repeated dissatisfaction, and the
answer-clock breaches the sweep makes cases of (each case linked to the finding as it opens,
never duplicated)."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone, translation

from compliance import rules
from compliance.lists import set_threshold
from compliance.models import AccountabilityCase, CaseSource, Finding
from portal.celery import app
from requests_app.escalation import sweep
from requests_app.workflow import transition

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_an_official_year():
    # These tests sweep at "now + N days": held in an official year, so that a clock counted
    # through a year with no published schedule (whose escalations wait) never decides them.
    with time_machine.travel(dt.datetime(2026, 10, 12, 2, tzinfo=dt.UTC), tick=True):
        yield


def transfer_around(cast, service_request, times: int):
    targets = [cast.environment, cast.roads]
    for n in range(times):
        transition(
            service_request.pk,
            "transfer",
            by=cast.liam,
            department=targets[n % 2],
            reason=f"Not ours ({n})",
        )


def n11(service_request, message_id: str):
    return Finding.objects.filter(request=service_request, rule_code="N11", message_id=message_id)


def test_transfers_below_the_threshold_are_no_finding(cast, request_in):
    service_request = request_in("assigned")
    transfer_around(cast, service_request, 1)
    assert not Finding.objects.filter(request=service_request).exists()


def test_transfers_reaching_the_threshold_are_n11_once(cast, request_in):
    # RULES.md: "≥2 unjustified 退单"; the default threshold is 2.
    service_request = request_in("assigned")
    transfer_around(cast, service_request, 2)
    finding = n11(service_request, "n11.repeated_transfer").get()
    assert finding.severity == "violation"
    assert finding.rule_version.rule.code == "N11"
    assert (finding.params["count"], finding.params["threshold"]) == (2, 2)
    # The department that passed it on the second time (environment → roads) answers for it.
    assert finding.department == cast.environment
    transition(
        service_request.pk, "transfer", by=cast.liam, department=cast.environment, reason="3"
    )
    transition(service_request.pk, "transfer", by=cast.liam, department=cast.roads, reason="Again")
    assert n11(service_request, "n11.repeated_transfer").count() == 1


def test_repeated_dissatisfaction_is_n11(cast, request_in):
    service_request = request_in("feedback")
    for round_ in range(3):
        transition(
            service_request.pk, "review", by=cast.alice, accepted=False, comment=f"No ({round_})"
        )
        if round_ < 2:
            assert not n11(service_request, "n11.repeated_dissatisfaction").exists()
        transition(service_request.pk, "feedback", by=cast.hank, message="Tried again.")
    finding = n11(service_request, "n11.repeated_dissatisfaction").get()
    assert (finding.official, finding.department) == (cast.hank, cast.roads)


def test_a_configured_transfer_threshold_is_the_boundary(cast, request_in):
    set_threshold("transfer_threshold", 3, by=cast.ada)
    service_request = request_in("assigned")
    transfer_around(cast, service_request, 2)
    assert not n11(service_request, "n11.repeated_transfer").exists()
    transition(
        service_request.pk, "transfer", by=cast.liam, department=cast.environment, reason="3"
    )
    assert n11(service_request, "n11.repeated_transfer").get().params["count"] == 3


def test_an_unset_threshold_says_so_instead_of_guessing(cast, request_in):
    set_threshold("transfer_threshold", None, by=cast.ada)
    service_request = request_in("assigned")
    transfer_around(cast, service_request, 5)
    finding = n11(service_request, "threshold_unset").get()
    assert finding.severity == "warning"
    with translation.override("en"):
        text = rules.render(finding.message_id, finding.params)
    assert "Repeated-transfer threshold" in text and "not set" in text
    assert not n11(service_request, "n11.repeated_transfer").exists()


def test_breach_cases_from_the_sweep_are_linked_to_an_n11_finding_not_duplicated(cast, request_in):
    service_request = request_in("rectifying")
    later = timezone.now() + dt.timedelta(days=10)
    with time_machine.travel(later, tick=False):
        sweep(later)
    cases = list(AccountabilityCase.objects.filter(source=CaseSource.BREACH))
    assert cases, "the sweep should have opened a breach case"
    # Linked as it opened: no task has run in between.
    finding = n11(service_request, "n11.answer_breach").get()
    assert {case.pk for case in finding.cases.all()} == {case.pk for case in cases}
    assert finding.rule_version.number == 1
    assert (finding.severity, finding.created_at) == ("violation", later)
    assert service_request.reference in finding.message
    assert (finding.official, finding.department, finding.region) == (
        cast.hank,
        cast.roads,
        "gulou",
    )
    # Sweeping again opens nothing and finds nothing new.
    with time_machine.travel(later, tick=False):
        sweep(later)
    assert AccountabilityCase.objects.count() == len(cases)
    assert n11(service_request, "n11.answer_breach").count() == 1


def test_no_task_links_breach_cases_any_more(cast, request_in):
    """The five-minute linking task and its beat entry are gone: the case has its finding."""
    request_in("rectifying")
    later = timezone.now() + dt.timedelta(days=10)
    with time_machine.travel(later, tick=False):
        sweep(later)
    assert not AccountabilityCase.objects.filter(finding__isnull=True).exists()
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "compliance.tasks.link_breach_findings" not in tasks
