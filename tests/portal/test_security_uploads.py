"""Uploads: a body too large is refused before it is read; files are kept out of every URL and
served only through the view that checks access, as downloads of their sniffed type."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from requests_app.attachments import MAX_FILES
from requests_app.models import Attachment

pytestmark = pytest.mark.django_db

HTML = b"<html><script>alert(document.cookie)</script></html>"


def test_the_request_limit_fits_a_form_with_every_file_at_its_largest():
    assert settings.REQUEST_MAX_BYTES > MAX_FILES * settings.ATTACHMENT_MAX_BYTES


@pytest.mark.parametrize("path", ["/api/v1/requests/{pk}/attachments/", "/requests/{pk}/attach/"])
def test_a_body_declared_too_large_is_413_before_it_is_read(cast, request_in, client, path):
    """The test client's body is 9 bytes: reading past them fails the test, so a 413 here
    proves that nothing tried to read the declared gigabyte."""
    service_request = request_in("rectifying")
    client.force_login(cast.alice)
    response = client.post(
        path.format(pk=service_request.pk),
        b"not read!",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(1024**3),
    )
    assert response.status_code == 413
    assert not Attachment.objects.exists()
    if path.startswith("/api/"):
        assert "detail" in response.json()


def test_a_small_body_passes_the_limit(cast, request_in, client):
    service_request = request_in("rectifying")
    client.force_login(cast.alice)
    upload = SimpleUploadedFile("notes.txt", "道路损坏。\n".encode())
    response = client.post(f"/requests/{service_request.pk}/attach/", {"files": upload})
    assert response.status_code == 302


@pytest.fixture
def stored(cast, api, request_in) -> Attachment:
    """An HTML file that claims to be a PDF, uploaded by alice (accepted as plain text)."""
    service_request = request_in("rectifying")
    response = api(cast.alice).post(
        f"/api/v1/requests/{service_request.pk}/attachments/",
        {"file": SimpleUploadedFile("invoice.pdf", HTML)},
        format="multipart",
    )
    assert response.status_code == 201
    return Attachment.objects.get(pk=response.json()["id"])


def test_stored_files_have_random_names_outside_every_served_folder(stored):
    path = Path(stored.file.path).resolve()
    media = Path(settings.MEDIA_ROOT).resolve()
    assert media in path.parents
    assert "invoice" not in path.name and len(path.name) >= 32
    served = [Path(settings.STATIC_ROOT), *map(Path, settings.STATICFILES_DIRS)]
    assert all(folder.resolve() not in path.parents for folder in served)
    assert settings.MEDIA_URL is None


def test_no_url_serves_the_upload_folder(stored, client, cast):
    client.force_login(cast.ada)
    for url in (
        f"/{stored.file.name}",
        f"/media/{stored.file.name}",
        f"/static/{stored.file.name}",
    ):
        assert client.get(url).status_code == 404, url


def test_a_download_is_an_attachment_of_the_sniffed_type(stored, client, cast):
    """The browser must neither render the HTML nor guess its type: text/plain, nosniff."""
    client.force_login(cast.alice)
    response = client.get(f"/requests/{stored.request_id}/files/{stored.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="invoice.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == HTML


def test_a_download_from_another_request_is_404(stored, client, cast, request_in):
    """The attachment's id alone is not enough: it must belong to the request in the URL."""
    other = request_in("rectifying")
    client.force_login(cast.alice)
    assert client.get(f"/requests/{other.pk}/files/{stored.pk}/").status_code == 404
