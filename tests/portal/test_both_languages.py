"""One language at a time (issue 15): what the portal stores is either kept in both languages
(escalation rules, departments) or as a code and its values (the causes of accountability cases,
the sweep's timeline events, the kept report figures), and each reader reads it in theirs.

Each test reads the same data in Chinese and in English.
"""

import datetime as dt
import importlib

import pytest
import time_machine
from django.apps import apps
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from compliance import cases
from compliance.models import AccountabilityCase, CaseSource, CauseCode, ReportKind
from core import bilingual
from notifications.models import Notification
from officials.models import Department, Role
from reports import exports, snapshots
from reports.figures import Period
from reports.models import QuarterSnapshot
from reports.selectors import report_scope
from requests_app.checkpoints import verify_chain
from requests_app.escalation import sweep
from requests_app.models import EscalationRule, Status
from requests_app.presenters import event_rows
from tests.compliance.inspection_helpers import report_about_acme
from tests.conftest import at
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    RawServiceRequestFactory,
    UserFactory,
    category,
)

pytestmark = pytest.mark.django_db

BOTH = ("zh-hans", "en")
ANSWER_BREACH_ZH = "答复超期，启动追责问责"
ANSWER_BREACH_EN = "Accountability case when the answer clock breaches"


@pytest.fixture(autouse=True)
def in_an_official_year():
    # The sweep fires only on clocks counted in a year with a published calendar.
    with time_machine.travel(dt.datetime(2026, 10, 12, 2, tzinfo=dt.UTC), tick=True):
        yield


@pytest.fixture
def roads_in_both(cast):
    """The cast's Roads Bureau as a bilingual portal names it."""
    Department.objects.filter(pk=cast.roads.pk).update(name="鼓楼区道路局", name_en="Roads Bureau")
    cast.roads.refresh_from_db()
    return cast.roads


def read(language, function, *args):
    with translation.override(language):
        return str(function(*args))


# --- stored pairs ---------------------------------------------------------------------------------


def test_a_stored_pair_splits_into_its_two_languages():
    assert bilingual.split("答复时限过2/3，催办承办人 / Remind the handler at 2/3") == (
        "答复时限过2/3，催办承办人",
        "Remind the handler at 2/3",
    )
    # Not a pair: no separator, no Chinese before it, or Chinese after it.
    for text in ("Answer clock", "A / B", "甲 / 乙", "中文 / "):
        assert bilingual.split(text) is None
        assert read("en", bilingual.in_language, text) == text
    assert read("en", bilingual.in_language, "中文 / English") == "English"
    assert read("zh-hans", bilingual.in_language, "中文 / English") == "中文"


# --- 1. escalation rules --------------------------------------------------------------------------


def test_the_default_ladder_is_named_in_each_language_apart():
    rules = list(EscalationRule.objects.all())
    assert len(rules) == 5
    for rule in rules:
        assert bilingual.SEPARATOR not in rule.name
        assert bilingual.split(f"{rule.name} / {rule.name_en}") == (rule.name, rule.name_en)
        assert read("zh-hans", lambda: rule.display_name) == rule.name
        assert read("en", str, rule) == rule.name_en
    breach = EscalationRule.objects.get(clock="answer", trigger="breach")
    assert (breach.name, breach.name_en) == (ANSWER_BREACH_ZH, ANSWER_BREACH_EN)


def test_a_rule_without_an_english_name_reads_its_chinese_one():
    rule = EscalationRule.objects.get(clock="answer", trigger="breach")
    rule.name_en = ""
    rule.save()
    assert read("en", lambda: rule.display_name) == ANSWER_BREACH_ZH


def test_the_migration_splits_the_names_and_joins_them_back():
    migration = importlib.import_module("requests_app.migrations.0019_escalation_rule_names")
    rule = EscalationRule.objects.get(clock="answer", trigger="breach")
    typed = EscalationRule.objects.get(clock="assign", trigger="breach")
    EscalationRule.objects.filter(pk=typed.pk).update(name="Typed by an admin", name_en="")
    migration.join_names(apps, None)
    rule.refresh_from_db()
    assert rule.name == f"{ANSWER_BREACH_ZH} / {ANSWER_BREACH_EN}"
    migration.split_names(apps, None)
    rule.refresh_from_db()
    typed.refresh_from_db()
    assert (rule.name, rule.name_en) == (ANSWER_BREACH_ZH, ANSWER_BREACH_EN)
    assert (typed.name, typed.name_en) == ("Typed by an admin", "")  # not a pair: left alone


# --- 4. the sweep's timeline events and 3. the case it opens --------------------------------------


def test_the_sweep_names_its_rule_and_opens_its_case_in_the_readers_language(
    cast, request_in, roads_in_both
):
    cast.leona.language = "en"  # the linked leader reads English; the inspector Chinese
    cast.leona.save()
    cast.ivan.language = "zh-hans"
    cast.ivan.save()
    service_request = request_in("rectifying")
    later = timezone.now() + dt.timedelta(days=10)
    with time_machine.travel(later, tick=False):
        sweep(later)
    # The sweep's messages (written by the database on PostgreSQL) name the department in
    # each reader's language.
    told = Notification.objects.filter(kind="accountability_opened")
    to_leona, to_ivan = told.get(recipient=cast.leona), told.get(recipient=cast.ivan)
    assert "Roads Bureau" in to_leona.body and "鼓楼区道路局" not in to_leona.body
    assert "鼓楼区道路局" in to_ivan.body and "Roads Bureau" not in to_ivan.body
    rule = EscalationRule.objects.get(clock="answer", trigger="breach")
    fired = [event for event in service_request.events.all() if event.data.get("rule") == rule.pk]
    assert [event.action for event in fired] == ["accountability_opened"]
    # Stored as it fired (under the hash); read by the rule's id in the reader's language.
    assert fired[0].note == rule.name
    for language, name in (("zh-hans", rule.name), ("en", rule.name_en)):
        with translation.override(language):
            rows = {row.event.pk: row for row in event_rows(service_request, cast.liam)}
        assert rows[fired[0].pk].note == name
    assert verify_chain(service_request).ok

    case = AccountabilityCase.objects.get(request=service_request, source=CaseSource.BREACH)
    assert case.cause_code == CauseCode.BREACH
    assert case.cause_params == {
        "reference": service_request.reference,
        "rule": rule.name,
        "rule_en": rule.name_en,
    }
    assert read("en", lambda: case.cause_text) == f"{service_request.reference}: {rule.name_en}"
    assert rule.name in read("zh-hans", lambda: case.cause_text)
    assert read("en", lambda: case.rule_text) == rule.name_en
    assert read("zh-hans", lambda: case.rule_text) == rule.name

    client = Client()
    client.force_login(cast.ivan)
    for language, words, other in (
        ("en", (rule.name_en, "Roads Bureau"), (rule.name, "鼓楼区道路局")),
        ("zh-hans", (rule.name, "鼓楼区道路局"), (rule.name_en, "Roads Bureau")),
    ):
        client.cookies["django_language"] = language
        page = client.get(reverse("inspector:case", args=[case.pk])).content.decode()
        assert all(word in page for word in words), language
        assert not any(word in page for word in other), language
        listing = client.get(reverse("inspector:cases")).content.decode()
        assert words[0] in listing and other[0] not in listing, language


def test_a_timeline_names_a_rule_stored_as_a_pair_by_its_current_name(cast, request_in):
    """An event from before rules had two names stored "中文 / English": read by the rule's id."""
    from requests_app import firing
    from requests_app.timeline import append_event

    service_request = request_in("assigned")
    rule = EscalationRule.objects.get(clock="assign", trigger="fraction")
    event = append_event(
        service_request,
        action="reminder",
        actor=None,
        now=timezone.now(),
        from_status=service_request.status,
        note=f"{rule.name} / {rule.name_en}",
        data=firing.event_data(rule, due_at=timezone.now().isoformat(), cycle=0),
    )
    for language, name in (("zh-hans", rule.name), ("en", rule.name_en)):
        with translation.override(language):
            rows = {row.event.pk: row for row in event_rows(service_request)}
        assert rows[event.pk].note == name
    assert verify_chain(service_request).ok


# --- 3. the causes of accountability cases --------------------------------------------------------


def test_a_run_of_yellow_flags_opens_a_case_each_inspector_reads_in_their_language(
    cast, roads_in_both
):
    gina = UserFactory(username="gina", role=Role.INSPECTOR, department=cast.gulou, language="en")
    opening = cases.from_flags(cast.roads, quarters=3, period="2026-Q3")
    (case,) = cases.open_cases([opening], now=timezone.now())
    case.refresh_from_db()
    assert (case.cause_code, case.cause_params) == ("flags", {"count": 3, "period": "2026-Q3"})
    english = read("en", lambda: case.cause_text)
    assert english == "Yellow flag in 3 consecutive quarters (up to 2026-Q3)"
    assert read("zh-hans", lambda: case.cause_text) != english
    assert read("en", lambda: case.rule_text) == ""  # "flags" is a code, never shown
    message = Notification.objects.get(recipient=gina)
    assert "Roads Bureau" in message.body and "鼓楼区道路局" not in message.body


def test_a_case_from_a_report_names_its_kind_in_the_readers_language(cast):
    report = report_about_acme(cast, kind=ReportKind.FOOT_DRAGGING)
    opening = cases.from_report(report, by=cast.ivan, official=None, department=None)
    (case,) = cases.open_cases([opening], now=timezone.now())
    assert read("en", lambda: case.cause_text) == f"Confidential report #{report.pk}: Foot-dragging"
    assert "Foot-dragging" not in read("zh-hans", lambda: case.cause_text)


def test_a_case_opened_before_cause_codes_shows_its_stored_cause_and_gets_a_code():
    case = AccountabilityCase.objects.create(
        source=CaseSource.BREACH,
        region="gulou",
        cause=f"QQ1: {ANSWER_BREACH_ZH} / {ANSWER_BREACH_EN}",
        rule=f"{ANSWER_BREACH_ZH} / {ANSWER_BREACH_EN}"[:100],
    )
    flags = AccountabilityCase.objects.create(
        source=CaseSource.FLAG, region="gulou", cause="连续3个季度黄旗（截至2026-Q2）", rule="flags"
    )
    # Until migrated: the reader's half of the stored pair.
    assert read("en", lambda: case.rule_text) == ANSWER_BREACH_EN
    assert read("zh-hans", lambda: case.rule_text) == ANSWER_BREACH_ZH
    migration = importlib.import_module("compliance.migrations.0009_case_cause_code")
    migration.give_codes(apps, None)
    case.refresh_from_db()
    flags.refresh_from_db()
    assert case.cause_params == {
        "reference": "QQ1",
        "rule": ANSWER_BREACH_ZH,
        "rule_en": ANSWER_BREACH_EN,
    }
    assert read("en", lambda: case.cause_text) == f"QQ1: {ANSWER_BREACH_EN}"
    assert read("zh-hans", lambda: case.cause_text) == f"QQ1：{ANSWER_BREACH_ZH}"
    assert flags.cause_params == {"count": 3, "period": "2026-Q2"}
    assert read("en", lambda: flags.cause_text).startswith("Yellow flag in 3 consecutive quarters")


# --- 2. departments -------------------------------------------------------------------------------


def test_a_department_reads_its_english_name_where_it_has_one(cast, roads_in_both):
    assert read("en", str, roads_in_both) == "Roads Bureau"
    assert read("zh-hans", str, roads_in_both) == "鼓楼区道路局"
    plain = DepartmentFactory(name="鼓楼区城管局")
    assert read("en", lambda: plain.display_name) == "鼓楼区城管局"


def test_the_request_page_and_the_messages_name_the_department_in_the_readers_language(
    cast, request_in, roads_in_both
):
    cast.alice.language = "en"
    cast.alice.save()
    cast.hank.language = "zh-hans"
    cast.hank.save()
    service_request = request_in("assigned")
    to_alice = Notification.objects.get(recipient=cast.alice, kind="request_assigned")
    assert "Roads Bureau" in to_alice.body and "鼓楼区道路局" not in to_alice.body
    to_hank = Notification.objects.get(recipient=cast.hank, kind="handler_assigned")
    assert "鼓楼区道路局" in to_hank.body and "Roads Bureau" not in to_hank.body
    client = Client()
    client.force_login(cast.liam)
    for language, name, other in (
        ("en", "Roads Bureau", "鼓楼区道路局"),
        ("zh-hans", "鼓楼区道路局", "Roads Bureau"),
    ):
        client.cookies["django_language"] = language
        for url in (
            reverse("requests:detail", args=[service_request.pk]),
            reverse("requests:list"),
        ):
            page = client.get(url).content.decode()
            assert name in page and other not in page, (language, url)


# --- 5. kept report figures -----------------------------------------------------------------------


def test_kept_figures_are_named_in_the_readers_language_and_so_are_their_files(db):
    city = DepartmentFactory(name="榕城市人民政府", name_en="Rongcheng City", region="city")
    roads = DepartmentFactory(name="市道路局", name_en="City Roads Bureau", parent=city)
    enterprise = EnterpriseFactory(region="city")
    for day in (3, 10, 17):
        submitted = at(f"2026-08-{day:02d} 09:00")
        RawServiceRequestFactory(
            enterprise=enterprise,
            department=roads,
            category=category("land"),
            status=Status.ASSIGNED,
            submitted_at=submitted,
            assigned_at=submitted + dt.timedelta(hours=2),
        )
    admin = UserFactory(role=Role.ADMIN)
    land = category("land")
    period = Period(2026, 3)
    with time_machine.travel(at("2026-10-15 12:00"), tick=False):
        scope = report_scope(admin)
        with translation.override("zh-hans"):
            snapshots.dashboard_report(scope, period)  # computed and stored by a Chinese reader
        assert QuarterSnapshot.objects.exists()
        for language, department, name in (
            ("en", "City Roads Bureau", land.name_en),
            ("zh-hans", "市道路局", land.name_zh),
        ):
            with translation.override(language):
                report = snapshots.dashboard_report(scope, period)
                header, rows = exports.report_table(report)
                pdf = exports.report_pdf_html(report, "—")
            assert [row["department"]["name"] for row in report["by_department"]] == [department]
            assert [row["category_name"] for row in report["by_category"]] == [name]
            names = [row[1] for row in rows]
            assert department in names and name in names, language
            assert department in pdf and name in pdf, language
    # What is stored keeps the codes.
    stored = QuarterSnapshot.objects.get(year=2026, quarter=3).figures
    assert [row["category"] for row in stored["by_category"]] == ["land"]


def test_the_request_export_names_the_department_in_the_readers_language(db):
    roads = DepartmentFactory(name="市道路局", name_en="City Roads Bureau")
    RawServiceRequestFactory(department=roads, status=Status.ASSIGNED)
    from requests_app.models import ServiceRequest

    department = exports.REQUEST_FIELDS.index("department_id")
    for language, name in (("en", "City Roads Bureau"), ("zh-hans", "市道路局")):
        with translation.override(language):
            (row,) = list(exports.request_rows(ServiceRequest.objects.all()))
        assert row[department] == name
