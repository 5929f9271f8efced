"""Response hygiene: nothing personal or downloaded is stored by a cache, every answer carries a
Permissions-Policy, and the API's schema and docs are behind a login when the setting says so."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from requests_app.attachments import add_attachment
from tests.factories import ServiceRequestFactory

pytestmark = pytest.mark.django_db

Q3 = {"year": 2026, "quarter": 3}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def no_store(response) -> bool:
    directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return "no-store" in directives and "public" not in directives


def test_every_answer_carries_a_conservative_permissions_policy(client, cast):
    for response in (
        client.get("/accounts/login/"),
        client.get("/api/v1/requests/"),  # 401/403
        client.get("/no-such-page/"),
        signed_in(cast.alice).get("/"),
    ):
        policy = response["Permissions-Policy"]
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert f"{feature}=()" in policy


@pytest.mark.parametrize("path", ["/", "/requests/", "/inbox/", "/reports/", "/lists/"])
def test_pages_for_a_signed_in_user_are_never_stored(cast, path):
    response = signed_in(cast.ada).get(path)
    assert response.status_code in (200, 302), path  # "/" sends each role to its home
    assert no_store(response)


def test_api_answers_are_never_stored(cast, api):
    for user in (cast.alice, cast.ada):
        response = api(user).get("/api/v1/requests/")
        assert response.status_code == 200
        assert no_store(response)
    # A token sent by anyone (even a wrong one): the answer concerns that credential.
    refused = Client().get("/api/v1/requests/", HTTP_AUTHORIZATION="Token not-a-token")
    assert refused.status_code in (401, 403)
    assert no_store(refused)


def test_a_public_page_for_a_stranger_is_not_marked_personal(client):
    response = client.get("/lists/")
    assert response.status_code == 200
    assert not no_store(response)


def test_downloads_are_never_stored(cast):
    request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    attachment = add_attachment(
        request, by=cast.alice, upload=SimpleUploadedFile("survey.txt", b"plain words")
    )
    file = signed_in(cast.alice).get(
        reverse("requests:attachment", args=[request.pk, attachment.pk])
    )
    assert file.status_code == 200 and no_store(file)

    leader = signed_in(cast.ada)
    for fmt in ("pdf", "csv", "xlsx"):
        export = leader.get(reverse("reports:download", args=[fmt]), Q3)
        assert export.status_code == 200 and no_store(export), fmt


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_api_docs_are_public_outside_production(client, settings, path):
    settings.API_DOCS_PUBLIC = True
    assert client.get(path).status_code == 200


def test_api_docs_need_a_login_when_not_public(client, cast, settings, api):
    settings.API_DOCS_PUBLIC = False
    docs = client.get("/api/docs/")
    assert docs.status_code == 302
    assert docs["Location"].startswith(reverse("login"))
    assert client.get("/api/schema/").status_code in (401, 403)

    assert signed_in(cast.alice).get("/api/docs/").status_code == 200
    assert signed_in(cast.alice).get("/api/docs/?script=").status_code == 200
    schema = api(cast.alice).get("/api/schema/")
    assert schema.status_code == 200 and no_store(schema)


# --- the schema matches the answers -----------------------------------------------------------


def test_read_only_choices_the_model_allows_blank_admit_blank_in_the_schema():
    """DRF drops allow_blank on read-only fields; these answers carry "" and the schema says so."""
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    for component, prop in [
        ("Decision", "measure"),
        ("VisitFiling", "reason"),
        ("VisitFiling", "exemption"),
        ("Interaction", "payer"),
        ("ServiceRequest", "extension_state"),
    ]:
        typed = components[component]["properties"][prop]
        refs = [option["$ref"].rsplit("/", 1)[-1] for option in typed.get("oneOf", [])]
        assert "BlankEnum" in refs, (component, prop, typed)
    assert components["BlankEnum"]["enum"] == [""]
