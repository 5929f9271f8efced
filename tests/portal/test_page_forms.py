"""Every page form is a Django form shown through one partial, `includes/field.html`, whose
fields are tied to their labels, help and errors; the forms describe what the API's input
serializers judge, field for field."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.serializers import Serializer

from compliance.forms import FORMS
from compliance.models import Gift
from requests_app.forms import ACTION_FORMS, RequestCreateForm
from requests_app.serializers import ACTION_INPUTS, RequestCreateInput
from tests.pages import page_client

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
PARTIAL = "includes/field.html"


class _Elements(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict]]:
    parser = _Elements()
    parser.feed(html)
    return parser.tags


def assert_accessible(html: str) -> None:
    """Each control has a label (or legend); aria-describedby points at elements that exist;
    a control with errors says so and points at its error list."""
    tags = elements(html)
    ids = {attrs["id"] for _, attrs in tags if "id" in attrs}
    labelled = {attrs.get("for") for tag, attrs in tags if tag == "label"}
    for tag, attrs in tags:
        for described_by in attrs.get("aria-describedby", "").split():
            assert described_by in ids, (tag, attrs)
        if tag not in ("input", "select", "textarea") or attrs.get("type") == "hidden":
            continue
        if attrs.get("name") in ("csrfmiddlewaretoken", "language", "next"):
            continue
        assert attrs.get("id") in labelled, (tag, attrs)
        if attrs.get("aria-invalid") == "true" and attrs.get("type") != "radio":
            assert any(i.startswith("err-") for i in attrs.get("aria-describedby", "").split())


# --- one partial ----------------------------------------------------------------------------------


def test_there_is_one_field_partial():
    partials = sorted(str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*field*.html"))
    assert partials == [PARTIAL]


def test_no_template_writes_its_own_form_fields():
    """Page forms' inputs come from their Django forms; the only hand-written controls left
    are hidden ones, the GET filter bars of lists, and controls with no name, which submit
    nothing (the phone menu's toggle)."""
    filter_bars = {
        "requests/list.html",
        "reports/dashboard.html",
        "compliance/inspector/cases.html",
        "compliance/inspector/findings.html",
        "compliance/inspector/officials.html",
    }
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        name = str(path.relative_to(TEMPLATES))
        if name in filter_bars or name.startswith(("admin/", "email/")):
            continue
        for tag, attrs in elements(path.read_text()):
            unnamed_toggle = (
                tag == "input" and attrs.get("type") == "checkbox" and "name" not in attrs
            )
            if unnamed_toggle:
                continue
            if tag in ("select", "textarea") or (
                tag == "input" and attrs.get("type") not in ("hidden",)
            ):
                offenders.append((name, tag, attrs.get("name")))
    assert offenders == []


# --- every page form renders through it -----------------------------------------------------------


def _rendered_through_partial(response) -> bool:
    return PARTIAL in {t.name for t in response.templates}


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_request_forms_render_through_the_partial(cast, request_in, language):
    alice = page_client(cast.alice, language)
    create = alice.get(reverse("requests:create"))
    assert create.status_code == 200 and _rendered_through_partial(create)
    assert_accessible(create.content.decode())

    feedback = request_in("feedback")
    detail = alice.get(reverse("requests:detail", args=[feedback.pk]))
    html = detail.content.decode()
    assert _rendered_through_partial(detail)
    assert 'name="accepted"' in html and 'name="files"' in html
    assert_accessible(html)

    submitted = request_in("submitted")
    liam = page_client(cast.liam, language)
    detail = liam.get(reverse("requests:detail", args=[submitted.pk]))
    assert _rendered_through_partial(detail)
    assert_accessible(detail.content.decode())


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("kind", ["interactions", "gifts", "asset-uses", "declarations"])
def test_record_forms_render_through_the_partial(cast, kind, language):
    response = page_client(cast.hank, language).get(reverse("compliance:record-new", args=[kind]))
    assert response.status_code == 200 and _rendered_through_partial(response)
    assert_accessible(response.content.decode())


@pytest.mark.django_db
def test_visit_and_gift_outcome_forms_render_through_the_partial(cast):
    client = page_client(cast.hank)
    visit = client.get(reverse("compliance:visit-new"))
    assert _rendered_through_partial(visit)
    assert_accessible(visit.content.decode())
    client.post(
        reverse("compliance:record-new", args=["gifts"]),
        {
            "enterprise": cast.acme.pk,
            "direction": "received",
            "kind": "goods",
            "value_cny": "300",
            "received_at": "2026-01-01T10:00",
        },
    )
    gift = Gift.objects.get()
    detail = client.get(reverse("compliance:record-detail", args=["gifts", gift.pk]))
    assert _rendered_through_partial(detail)
    assert 'name="registered_at"' in detail.content.decode()


@pytest.mark.django_db
def test_other_page_forms_render_through_the_partial(cast):
    report = page_client(None).get(reverse("inspector:report-file"))
    assert _rendered_through_partial(report)
    assert_accessible(report.content.decode())
    enterprise = page_client(cast.alice).get(reverse("officials:enterprise-create"))
    assert _rendered_through_partial(enterprise)
    assert_accessible(enterprise.content.decode())


# --- what the partial ties together ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_field_with_errors_is_marked_and_points_at_them(cast, request_in):
    service_request = request_in("submitted")
    response = page_client(cast.liam).post(
        reverse("requests:act", args=[service_request.pk, "reject"]), {"reason": "  "}
    )
    reason = next(
        attrs
        for tag, attrs in elements(response.content.decode())
        if attrs.get("id") == "reject-reason"
    )
    assert reason["aria-invalid"] == "true"
    assert reason["aria-describedby"] == "err-reject-reason"
    assert_accessible(response.content.decode())


@pytest.mark.django_db
def test_help_text_is_tied_to_its_field(cast):
    html = page_client(cast.hank).get(reverse("compliance:visit-new")).content.decode()
    reason = next(attrs for tag, attrs in elements(html) if attrs.get("id") == "id_reason")
    assert reason["aria-describedby"] == "id_reason_helptext"
    assert 'id="id_reason_helptext"' in html


@pytest.mark.django_db
def test_required_fields_are_marked(cast):
    html = page_client(cast.hank).get(reverse("compliance:visit-new")).content.decode()
    assert '<label for="id_planned_start">Planned start <span class="req"' in html
    assert '<label for="id_note">Note</label>' in html


# --- the forms describe what the serializers judge ------------------------------------------------


def _shape(serializer_class) -> list[tuple[str, bool]]:
    """Each field and whether it is required; a nested object's fields as the page names them,
    flat ("follow_up_channel" for `follow_up.channel`)."""
    shape = []
    for name, field in serializer_class().fields.items():
        if isinstance(field, Serializer):
            shape += [(f"{name}_{inner}", sub.required) for inner, sub in field.fields.items()]
        else:
            shape.append((name, field.required))
    return shape


def _form_shape(form_class) -> list[tuple[str, bool]]:
    return [(name, field.required) for name, field in form_class.base_fields.items()]


@pytest.mark.parametrize("action", sorted(ACTION_INPUTS))
def test_each_action_form_has_its_serializers_fields(action):
    forms, shape = ACTION_FORMS[action], _shape(ACTION_INPUTS[action])
    if len(forms) == 1:
        assert _form_shape(forms[0]) == shape
        return
    # An action with a form per outcome (the review: accept, reject): each form fixes some
    # values (the verdict) and may ask for more than the serializer where its outcome needs it
    # (a rating to accept), never for a field the serializer lacks, nor less than it requires.
    required = {name for name, needed in shape if needed}
    for form in forms:
        fields = dict(_form_shape(form)) | dict.fromkeys(form.fixed, True)
        assert set(fields) <= {name for name, _needed in shape}, form.__name__
        assert all(fields[name] for name in required & set(fields)), form.__name__
    covered = set().union(*({*form.base_fields, *form.fixed} for form in forms))
    assert covered == {name for name, _needed in shape}


@pytest.mark.parametrize("input_class", list(FORMS), ids=lambda c: c.__name__)
def test_each_compliance_form_has_its_serializers_fields(input_class):
    assert _form_shape(FORMS[input_class]) == _shape(input_class)


def test_the_filing_form_has_the_serializers_fields_and_the_files():
    form = [name for name in RequestCreateForm.base_fields if name != "files"]
    assert sorted(form) == sorted(RequestCreateInput().fields)
