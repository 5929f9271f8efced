"""The Django admin: every model is registered, history is read-only, requests stay scoped."""

import datetime as dt

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from officials.models import (
    Category,
    Department,
    Enterprise,
    EnterpriseLink,
    EnterpriseMember,
    Role,
    User,
)
from requests_app.models import (
    Attachment,
    CalendarDay,
    CalendarYear,
    RequestEvent,
    ServiceRequest,
    Status,
)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REGISTERED = [
    Category,
    Department,
    Enterprise,
    EnterpriseLink,
    User,
    ServiceRequest,
    RequestEvent,
    Attachment,
    CalendarYear,
    CalendarDay,
]


@pytest.fixture
def root(cast) -> User:
    """A portal administrator with every Django permission."""
    return UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m.__name__)
def test_every_model_has_a_working_list(root, request_in, model):
    request_in("closed")
    CalendarDay.objects.get_or_create(date=dt.date(2031, 1, 1), defaults={"is_working": False})
    assert model in admin.site._registry
    assert admin_client(root).get(admin_url(model, "changelist")).status_code == 200


# Calendar days are not among them: a year's days change only through its load page, which
# re-bases the clocks (tests/requests_app/test_calendar_admin.py).
@pytest.mark.parametrize("model", [Category, Department, Enterprise, User, CalendarYear], ids=str)
def test_reference_data_can_be_added(root, model):
    assert admin_client(root).get(admin_url(model, "add")).status_code == 200


def test_enterprise_members_are_edited_inline(root, cast):
    response = admin_client(root).get(admin_url(Enterprise, "change", cast.acme.pk))
    assert response.status_code == 200
    assert "enterprisemember_set" in response.content.decode()
    assert EnterpriseMember.objects.filter(enterprise=cast.acme, user=cast.alice).exists()


def test_user_admin_edits_role_and_department(root, cast):
    html = admin_client(root).get(admin_url(User, "change", cast.hank.pk)).content.decode()
    for field in ["name", "role", "department", "phone", "title"]:
        assert f'name="{field}"' in html


def test_department_edits_categories_side_by_side(root, cast):
    html = admin_client(root).get(admin_url(Department, "change", cast.roads.pk)).content.decode()
    assert "selectfilter" in html.lower()


def test_timeline_events_cannot_be_added_changed_or_deleted(root, request_in):
    service_request = request_in("closed")
    event = RequestEvent.objects.filter(request=service_request).first()
    client = admin_client(root)
    assert client.get(admin_url(RequestEvent, "add")).status_code == 403
    assert client.get(admin_url(RequestEvent, "delete", event.pk)).status_code == 403
    response = client.post(admin_url(RequestEvent, "change", event.pk), {"note": "rewritten"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.note != "rewritten"
    model_admin = admin.site._registry[RequestEvent]
    request = type("R", (), {"user": root})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, event)
    assert not model_admin.has_delete_permission(request, event)


def test_request_status_is_read_only_in_the_admin(root, request_in):
    service_request = request_in("submitted")
    client = admin_client(root)
    url = admin_url(ServiceRequest, "change", service_request.pk)
    html = client.get(url).content.decode()
    assert 'name="status"' not in html and 'name="answer_due_at_0"' not in html
    assert client.get(admin_url(ServiceRequest, "add")).status_code == 403
    response = client.post(
        url,
        {
            "category": service_request.category_id,
            "title": "Corrected title",
            "description": service_request.description,
            "status": Status.CLOSED,
            "attachments-TOTAL_FORMS": 0,
            "attachments-INITIAL_FORMS": 0,
            "events-TOTAL_FORMS": 0,
            "events-INITIAL_FORMS": 0,
        },
    )
    # The change form saves nothing: text and category are corrected through the workflow
    # (a `corrected` event; tests/requests_app/test_admin_corrections.py), the status never.
    assert response.status_code == 403
    service_request.refresh_from_db()
    assert service_request.status == Status.SUBMITTED
    assert service_request.title != "Corrected title"


def test_the_admin_list_of_requests_is_scoped(cast, request_in):
    """A staff member sees in the admin only the requests the selector gives them."""
    service_request = request_in("rectifying")
    outsider = UserFactory(role=Role.HANDLER, department=cast.environment, is_staff=True)
    outsider.is_superuser = True
    outsider.save()
    client = admin_client(outsider)
    html = client.get(admin_url(ServiceRequest, "changelist")).content.decode()
    assert service_request.reference not in html
    url = admin_url(ServiceRequest, "change", service_request.pk)
    assert client.get(url).status_code == 302  # the admin's "does not exist" redirect
    events = client.get(admin_url(RequestEvent, "changelist")).content.decode()
    assert service_request.reference not in events


def test_calendar_days_filter_by_year_and_working(root):
    CalendarDay.objects.create(date=dt.date(2031, 10, 1), is_working=False, name="National Day")
    CalendarDay.objects.create(date=dt.date(2032, 10, 8), is_working=True, name="Make-up day 2032")
    client = admin_client(root)
    url = admin_url(CalendarDay, "changelist")
    html = client.get(url, {"year": "2031"}).content.decode()
    assert "National Day" in html and "Make-up day 2032" not in html
    html = client.get(url, {"is_working__exact": "1", "year": "2032"}).content.decode()
    assert "Make-up day 2032" in html and "National Day" not in html


def test_calendar_years_show_whether_they_are_provisional(root):
    CalendarYear.objects.update_or_create(year=2040, defaults={"provisional": True})
    html = admin_client(root).get(admin_url(CalendarYear, "changelist")).content.decode()
    assert "2040" in html and "icon-yes" in html


def test_a_user_is_added_with_role_and_department(root, cast):
    response = admin_client(root).post(
        admin_url(User, "add"),
        {
            "username": "harriet",
            "password1": "a long enough passphrase 42",
            "password2": "a long enough passphrase 42",
            "usable_password": "true",
            "name": "Harriet",
            "role": Role.HANDLER,
            "department": cast.roads.pk,
            "enterprisemember_set-TOTAL_FORMS": 0,
            "enterprisemember_set-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    harriet = User.objects.get(username="harriet")
    assert (harriet.role, harriet.department, harriet.name) == (Role.HANDLER, cast.roads, "Harriet")
