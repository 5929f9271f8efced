"""Evidence on confidential reports and additions through the receipt: stored as request
attachments are (size, kind by content), without the sender's identity or file name; a wrong
receipt changes nothing; only the region's inspectors read them."""

import datetime as dt
import logging
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from compliance import receipts
from compliance.models import ConfidentialReport, ReportAddition, ReportEvidence, ReportStatus
from inspection import evidence as evidence_service
from inspection.errors import InvalidInput
from notifications.models import Notification, Preference
from tests.compliance.inspection_helpers import (
    NOT_READERS,
    READERS,
    page_client,
    receipt_shown,
    report_about_acme,
)
from tests.compliance.test_anonymity import (
    FILED_AT,
    MARKED,
    _fine_times,
    _identity_markers,
    _tables,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_throttles")]

API = "/api/v1/reports/confidential/"
PAGE_ANONYMOUS = "/confidential-report/anonymous/"
PAGE_STATUS = "/confidential-report/status/"
PAGE_ADD = "/confidential-report/status/add/"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64 + b"This program cannot be run"
OLD_RECEIPT = "Ab3_-xY9zQ0pL1mN2oP4qR5s"  # secrets.token_urlsafe(18), as issued before


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def sloppy(receipt: str) -> str:
    """The receipt as someone might type it from a note: lower case, spaces for dashes."""
    return receipt.lower().replace("-", " ")


# --- evidence with the report -------------------------------------------------------------------


def test_the_anonymous_form_takes_evidence_and_keeps_no_file_name(cast):
    response = page_client(None).post(
        PAGE_ANONYMOUS,
        {
            "kind": "petty_extortion",
            "text": "Asked for a red packet.",
            "files": [upload("zhang_wei_invoice.pdf", PDF), upload("gate.png", PNG)],
        },
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    report = ConfidentialReport.objects.get()
    items = list(report.evidence.order_by("id"))
    assert [e.content_type for e in items] == ["application/pdf", "image/png"]
    assert all(e.addition is None and len(e.sha256) == 64 for e in items)
    for item in items:
        assert "zhang" not in item.file.name and "gate" not in item.file.name
        assert item.download_name.startswith(f"report-{report.pk}-evidence-")
        # Kept to the day, on the row and on the stored file alike.
        assert item.added_at == report.created_at
        assert os.stat(item.file.path).st_mtime == report.created_at.timestamp()
    assert not any("zhang" in row for rows in _tables().values() for row in rows)


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ([upload("setup.pdf", WINDOWS_EXE)], "not an accepted kind"),
        ([upload("empty.pdf", b"")], "is empty"),
        ([upload(f"p{n}.pdf", PDF) for n in range(11)], "at most 10 files"),
    ],
)
def test_refused_evidence_files_nothing(cast, files, problem):
    response = page_client(None).post(
        PAGE_ANONYMOUS, {"kind": "other", "text": "See the file.", "files": files}
    )
    assert response.status_code == 400
    assert problem in response.content.decode()
    assert not ConfidentialReport.objects.exists()
    assert not ReportEvidence.objects.exists()


def test_evidence_over_the_size_limit_is_refused(cast, settings):
    settings.ATTACHMENT_MAX_BYTES = 64
    with pytest.raises(InvalidInput) as refused:
        report_about_acme(cast, files=[upload("big.pdf", PDF + b" " * 64)])
    assert "larger than" in " ".join(refused.value.errors["files"])
    assert not ConfidentialReport.objects.exists()


# --- the receipt page: copy button, the page without JavaScript ---------------------------------


def test_the_receipt_page_offers_a_copy_button_from_a_script_of_our_own(cast):
    response = page_client(None).post(PAGE_ANONYMOUS, {"kind": "other", "text": "x"})
    page = response.content.decode()
    receipt = receipt_shown(page)  # plain text: readable without a script
    assert receipts.normalise(receipt) == receipt
    assert 'data-copy="receipt"' in page and "hidden>" in page  # shown by the script only
    assert '<script src="/static/inspection/copy.js" defer></script>' in page
    assert "<script>" not in page  # nothing inline: the CSP allows 'self' scripts only
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]


# --- additions through the receipt --------------------------------------------------------------


def add(client, receipt: str, text: str = "", files=()):
    return client.post(PAGE_ADD, {"receipt": receipt, "text": text, "files": list(files)})


def test_the_reporter_adds_text_and_files_through_the_receipt_and_sees_them(cast):
    report = report_about_acme(cast)
    visitor = page_client(None)
    shown = visitor.post(PAGE_STATUS, {"receipt": sloppy(report.receipt)})
    assert shown.status_code == 200
    assert "Add information" in shown.content.decode()
    response = add(
        visitor, sloppy(report.receipt), "He came back on Monday.", [upload("m.pdf", PDF)]
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "He came back on Monday." in page and "application/pdf" in page
    assert "Your addition was sent" in page
    addition = ReportAddition.objects.get()
    assert addition.report == report and addition.text == "He came back on Monday."
    assert addition.created_at == report.created_at.replace(hour=0)  # the day only
    assert list(addition.evidence.values_list("report", flat=True)) == [report.pk]
    assert "sessionid" not in response.cookies and "messages" not in response.cookies


def test_the_regions_inspectors_hear_of_an_addition_and_nothing_of_the_reporter(cast, people):
    """An addition through the receipt tells the inspectors of the report's region, through the
    inbox and as each chose for the kind; the message names the report, never what was added or
    who sent it, and keeps the addition's time (the day, for an anonymous report)."""
    anonymous = report_about_acme(cast)
    named = report_about_acme(cast, by=cast.alice, anonymous=False)
    Preference.objects.create(user=people["gina"], kind="report_added", inbox=False, email=False)
    Notification.objects.all().delete()

    assert add(page_client(None), "22222-22222-22222-22222-22222-22222", "Planted.").status_code
    assert not Notification.objects.exists()  # a wrong receipt tells nobody anything
    for report in (anonymous, named):
        text = "He came back with a colleague from Zhang Wei's office."
        files = [upload("alice_invoice.pdf", PDF)]
        assert add(page_client(None), sloppy(report.receipt), text, files).status_code == 200

    sent = Notification.objects.filter(kind="report_added").order_by("id")
    # gina (Gulou) turned this kind off; irene covers Minhou only.
    assert [(n.recipient.username, n.link) for n in sent] == [
        ("ivan", reverse("inspector:report", args=[anonymous.pk])),
        ("ivan", reverse("inspector:report", args=[named.pk])),
    ]
    for note, report in zip(sent, (anonymous, named), strict=True):
        words = f"{note.subject} {note.body} {note.body_html}".lower()
        assert f"#{report.pk}" in note.subject
        for leak in ("alice", cast.alice.display_name.lower(), "colleague", "zhang", "invoice"):
            assert leak not in words, leak
    assert sent[0].created_at == anonymous.created_at.replace(hour=0)  # the day only


@pytest.mark.parametrize(
    "receipt",
    ["22222-22222-22222-22222-22222-22222", "not a receipt", OLD_RECEIPT, ""],
)
def test_a_wrong_receipt_changes_nothing(cast, receipt):
    report = report_about_acme(cast)
    before = ConfidentialReport.objects.values().get(pk=report.pk)
    response = add(page_client(None), receipt, "Planted text.", [upload("x.pdf", PDF)])
    assert response.status_code in (400, 404)
    assert "Planted text." not in response.content.decode()
    assert not ReportAddition.objects.exists() and not ReportEvidence.objects.exists()
    assert ConfidentialReport.objects.values().get(pk=report.pk) == before
    api_answer = page_client(None).post(
        f"{API}additions/", {"receipt": receipt or "x", "text": "Planted."}
    )
    assert api_answer.status_code in (400, 404)
    assert not ReportAddition.objects.exists()


def test_an_empty_addition_or_a_bad_file_adds_nothing(cast):
    report = report_about_acme(cast)
    assert add(page_client(None), report.receipt).status_code == 400
    refused = add(page_client(None), report.receipt, "With a bad file.", [upload("a.pdf", b"MZ")])
    assert refused.status_code == 400
    assert not ReportAddition.objects.exists() and not ReportEvidence.objects.exists()


def test_a_closed_report_takes_no_more(cast):
    report = report_about_acme(cast)
    ConfidentialReport.objects.filter(pk=report.pk).update(status=ReportStatus.CLOSED)
    assert add(page_client(None), report.receipt, "Too late.").status_code == 409
    assert not ReportAddition.objects.exists()


def test_the_api_adds_through_the_receipt_and_the_status_shows_it(cast, api):
    report = report_about_acme(cast)
    response = api(None).post(
        f"{API}additions/",
        {"receipt": sloppy(report.receipt), "text": "More.", "files": [upload("f.png", PNG)]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["text"] == "More."
    assert response.json()["evidence"] == [{"content_type": "image/png", "size": len(PNG)}]
    status = api(None).get(f"{API}status/{report.receipt.lower()}/").json()
    assert [a["text"] for a in status["additions"]] == ["More."]


def test_the_api_answers_413_for_an_oversized_file(cast, api, settings):
    settings.ATTACHMENT_MAX_BYTES = 64
    report = report_about_acme(cast)
    response = api(None).post(
        f"{API}additions/",
        {"receipt": report.receipt, "text": "Big.", "files": [upload("big.pdf", PDF + b" " * 64)]},
        format="multipart",
    )
    assert response.status_code == 413
    assert not ReportAddition.objects.exists()


def test_a_receipt_of_the_old_format_still_works(cast, api):
    report = report_about_acme(cast)
    ConfidentialReport.objects.filter(pk=report.pk).update(
        receipt_digest=receipts.digest(OLD_RECEIPT)
    )
    assert api(None).get(f"{API}status/{OLD_RECEIPT}/").status_code == 200
    assert api(None).get(f"{API}status/{OLD_RECEIPT.lower()}/").status_code == 404
    assert page_client(None).post(PAGE_STATUS, {"receipt": OLD_RECEIPT}).status_code == 200
    assert add(page_client(None), OLD_RECEIPT, "Still mine.").status_code == 200
    assert ReportAddition.objects.get().report_id == report.pk


# --- who reads them -----------------------------------------------------------------------------


def _with_addition(cast) -> tuple[ConfidentialReport, ReportEvidence]:
    report = report_about_acme(cast, files=[upload("a.pdf", PDF)])
    evidence_service.add_to_report(
        receipt=report.receipt, text="Second visit, same demand.", files=[upload("b.png", PNG)]
    )
    return report, ReportEvidence.objects.get(addition__isnull=False)


@pytest.mark.parametrize("name", READERS)
def test_the_region_s_inspectors_see_the_additions_in_the_history_and_download(cast, people, name):
    report, later = _with_addition(cast)
    client = page_client(people[name])
    page = client.get(reverse("inspector:report", args=[report.pk])).content.decode()
    assert "History" in page and "Second visit, same demand." in page
    assert later.download_name in page
    download = client.get(reverse("inspector:report-evidence", args=[report.pk, later.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert later.download_name in download["Content-Disposition"]
    assert "no-store" in download["Cache-Control"]
    detail = client.get(f"{API}{report.pk}/").json()
    assert [e["content_type"] for e in detail["evidence"]] == ["application/pdf"]
    assert detail["additions"][0]["text"] == "Second visit, same demand."
    assert client.get(detail["additions"][0]["evidence"][0]["download"]).status_code == 200


@pytest.mark.parametrize("name", NOT_READERS)
def test_nobody_else_reads_evidence_or_additions(cast, people, name):
    report, later = _with_addition(cast)
    client = page_client(people[name])
    for url in (
        reverse("inspector:report-evidence", args=[report.pk, later.pk]),
        f"{API}{report.pk}/evidence/{later.pk}/",
        f"{API}{report.pk}/",
    ):
        response = client.get(url)
        # Logged out: the page asks for a login (as every console page does), the API says 401.
        expected = {302, 401, 404} if name is None else {404}
        assert response.status_code in expected, (url, response)
        assert b"Second visit" not in (b"" if response.streaming else response.content)


# --- anonymity ----------------------------------------------------------------------------------


def test_an_addition_keeps_nothing_of_its_sender(cast, caplog, time_machine):
    """Sent by a logged-in user from a marked address and browser, with a telling file name, at
    an exact time: none of it is in any row that changed, nor in the logs."""
    report = report_about_acme(cast)
    sender = UserFactory(username="zed_whistle_marker", email="zed@marker.example")
    client = page_client(sender)
    before = _tables()
    caplog.set_level(logging.DEBUG)
    time_machine.move_to(FILED_AT, tick=False)
    response = client.post(
        PAGE_ADD,
        {
            "receipt": report.receipt,
            "text": "One more thing.",
            "files": [upload("zed_whistle_marker_scan.pdf", PDF)],
        },
        **MARKED,
    )
    assert response.status_code == 200
    changed = [
        (table, row)
        for table, rows in _tables().items()
        for row in rows
        if row not in before.get(table, [])
    ]
    assert any(table == "compliance_reportaddition" for table, _ in changed)
    for table, row in changed:
        for marker in [*_identity_markers(sender), *_fine_times(), str(sender.pk) + " |"]:
            assert marker not in row, f"{marker!r} in {table}: {row}"
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for marker in _identity_markers(sender):
        assert marker not in logged, marker
    stored = ReportEvidence.objects.get()
    assert stored.added_at == dt.datetime(2026, 12, 7, tzinfo=FILED_AT.tzinfo)
