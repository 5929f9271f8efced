"""The request admin: every field read-only, the text and category corrected through the workflow.

The change form saves nothing (it would write the whole row outside the lock and leave no trace);
the correction page is an administrator's, needs Django's change permission on requests, asks for
a reason and leaves a `corrected` event on the timeline.
"""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from officials.models import Role
from requests_app.checkpoints import verify_chain
from requests_app.models import ServiceRequest
from tests.factories import UserFactory, category
from tests.requests_app.conftest import admin_client

pytestmark = pytest.mark.django_db


def change_url(service_request) -> str:
    return reverse("admin:requests_app_servicerequest_change", args=[service_request.pk])


def correct_url(service_request) -> str:
    return reverse("admin:requests_app_servicerequest_correct", args=[service_request.pk])


def correction(**overrides) -> dict:
    data = {
        "title": "Broken road at the north gate",
        "description": "The road at the north gate has been broken since March.",
        "category": str(category("environment").pk),
        "reason": "The enterprise filed it under the wrong category.",
    }
    return {**data, **overrides}


def grant(user, *codenames: str) -> None:
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="requests_app", codename__in=codenames)
    )


def test_the_change_form_shows_the_fields_read_only_and_links_the_correction(root, request_in):
    service_request = request_in("assigned")
    html = admin_client(root).get(change_url(service_request)).content.decode()
    for name in ("title", "description", "category"):
        assert f'name="{name}"' not in html
        assert f"field-{name}" in html
    assert service_request.title in html
    assert correct_url(service_request) in html


def test_posting_the_change_form_changes_nothing(root, request_in):
    service_request = request_in("assigned")
    before = ServiceRequest.objects.filter(pk=service_request.pk).values().get()
    response = admin_client(root).post(change_url(service_request), {"title": "Hacked"})
    assert response.status_code == 403
    assert ServiceRequest.objects.filter(pk=service_request.pk).values().get() == before


def test_an_administrator_corrects_through_the_workflow(root, request_in):
    service_request = request_in("rectifying")
    old_title, old_category = service_request.title, service_request.category.code
    client = admin_client(root)
    form = client.get(correct_url(service_request)).content.decode()
    assert f'value="{old_title}"' in form  # the current values, to edit

    response = client.post(correct_url(service_request), correction())

    assert response.status_code == 302
    assert response["Location"] == change_url(service_request)
    row = ServiceRequest.objects.get(pk=service_request.pk)
    assert row.title == "Broken road at the north gate"
    assert row.category.code == "environment"
    assert row.status == "rectifying"
    event = row.events.order_by("-seq").first()
    assert (event.action, event.actor_id) == ("corrected", root.pk)
    assert event.note == "The enterprise filed it under the wrong category."
    assert event.data["title"] == {"old": old_title, "new": "Broken road at the north gate"}
    assert event.data["category"] == {"old": old_category, "new": "environment"}
    assert verify_chain(row).ok
    page = client.get(change_url(service_request)).content.decode()
    assert "The correction is on the request&#x27;s timeline." in page


@pytest.mark.parametrize(
    "overrides, field",
    [({"reason": ""}, "reason"), ({"title": ""}, "title"), ({"category": "999999"}, "category")],
    ids=["no-reason", "no-title", "no-such-category"],
)
def test_a_bad_correction_is_shown_on_the_form_and_changes_nothing(
    root, request_in, overrides, field
):
    service_request = request_in("submitted")
    before = ServiceRequest.objects.filter(pk=service_request.pk).values().get()
    response = admin_client(root).post(correct_url(service_request), correction(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert ServiceRequest.objects.filter(pk=service_request.pk).values().get() == before


def test_an_unchanged_correction_is_refused_on_the_form(root, request_in):
    service_request = request_in("submitted")
    unchanged = correction(
        title=service_request.title,
        description=service_request.description,
        category=str(service_request.category_id),
    )
    response = admin_client(root).post(correct_url(service_request), unchanged)
    assert response.status_code == 200
    assert "Nothing differs from the request as it is." in response.content.decode()
    assert service_request.events.filter(action="corrected").count() == 0


def test_a_closed_request_is_not_corrected(root, request_in):
    service_request = request_in("closed")
    response = admin_client(root).post(correct_url(service_request), correction())
    assert response.status_code == 200
    assert "is no longer corrected" in response.content.decode()
    assert ServiceRequest.objects.get(pk=service_request.pk).title != correction()["title"]


def test_the_correction_needs_the_change_permission(cast, request_in):
    """ada, an administrator who may only view requests, sees them but corrects nothing."""
    service_request = request_in("assigned")
    grant(cast.ada, "view_servicerequest")
    client = admin_client(cast.ada)
    html = client.get(change_url(service_request)).content.decode()
    assert correct_url(service_request) not in html
    assert client.get(correct_url(service_request)).status_code == 403
    assert client.post(correct_url(service_request), correction()).status_code == 403

    grant(cast.ada, "change_servicerequest")
    assert client.post(correct_url(service_request), correction()).status_code == 302


def test_a_staff_member_of_another_role_does_not_correct(cast, request_in):
    """Even with every admin permission, a liaison corrects nothing: the workflow admits
    administrators only."""
    service_request = request_in("assigned")
    cast.liam.is_staff = cast.liam.is_superuser = True
    cast.liam.save()
    client = admin_client(cast.liam)
    assert (
        correct_url(service_request) not in client.get(change_url(service_request)).content.decode()
    )
    assert client.post(correct_url(service_request), correction()).status_code == 403
    assert service_request.events.filter(action="corrected").count() == 0


def test_a_request_out_of_sight_is_not_found(cast, root, request_in):
    service_request = request_in("assigned")
    outsider = UserFactory(role=Role.HANDLER, department=cast.environment, is_staff=True)
    outsider.is_superuser = True
    outsider.save()
    response = admin_client(outsider).post(correct_url(service_request), correction())
    assert response.status_code == 302  # the admin's "does not exist" redirect to the index
    assert ServiceRequest.objects.get(pk=service_request.pk).title != correction()["title"]


def test_the_correction_page_speaks_chinese(root, request_in):
    service_request = request_in("assigned")
    html = admin_client(root, "zh-hans").get(correct_url(service_request)).content.decode()
    assert "保存更正" in html
    assert "理由" in html
