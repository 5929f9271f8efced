"""An administrator's correction of a request's text or category, through the workflow.

The status stays; the `corrected` event, chained like every other, keeps the old and new value of
each changed field with the reason; only administrators correct, and only open requests.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from officials.models import Role
from requests_app.checkpoints import verify_chain
from requests_app.models import OPEN_STATUSES, ServiceRequest
from requests_app.presenters import event_rows
from requests_app.workflow import InvalidInput, InvalidTransition, NotPermitted, correct_request
from tests.conftest import INSIDERS, STATES, status_of
from tests.factories import category

pytestmark = pytest.mark.django_db


def last_event(service_request: ServiceRequest):
    return service_request.events.order_by("-seq").first()


@pytest.mark.parametrize("state", STATES)
def test_an_open_request_is_corrected_and_a_closed_one_is_not(cast, request_in, state):
    service_request = request_in(state)
    before = ServiceRequest.objects.filter(pk=service_request.pk).values().get()
    events = service_request.events.count()
    if status_of(state) not in OPEN_STATUSES:
        with pytest.raises(InvalidTransition) as refusal:
            correct_request(service_request.pk, by=cast.ada, reason="Typo.", title="Gate 3")
        assert refusal.value.current_status == status_of(state)
        assert ServiceRequest.objects.filter(pk=service_request.pk).values().get() == before
        assert service_request.events.count() == events
        return

    corrected = correct_request(service_request.pk, by=cast.ada, reason="Typo.", title="Gate 3")

    assert corrected.title == "Gate 3"
    assert corrected.status == before["status"]
    event = last_event(service_request)
    assert (event.action, event.actor_id, event.note) == ("corrected", cast.ada.pk, "Typo.")
    assert (event.from_status, event.to_status) == (before["status"], before["status"])
    assert event.data == {"title": {"old": before["title"], "new": "Gate 3"}}
    assert verify_chain(service_request).ok


def test_each_changed_field_is_recorded_old_and_new_and_only_those_are_written(cast, request_in):
    service_request = request_in("rectifying")
    old_category = service_request.category.code
    with CaptureQueriesContext(connection) as captured:
        corrected = correct_request(
            service_request.pk,
            by=cast.ada,
            reason="The enterprise misfiled it.",
            title=service_request.title,  # unchanged: not recorded
            description="The north gate's road is broken.",
            category=category("environment"),
        )

    event = last_event(service_request)
    assert event.data == {
        "description": {
            "old": service_request.description,
            "new": "The north gate's road is broken.",
        },
        "category": {"old": old_category, "new": "environment"},
    }
    row = ServiceRequest.objects.get(pk=service_request.pk)
    assert (row.description, row.category.code) == (corrected.description, "environment")
    table = ServiceRequest._meta.db_table
    (update,) = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith(f'UPDATE "{table}"')
    ]
    written = update.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    assert written.count(" = ") == 3  # description, category and updated_at
    assert '"description"' in written and '"category_id"' in written
    locks = [q for q in captured.captured_queries if "FOR UPDATE" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(locks) == 1


@pytest.mark.parametrize("role", sorted(set(Role.values) - {Role.ADMIN}))
def test_only_an_administrator_corrects(cast, request_in, role):
    service_request = request_in("assigned")
    with pytest.raises(NotPermitted):
        correct_request(service_request.pk, by=cast[INSIDERS[role]], reason="Typo.", title="Gate 3")
    assert ServiceRequest.objects.get(pk=service_request.pk).title != "Gate 3"
    assert last_event(service_request).action != "corrected"


@pytest.mark.parametrize(
    "values, field",
    [
        ({"reason": "  ", "title": "Gate 3"}, "reason"),
        ({"reason": "Typo.", "title": " "}, "title"),
        ({"reason": "Typo.", "description": ""}, "description"),
        ({"reason": "Typo.", "title": "x" * 201}, "title"),
        ({"reason": "Typo."}, "non_field_errors"),
    ],
    ids=["no-reason", "blank-title", "blank-description", "title-too-long", "nothing-changed"],
)
def test_bad_corrections_change_nothing(cast, request_in, values, field):
    service_request = request_in("submitted")
    before = ServiceRequest.objects.filter(pk=service_request.pk).values().get()
    with pytest.raises(InvalidInput) as refusal:
        correct_request(service_request.pk, by=cast.ada, **values)
    assert field in refusal.value.errors
    assert ServiceRequest.objects.filter(pk=service_request.pk).values().get() == before
    assert last_event(service_request).action != "corrected"


def test_the_same_value_again_is_nothing_to_correct(cast, request_in):
    service_request = request_in("submitted")
    with pytest.raises(InvalidInput):
        correct_request(
            service_request.pk,
            by=cast.ada,
            reason="Typo.",
            title=service_request.title,
            category=service_request.category,
        )


@pytest.mark.parametrize(
    "language, label, title_line, category_line",
    [
        ("en", "Corrected by an administrator", "Title corrected", "Category corrected"),
        ("zh-hans", "管理员更正", "标题更正", "诉求类别更正"),
    ],
)
def test_the_timeline_shows_a_correction_readably(
    cast, request_in, language, label, title_line, category_line
):
    service_request = request_in("submitted")
    old_name = {"en": service_request.category.name_en, "zh-hans": service_request.category.name_zh}
    new = category("environment")
    correct_request(
        service_request.pk, by=cast.ada, reason="Misfiled.", title="Gate 3", category=new
    )
    with translation.override(language):
        row = event_rows(service_request)[-1]
        assert str(row.label) == label
        new_name = new.name
    assert row.details[0].startswith(title_line)
    assert "“Gate 3”" in row.details[0]
    assert row.details[1].startswith(category_line)
    assert f"“{old_name[language]}” → “{new_name}”" in row.details[1]
