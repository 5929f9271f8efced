"""The admin of the deadline machinery: the ladder is editable, its records are read-only.

Escalation rules are edited through a form whose recipients are ticks and whose combination the
model validates; firings, notifications and accountability cases are shown and never written;
the working-day calendar shows its holidays and make-up working days (调休).
"""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from compliance.models import AccountabilityCase
from notifications.models import Notification
from officials.models import Role
from requests_app.escalation import sweep
from requests_app.models import (
    CalendarDay,
    CalendarYear,
    EscalationFiring,
    EscalationRule,
    Recipient,
)
from tests.factories import UserFactory
from tests.requests_app.conftest import admin_client

pytestmark = pytest.mark.django_db


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def rule_form(**overrides) -> dict:
    data = {
        "name": "Remind the department head at half the answer clock",
        "clock": "answer",
        "trigger": "fraction",
        "fraction": "0.5",
        "days_after": "",
        "action": "remind",
        "recipients": ["department_head", "assignee"],
        "active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def fired(cast, request_in):
    """A submitted request of acme whose assign clock breached long ago: the sweep fired."""
    service_request = request_in("submitted")
    sweep(now=service_request.assign_due_at + dt.timedelta(days=30))
    assert EscalationFiring.objects.filter(request=service_request).exists()
    return service_request


# --- escalation rules ----------------------------------------------------------------------------


def test_the_rule_list_shows_the_ladder(root):
    html = admin_client(root).get(admin_url(EscalationRule, "changelist")).content.decode()
    for column in ["column-clock", "column-trigger", "column-fraction", "column-days_after"]:
        assert column in html
    assert "Remind the liaison at 75% of the assign clock" in html
    assert "Linked leader, Liaison" in html  # recipients by their names, not their codes


def test_recipients_are_ticked_from_the_choices(root):
    rule = EscalationRule.objects.get(clock="assign", trigger="breach")
    html = admin_client(root).get(admin_url(EscalationRule, "change", rule.pk)).content.decode()
    for code in Recipient.values:
        assert f'type="checkbox" name="recipients" value="{code}"' in html
    assert 'value="leader" id="id_recipients_2" checked' in html


def test_a_rule_is_added_with_its_recipients_as_a_list(root):
    response = admin_client(root).post(admin_url(EscalationRule, "add"), rule_form())
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = EscalationRule.objects.get(name__startswith="Remind the department head")
    assert rule.recipients == ["assignee", "department_head"]  # in the choices' order
    assert str(rule.fraction) == "0.500" and rule.active


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"fraction": "1.5"}, "fraction"),
        ({"fraction": "0"}, "fraction"),
        ({"fraction": ""}, "fraction"),
        ({"trigger": "after_breach", "fraction": "", "days_after": ""}, "days_after"),
        ({"clock": "extension"}, "trigger"),
        ({"recipients": ["everyone"]}, "recipients"),
    ],
    ids=["above-one", "zero", "missing", "no-days", "extension-fraction", "unknown-recipient"],
)
def test_a_bad_rule_is_refused_next_to_its_field(root, overrides, field):
    before = EscalationRule.objects.count()
    response = admin_client(root).post(admin_url(EscalationRule, "add"), rule_form(**overrides))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert EscalationRule.objects.count() == before


def test_a_rule_can_be_switched_off(root):
    rule = EscalationRule.objects.get(clock="answer", trigger="fraction")
    data = rule_form(
        name=rule.name,
        clock=rule.clock,
        trigger=rule.trigger,
        fraction=str(rule.fraction),
        action=rule.action,
        recipients=rule.recipients,
        active=None,
    )
    response = admin_client(root).post(admin_url(EscalationRule, "change", rule.pk), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    rule.refresh_from_db()
    assert not rule.active and rule.recipients == ["assignee", "liaison"]


# --- records of what happened: read-only ----------------------------------------------------------


def test_firings_are_listed_filtered_and_searched(root, fired):
    client = admin_client(root)
    url = admin_url(EscalationFiring, "changelist")
    html = client.get(url, {"q": fired.reference}).content.decode()
    assert fired.reference in html
    assert client.get(url, {"q": "QQ-NOTHING"}).content.decode().count(fired.reference) == 0
    rule = EscalationFiring.objects.filter(request=fired).first().rule
    assert fired.reference in client.get(url, {"rule__id__exact": rule.pk}).content.decode()


@pytest.mark.parametrize("model", [EscalationFiring, Notification, AccountabilityCase])
def test_records_cannot_be_added_changed_or_deleted(root, fired, model):
    record = model.objects.first()
    assert record is not None
    client = admin_client(root)
    assert client.get(admin_url(model, "changelist")).status_code == 200
    assert client.get(admin_url(model, "add")).status_code == 403
    assert client.get(admin_url(model, "delete", record.pk)).status_code == 403
    assert client.post(admin_url(model, "change", record.pk), {}).status_code == 403
    assert model.objects.filter(pk=record.pk).exists()


def test_firings_in_the_admin_are_scoped_like_requests(cast, fired):
    outsider = UserFactory(role=Role.HANDLER, department=cast.environment, is_staff=True)
    outsider.is_superuser = True
    outsider.save()
    html = admin_client(outsider).get(admin_url(EscalationFiring, "changelist")).content.decode()
    assert fired.reference not in html


def test_notifications_filter_by_kind_read_and_emailed(root, cast):
    Notification.objects.create(recipient=cast.alice, kind="reminder", subject="Unread reminder")
    Notification.objects.create(
        recipient=cast.alice,
        kind="escalated",
        subject="Read escalation",
        read_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        emailed_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    client = admin_client(root)
    url = admin_url(Notification, "changelist")
    html = client.get(url, {"read": "no"}).content.decode()
    assert "Unread reminder" in html and "Read escalation" not in html
    html = client.get(url, {"emailed": "yes"}).content.decode()
    assert "Read escalation" in html and "Unread reminder" not in html
    html = client.get(url, {"kind": "reminder"}).content.decode()
    assert "Unread reminder" in html and "Read escalation" not in html


def test_accountability_cases_are_scoped_to_the_inspectors_region(cast, request_in):
    service_request = request_in("rectifying")
    sweep(now=service_request.answer_due_at + dt.timedelta(days=1))
    case = AccountabilityCase.objects.get(request=service_request)
    assert case.region == "gulou"
    view = Permission.objects.get(codename="view_accountabilitycase")
    url = admin_url(AccountabilityCase, "changelist")
    for inspector, sees in [(cast.ivan, True), (cast.irene, False)]:
        inspector.is_staff = True
        inspector.save()
        inspector.user_permissions.add(view)
        html = admin_client(inspector).get(url).content.decode()
        assert (service_request.reference in html) is sees, inspector


# --- the working-day calendar ---------------------------------------------------------------------


def test_calendar_years_count_their_holidays_and_make_up_days(root):
    CalendarYear.objects.update_or_create(year=2041, defaults={"provisional": True, "source": "x"})
    CalendarDay.objects.bulk_create(
        [
            CalendarDay(date=dt.date(2041, 10, 1), is_working=False, name="National Day"),
            CalendarDay(date=dt.date(2041, 10, 2), is_working=False, name="National Day"),
            CalendarDay(date=dt.date(2041, 10, 3), is_working=False, name="National Day"),
            CalendarDay(date=dt.date(2041, 9, 28), is_working=True, name="National Day"),
        ]
    )
    client = admin_client(root)
    html = client.get(admin_url(CalendarYear, "changelist"), {"q": "", "o": "5"}).content.decode()
    row = html[html.index(">2041<") :]
    row = row[: row.index("</tr>")]
    assert '<td class="field-holidays">3</td>' in row
    assert '<td class="field-makeup_days">1</td>' in row


def test_calendar_days_are_labelled_holiday_or_make_up_day(root):
    CalendarDay.objects.create(date=dt.date(2041, 10, 1), is_working=False, name="National Day")
    CalendarDay.objects.create(date=dt.date(2041, 9, 28), is_working=True, name="Make-up")
    html = admin_client(root).get(admin_url(CalendarDay, "changelist"), {"year": "2041"})
    html = html.content.decode()
    assert "Make-up working day (调休)" in html and "Holiday" in html
    assert "kind of day" in html.lower()
    zh = admin_client(root, "zh-hans").get(admin_url(CalendarDay, "changelist"), {"year": "2041"})
    assert "调休" in zh.content.decode()


def test_the_calendar_warns_of_a_year_without_official_data(root):
    """Clocks would count Monday–Friday for such a year: the admin says so on the year list."""
    import time_machine

    url = admin_url(CalendarYear, "changelist")
    with time_machine.travel(dt.datetime(2030, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        client = admin_client(root)  # logged in after travelling: the session is fresh
        CalendarYear.objects.update_or_create(year=2031, defaults={"provisional": True})
        html = client.get(url).content.decode()
        assert "2030 has no official working-day calendar yet" in html
        assert "2031 has no official working-day calendar yet" in html  # provisional is not enough
        for year in (2030, 2031):
            CalendarYear.objects.update_or_create(year=year, defaults={"provisional": False})
        html = client.get(url).content.decode()
    assert "no official working-day calendar" not in html
