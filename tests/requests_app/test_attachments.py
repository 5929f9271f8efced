"""Attachments: judged by content not by name, at most 10 MB, stored under a random name."""

import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from requests_app.attachments import sniff
from requests_app.models import Attachment, RequestEvent, ServiceRequest
from requests_app.serializers import ServiceRequestSerializer

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64  # legacy .doc/.xls/.ppt container
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64 + b"This program cannot be run"
LINUX_ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64
JAVA_CLASS = b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + b"\x00" * 32


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


DOCX = zipped("[Content_Types].xml", "_rels/.rels", "word/document.xml")
XLSX = zipped("[Content_Types].xml", "xl/workbook.xml")


def upload(api, user, service_request, name, content):
    return api(user).post(
        f"/api/v1/requests/{service_request.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content)},
        format="multipart",
    )


@pytest.mark.parametrize(
    "name, content, content_type",
    [
        ("survey.pdf", PDF, "application/pdf"),
        ("gate.png", PNG, "image/png"),
        ("gate.jpg", JPEG, "image/jpeg"),
        ("photo.dat", PNG, "image/png"),  # the name does not matter, the content does
        ("invoice.exe", PDF, "application/pdf"),
        (
            "letter.docx",
            DOCX,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("sheet.xlsx", XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("old.xls", OLE2, "application/vnd.ms-excel"),
        ("old.doc", OLE2, "application/msword"),
        ("notes.txt", "道路损坏，请尽快处理。\n".encode(), "text/plain"),
        ("notes-gbk.txt", "道路损坏，请尽快处理。\n".encode("gb18030"), "text/plain"),
        ("page.pdf", b"<html><script>alert(1)</script></html>", "text/plain"),
    ],
)
def test_accepted_files(cast, api, request_in, name, content, content_type):
    service_request = request_in("rectifying")
    response = upload(api, cast.alice, service_request, name, content)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["original_name"] == name
    assert body["content_type"] == content_type
    assert body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert isinstance(body["id"], int)
    assert body["url"]


def test_an_attachment_is_listed_in_the_request_and_on_the_timeline(cast, api, request_in):
    service_request = request_in("assigned")
    created = upload(api, cast.hank, service_request, "plan.pdf", PDF).json()
    detail = api(cast.alice).get(f"/api/v1/requests/{service_request.pk}/").json()
    assert [a["id"] for a in detail["attachments"]] == [created["id"]]
    event = service_request.events.order_by("-seq").first()
    assert event.action == "attachment_added"
    assert event.actor == cast.hank
    assert event.data == {"attachment": created["id"], "sha256": created["sha256"]}
    assert event.from_status == event.to_status == "assigned"


def test_attachments_are_listed_by_id_on_the_list_the_detail_and_an_object_not_prefetched(
    cast, api, request_in
):
    """The API's list fills every row's attachments in one query (to_attr); a request read
    without it (the result of an action the actor can no longer see) reads its own."""
    service_request = request_in("assigned")
    other = request_in("assigned")
    ids = [upload(api, cast.hank, service_request, f"p{i}.pdf", PDF).json()["id"] for i in (1, 2)]
    upload(api, cast.hank, other, "other.pdf", PDF)
    listed = api(cast.alice).get("/api/v1/requests/").json()["results"]
    by_id = {row["id"]: [a["id"] for a in row["attachments"]] for row in listed}
    assert by_id[service_request.pk] == ids and len(by_id[other.pk]) == 1
    detail = api(cast.alice).get(f"/api/v1/requests/{service_request.pk}/").json()
    assert [a["id"] for a in detail["attachments"]] == ids
    plain = ServiceRequest.objects.get(pk=service_request.pk)
    shown = ServiceRequestSerializer(plain, context={}).data["attachments"]
    assert [a["id"] for a in shown] == ids and shown == detail["attachments"]


def test_the_stored_file_has_a_random_name_inside_the_media_root(cast, api, request_in):
    service_request = request_in("submitted")
    response = upload(api, cast.alice, service_request, "../../../etc/passwd.pdf", PDF)
    assert response.status_code == 201
    attachment = Attachment.objects.get(pk=response.json()["id"])
    stored = Path(attachment.file.path).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert "passwd" not in stored.name and ".." not in attachment.file.name
    assert stored.read_bytes() == PDF


@pytest.mark.parametrize(
    "name, content",
    [
        ("report.pdf", WINDOWS_EXE),  # an executable renamed .pdf
        ("report.pdf", LINUX_ELF),
        ("report.pdf", JAVA_CLASS),
        ("letter.docx", zipped("payload.exe")),  # a plain zip is not a document
        ("blob.bin", bytes(range(256)) * 4),
        ("nul.txt", b"text\x00with a nul byte"),
        ("latin1.txt", "café".encode("latin-1") + b"\xff\xfe\x00"),
    ],
)
def test_refused_files_are_400(cast, api, request_in, name, content):
    service_request = request_in("submitted")
    events_before = RequestEvent.objects.filter(request=service_request).count()
    response = upload(api, cast.alice, service_request, name, content)
    assert response.status_code == 400
    assert "file" in response.json()
    assert not Attachment.objects.exists()
    assert RequestEvent.objects.filter(request=service_request).count() == events_before


def test_an_empty_file_is_400(cast, api, request_in):
    response = upload(api, cast.alice, request_in("submitted"), "empty.pdf", b"")
    assert response.status_code == 400
    assert "file" in response.json()


def test_a_missing_file_is_400(cast, api, request_in):
    service_request = request_in("submitted")
    client = api(cast.alice)
    url = f"/api/v1/requests/{service_request.pk}/attachments/"
    assert client.post(url, {}, format="multipart").status_code == 400
    assert client.post(url, {"file": "not a file"}, format="multipart").status_code == 400


def test_a_json_body_is_415(cast, api, request_in):
    service_request = request_in("submitted")
    response = api(cast.alice).post(
        f"/api/v1/requests/{service_request.pk}/attachments/", {"file": "x"}, format="json"
    )
    assert response.status_code == 415


def test_a_file_name_longer_than_255_is_shortened_keeping_its_extension(cast, api, request_in):
    response = upload(api, cast.alice, request_in("submitted"), "x" * 300 + ".pdf", PDF)
    assert response.status_code == 201
    name = response.json()["original_name"]
    assert len(name) <= 255
    assert name.endswith(".pdf")


def test_eleven_megabytes_is_413(cast, api, request_in):
    service_request = request_in("submitted")
    response = upload(api, cast.alice, service_request, "big.pdf", PDF + b"0" * (11 * MB))
    assert response.status_code == 413
    assert "detail" in response.json()
    assert not Attachment.objects.exists()


def test_one_byte_over_ten_megabytes_is_413(cast, api, request_in):
    """Within the slack allowed for the multipart envelope: refused after reading, still 413."""
    service_request = request_in("submitted")
    content = PDF + b"0" * (settings.ATTACHMENT_MAX_BYTES - len(PDF) + 1)
    response = upload(api, cast.alice, service_request, "big.pdf", content)
    assert response.status_code == 413
    assert not Attachment.objects.exists()


def test_exactly_ten_megabytes_is_accepted(cast, api, request_in):
    service_request = request_in("submitted")
    content = PDF + b"0" * (settings.ATTACHMENT_MAX_BYTES - len(PDF))
    response = upload(api, cast.alice, service_request, "max.pdf", content)
    assert response.status_code == 201
    assert response.json()["size"] == 10 * MB


@pytest.mark.parametrize("persona", ["ivan", "leona"])
def test_those_who_only_read_may_not_attach(cast, api, request_in, persona):
    response = upload(api, cast[persona], request_in("rectifying"), "a.pdf", PDF)
    assert response.status_code == 403


@pytest.mark.parametrize("state", ["closed", "rejected", "merged", "withdrawn"])
def test_a_finished_request_takes_no_files(cast, api, request_in, state):
    response = upload(api, cast.ada, request_in(state), "a.pdf", PDF)
    assert response.status_code == 403
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "liam", "hank", "ada"])
def test_the_people_working_a_request_may_attach(cast, api, request_in, persona):
    assert upload(api, cast[persona], request_in("rectifying"), "a.pdf", PDF).status_code == 201


def test_sniff_is_pure():
    assert sniff(PDF, "x.txt") == "application/pdf"
    assert sniff(OLE2, "deck.PPT") == "application/vnd.ms-powerpoint"
    assert sniff(WINDOWS_EXE, "x.pdf") is None
    assert sniff(b"", "x.txt") is None
    # A multi-byte character cut in two by the sniffing window is still text.
    assert sniff(("汉" * 3000).encode()[:8191], "x.txt") == "text/plain"


# --- previews ------------------------------------------------------------------------------------


def _page(user):
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_images_and_pdfs_preview_inline_and_may_do_nothing_else(cast, api, request_in):
    service_request = request_in("rectifying")
    image = upload(api, cast.hank, service_request, "photo.png", PNG).json()
    pdf = upload(api, cast.hank, service_request, "report.pdf", b"%PDF-1.4\n%%EOF\n").json()
    client = _page(cast.alice)
    for stored, kind in ((image, "image/png"), (pdf, "application/pdf")):
        url = f"/requests/{service_request.pk}/files/{stored['id']}/preview/"
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == kind
        assert response["Content-Disposition"].startswith("inline")
        assert response["X-Content-Type-Options"] == "nosniff"
        policy = response["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert "frame-ancestors 'self'" in policy
        # Sandboxed by its own response: no script, an opaque origin (see PREVIEW_CSP).
        assert "sandbox" in [part.strip() for part in policy.split(";")]
        assert "allow-" not in policy
        assert response["X-Frame-Options"] == "SAMEORIGIN"
        b"".join(response.streaming_content)
    html = client.get(f"/requests/{service_request.pk}/").content.decode()
    preview = f"/requests/{service_request.pk}/files/{image['id']}/preview/"
    # The image as a thumbnail in the list and on the timeline; the PDF as a link to its page.
    assert html.count(f'<img class="thumb" src="{preview}"') == 2
    assert f'href="/requests/{service_request.pk}/files/{pdf["id"]}/view/"' in html
    assert f'href="/requests/{service_request.pk}/files/{pdf["id"]}/preview/"' not in html


def _iframes(html: str) -> list[str]:
    return re.findall(r"<iframe\b[^>]*>", html)


def test_a_pdf_previews_in_a_frame_of_its_own_page(cast, api, request_in):
    service_request = request_in("rectifying")
    pdf = upload(api, cast.hank, service_request, "report.pdf", b"%PDF-1.4\n%%EOF\n").json()
    base = f"/requests/{service_request.pk}/files/{pdf['id']}"
    response = _page(cast.alice).get(f"{base}/view/")
    assert response.status_code == 200
    html = response.content.decode()
    [frame] = _iframes(html)
    assert f'src="{base}/preview/"' in frame and 'title="report.pdf"' in frame
    # Nothing in the frame may run or reach the page: no token that would allow it, anywhere.
    assert "allow-scripts" not in frame and "allow-same-origin" not in frame
    assert f'href="{base}/" download' in html  # the download, next to it
    # The portal's own page may frame our own URLs only, and nobody may frame it.
    policy = response["Content-Security-Policy"]
    assert "frame-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "sandbox" not in policy  # the page itself is an ordinary page of ours


def test_the_pdf_page_is_for_pdfs_and_for_those_who_see_the_request(cast, api, request_in):
    service_request = request_in("rectifying")
    image = upload(api, cast.hank, service_request, "photo.png", PNG).json()
    pdf = upload(api, cast.hank, service_request, "report.pdf", b"%PDF-1.4\n%%EOF\n").json()
    image_page = f"/requests/{service_request.pk}/files/{image['id']}/view/"
    response = _page(cast.alice).get(image_page)
    # An image stays an image: its preview, never a frame.
    assert (response.status_code, response["Location"]) == (302, image_page[:-5] + "preview/")
    for outsider in (cast.mallory, cast.olga, cast.hugo):
        for end in ("view/", "preview/"):
            url = f"/requests/{service_request.pk}/files/{pdf['id']}/{end}"
            assert _page(outsider).get(url).status_code == 404, (outsider, end)
    # An attachment of another request, through this one's URL: 404 as well.
    other = request_in("rectifying")
    assert _page(cast.alice).get(f"/requests/{other.pk}/files/{pdf['id']}/view/").status_code == 404


def test_other_types_download_and_outsiders_see_nothing(cast, api, request_in):
    service_request = request_in("rectifying")
    text = upload(api, cast.hank, service_request, "notes.txt", b"plain words\n").json()
    url = f"/requests/{service_request.pk}/files/{text['id']}/preview/"
    response = _page(cast.alice).get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/requests/{service_request.pk}/files/{text['id']}/"
    assert _page(cast.mallory).get(url).status_code == 404
