"""Accountability cases are opened in one place (`compliance.cases`) from each of their four
sources, and tell exactly the inspectors whose console shows them (`officials.selectors`).

The tree of the cast (Fuzhou → Gulou, Minhou) gets an inspector at each level: ivan (no
department: the whole portal), cleo (Fuzhou, the top department), gina (Gulou), rhea (Gulou
Roads Bureau, below Gulou: it has Gulou's region) and irene (Minhou, the outsider for Gulou).
"""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compliance import cases
from compliance.models import AccountabilityCase, CaseSource, Finding, Rule
from inspection import confidential
from inspection.selectors import cases_visible_to
from notifications.models import Notification
from officials.models import Role
from officials.selectors import CITY_WIDE, inspectors_by_region, inspectors_of
from requests_app.escalation import sweep
from tests.factories import EnterpriseFactory, ServiceRequestFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_an_official_year():
    # These tests sweep at "now + N days": held in an official year, so that a clock counted
    # through a year with no published schedule (whose escalations wait) never decides them.
    with time_machine.travel(dt.datetime(2026, 10, 12, 2, tzinfo=dt.UTC), tick=True):
        yield


REGIONS = ["gulou", "minhou", "fuzhou", CITY_WIDE, "elsewhere"]  # no department has "elsewhere"


@pytest.fixture
def inspectors(cast) -> dict:
    def inspector(username, department=None):
        return UserFactory(
            username=username, name=username.title(), role=Role.INSPECTOR, department=department
        )

    return {
        "ivan": cast.ivan,
        "irene": cast.irene,
        "cleo": inspector("cleo", cast.city),
        "gina": inspector("gina", cast.gulou),
        "rhea": inspector("rhea", cast.roads),
    }


def names(users) -> set[str]:
    return {user.username for user in users}


def told(kind: str, link: str | None = None) -> set[str]:
    rows = Notification.objects.filter(kind=kind)
    if link is not None:
        rows = rows.filter(link=link)
    return set(rows.values_list("recipient__username", flat=True))


@pytest.fixture
def spy(monkeypatch):
    """The calls into compliance.cases, by function name, passed through to the real thing."""
    calls: dict[str, list] = {"open_cases": [], "open_breach_cases": []}
    for name in calls:
        real = getattr(cases, name)

        def wrapper(*args, _real=real, _name=name, **kwargs):
            calls[_name].append(args[0])
            return _real(*args, **kwargs)

        monkeypatch.setattr(cases, name, wrapper)
    return calls


# --- one rule for "the inspectors of a region" ---------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_inspectors_of_a_region_are_those_whose_console_shows_its_cases(cast, inspectors, region):
    AccountabilityCase.objects.create(source=CaseSource.FLAG, region=region, cause="Test")
    shown = {
        name for name, user in inspectors.items() if cases_visible_to(user).filter(region=region)
    }
    assert names(inspectors_of(region)) == shown


def test_the_regions_inspectors_by_the_rule(cast, inspectors):
    found = {region: names(users) for region, users in inspectors_by_region(REGIONS).items()}
    assert found == {
        "gulou": {"ivan", "cleo", "gina", "rhea"},
        "minhou": {"ivan", "cleo", "irene"},
        "fuzhou": {"ivan", "cleo"},
        CITY_WIDE: {"ivan", "cleo"},  # the top of the tree
        "elsewhere": {"ivan"},  # no department covers it: the whole-portal inspectors only
    }


def test_inactive_inspectors_are_told_nothing(cast, inspectors):
    inspectors["gina"].is_active = False
    inspectors["gina"].save()
    assert names(inspectors_of("gulou")) == {"ivan", "cleo", "rhea"}


def test_inspectors_of_many_regions_take_two_queries(cast, inspectors):
    with CaptureQueriesContext(connection) as queries:
        inspectors_by_region(REGIONS)
    assert len(queries) == 2


# --- the four sources ----------------------------------------------------------------------------


def test_a_breach_opens_its_case_through_compliance_with_its_n11_finding(
    cast, inspectors, request_in, spy
):
    service_request = request_in("rectifying")
    later = timezone.now() + dt.timedelta(days=10)
    with time_machine.travel(later, tick=False):
        sweep(later)
    (batch,) = spy["open_breach_cases"]
    assert [(b.request_id, b.region, b.official_id) for b in batch] == [
        (service_request.pk, "gulou", cast.hank.pk)
    ]
    case = AccountabilityCase.objects.get(source=CaseSource.BREACH)
    assert (case.finding.rule_code, case.finding.message_id) == ("N11", "n11.answer_breach")
    # The sweep's message tells the region's inspectors (and the linked leader), once each.
    link = reverse("requests:detail", args=[service_request.pk])
    assert told("accountability_opened", link) == names(inspectors_of("gulou")) | {"leona"}
    assert Notification.objects.filter(kind="accountability_opened").count() == 5


def test_a_finding_opens_its_case_through_compliance(api, cast, inspectors, spy):
    Rule.objects.filter(code="N13").update(opens_case=True)
    api(cast.hank).post(
        "/api/v1/interactions/",
        {
            "enterprise": cast.acme.pk,
            "kind": "celebration",
            "occurred_at": (timezone.now() - dt.timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    (openings,) = spy["open_cases"]
    assert [opening.source for opening in openings] == [CaseSource.FINDING]
    case = AccountabilityCase.objects.get()
    assert case.finding == Finding.objects.get(rule_code="N13")
    assert told("case_opened") == names(inspectors_of("gulou")) == {"ivan", "cleo", "gina", "rhea"}
    assert not Notification.objects.filter(kind="finding_violation").exists()


def test_a_report_opens_its_case_through_compliance(cast, inspectors, spy):
    report = confidential.file_report(
        by=cast.alice,
        kind="petty_extortion",
        text="Asked for a gift.",
        anonymous=True,
        enterprise=cast.acme,
    )
    assert told("report_received") == {"ivan", "cleo", "gina", "rhea"}
    case = confidential.open_case(report.pk, by=inspectors["gina"], official=cast.hank)
    (openings,) = spy["open_cases"]
    assert [opening.source for opening in openings] == [CaseSource.REPORT]
    assert (case.source, case.report_id, case.official_id) == (
        CaseSource.REPORT,
        report.pk,
        cast.hank.pk,
    )
    # gina opened it herself; the others of the region hear of it, with a link to the case.
    link = reverse("inspector:case", args=[case.pk])
    assert told("case_opened", link) == {"ivan", "cleo", "rhea"}


def test_a_city_wide_report_and_its_case_tell_the_top_of_the_tree(cast, inspectors):
    report = confidential.file_report(
        by=None, kind="other", text="Somebody, somewhere.", anonymous=True
    )
    assert report.region == CITY_WIDE
    assert told("report_received") == {"ivan", "cleo"}
    confidential.open_case(report.pk, by=inspectors["cleo"])
    assert told("case_opened") == {"ivan"}


# --- the city-wide region: told of exactly what the console shows --------------------------------


def test_an_inspector_of_the_top_department_is_told_of_exactly_the_breaches_she_sees(
    cast, inspectors
):
    """Before, the sweep told cleo nothing of a city-wide enterprise's breach, though her
    console showed her its case."""
    requests = [
        ServiceRequestFactory(enterprise=EnterpriseFactory(region=region)) for region in REGIONS
    ]
    later = timezone.now() + dt.timedelta(days=10)
    with time_machine.travel(later, tick=False):
        sweep(later)
    opened = AccountabilityCase.objects.filter(source=CaseSource.BREACH)
    assert sorted(opened.values_list("region", flat=True)) == sorted(REGIONS)
    for name, inspector in inspectors.items():
        shown = set(cases_visible_to(inspector).values_list("request_id", flat=True))
        links = set(
            Notification.objects.filter(
                kind="accountability_opened", recipient=inspector
            ).values_list("link", flat=True)
        )
        assert links == {reverse("requests:detail", args=[pk]) for pk in shown}, name
    cleo_sees = set(cases_visible_to(inspectors["cleo"]).values_list("region", flat=True))
    assert cleo_sees == {"gulou", "minhou", "fuzhou", CITY_WIDE}
    assert requests  # every region had its request


# --- breaches: set-based, in the sweep's transaction ---------------------------------------------


def breaches(cast, count: int, now) -> list[cases.Breach]:
    return [
        cases.Breach(
            request_id=ServiceRequestFactory(enterprise=cast.acme, by=cast.alice).pk,
            reference=f"REF-{n}",
            enterprise_id=cast.acme.pk,
            department_id=cast.roads.pk,
            official_id=cast.hank.pk,
            region="gulou",
            rule="Answer clock breached",
            breach_at=now,
        )
        for n in range(count)
    ]


def test_breach_cases_take_a_fixed_number_of_queries_whatever_the_batch(cast):
    now = timezone.now()
    counts = []
    for size in (2, 20):
        batch = breaches(cast, size, now)
        with CaptureQueriesContext(connection) as queries:
            assert cases.open_breach_cases(batch, now=now) == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert Finding.objects.filter(rule_code="N11").count() == 22
    assert not AccountabilityCase.objects.filter(finding__isnull=True).exists()


def test_a_second_breach_of_a_request_links_to_its_first_finding(cast):
    now = timezone.now()
    (first,) = breaches(cast, 1, now)
    cases.open_breach_cases([first], now=now)
    cases.open_breach_cases([first._replace(rule="Extension breached")], now=now)
    finding = Finding.objects.get(request_id=first.request_id, rule_code="N11")
    assert finding.cases.count() == 2
    assert finding.message_id == "n11.answer_breach" and "REF-0" in finding.message


def test_while_n11_is_retired_a_breach_case_opens_without_a_finding(cast):
    Rule.objects.filter(code="N11").update(retired_at=timezone.now())
    now = timezone.now()
    cases.open_breach_cases(breaches(cast, 1, now), now=now)
    assert AccountabilityCase.objects.get().finding is None
    assert not Finding.objects.exists()


def test_the_breach_finding_is_written_in_the_sweeps_transaction(cast, request_in, monkeypatch):
    """A sweep batch that fails after opening its cases leaves neither case nor finding."""
    request_in("rectifying")
    real = cases.open_breach_cases

    def fail_after_the_cases(breaches, **kwargs):
        opened = real(breaches, **kwargs)
        assert AccountabilityCase.objects.get().finding is not None  # both written...
        raise RuntimeError(f"the batch failed after {opened} cases")

    monkeypatch.setattr(cases, "open_breach_cases", fail_after_the_cases)
    later = timezone.now() + dt.timedelta(days=10)
    with time_machine.travel(later, tick=False), pytest.raises(RuntimeError):
        sweep(later)
    assert not AccountabilityCase.objects.exists()  # ...and both undone with the batch
    assert not Finding.objects.filter(rule_code="N11").exists()
