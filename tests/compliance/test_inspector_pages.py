"""Pages: filing and following a report (logged in or not), and the inspector's console —
alerts, findings, cases with the request's verified timeline, decisions with errors shown next
to their fields, confidential reports."""

import re

import pytest
from django.urls import reverse

from compliance import receipts
from compliance.models import (
    CaseDecision,
    CaseNote,
    CaseStatus,
    ConfidentialReport,
    Finding,
    ReportStatus,
    Severity,
)
from requests_app.models import RequestEvent
from tests.compliance.inspection_helpers import (
    REPORT_TEXT,
    breach_case,
    page_client,
    receipt_shown,
    report_about_acme,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_throttles")]


# --- filing and following ------------------------------------------------------------------------


@pytest.mark.parametrize("name", [None, "alice"])
def test_anyone_files_a_report_and_sees_the_receipt_once(cast, people, name):
    client = page_client(people[name])
    url = reverse("inspector:report-file")
    assert client.get(url).status_code == 200
    response = client.post(url, {"kind": "foot_dragging", "text": "Three weeks for a stamp."})
    assert response.status_code == 200
    report = ConfidentialReport.objects.get()
    receipt = receipt_shown(response.content.decode())
    assert report.receipt_digest == receipts.digest(receipt)
    # Logged out: anonymous. Logged in: named (anonymity is the logged-out form's, see
    # test_anonymity.py).
    assert report.reporter == people[name]
    follow = client.post(reverse("inspector:report-status"), {"receipt": receipt})
    assert follow.status_code == 200
    assert str(ReportStatus.RECEIVED.label) in follow.content.decode()


def test_a_named_report_from_the_page_keeps_the_entrepreneur(cast, people):
    client = page_client(people["alice"])
    client.post(
        reverse("inspector:report-file"),
        {"kind": "other", "text": "Named.", "enterprise": cast.acme.pk},
    )
    report = ConfidentialReport.objects.get()
    assert (report.reporter, report.anonymous, report.region) == (cast.alice, False, "gulou")


def test_form_errors_are_shown_next_to_the_fields_and_nothing_is_stored(cast):
    response = page_client(None).post(reverse("inspector:report-file"), {"kind": "bribery"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="err-id_kind"' in html and 'id="err-id_text"' in html
    assert not ConfidentialReport.objects.exists()


def test_an_unknown_receipt_says_so(cast):
    response = page_client(None).post(reverse("inspector:report-status"), {"receipt": "nope"})
    assert response.status_code == 400
    assert 'id="err-id_receipt"' in response.content.decode()


# --- the console ---------------------------------------------------------------------------------


CONSOLE = ["alerts", "findings", "cases", "search", "officials"]


@pytest.mark.parametrize("page", CONSOLE)
@pytest.mark.parametrize("name", ["alice", "liam", "hank", "leona"])
def test_the_console_is_for_inspectors_and_administrators(people, name, page):
    assert page_client(people[name]).get(reverse(f"inspector:{page}")).status_code == 403


@pytest.mark.parametrize("page", CONSOLE)
@pytest.mark.parametrize("name", ["gina", "ivan", "ada"])
def test_the_console_pages_render(people, name, page):
    assert page_client(people[name]).get(reverse(f"inspector:{page}")).status_code == 200


def test_alerts_show_violations_new_cases_and_new_reports(cast, people):
    Finding.objects.create(
        rule_code="N01",
        severity=Severity.VIOLATION,
        message="Gift card accepted (alert-marker)",
        official=cast.hank,
        enterprise=cast.acme,
        region="gulou",
    )
    Finding.objects.create(
        rule_code="N01",
        severity=Severity.VIOLATION,
        message="Elsewhere (minhou-marker)",
        enterprise=cast.globex,
        region="minhou",
    )
    case = breach_case(cast, cause="Breach (case-marker)")
    report = report_about_acme(cast)
    html = page_client(people["gina"]).get(reverse("inspector:alerts")).content.decode()
    assert "alert-marker" in html and "case-marker" in html
    assert reverse("inspector:report", args=[report.pk]) in html
    assert "minhou-marker" not in html
    assert reverse("inspector:case", args=[case.pk]) in html


def test_the_findings_list_is_scoped_and_filtered(cast, people):
    for severity, region in [("violation", "gulou"), ("info", "gulou"), ("violation", "minhou")]:
        Finding.objects.create(
            rule_code="P06", severity=severity, message=f"{severity}-{region}", region=region
        )
    html = (
        page_client(people["gina"])
        .get(reverse("inspector:findings"), {"severity": "violation"})
        .content.decode()
    )
    assert "violation-gulou" in html
    assert "info-gulou" not in html and "violation-minhou" not in html


def test_a_case_shows_the_requests_full_timeline_and_its_verification(cast, people, request_in):
    service_request = request_in("rectifying")
    case = breach_case(cast, request=service_request)
    html = page_client(people["gina"]).get(reverse("inspector:case", args=[case.pk])).content
    html = html.decode()
    assert service_request.reference in html
    events = RequestEvent.objects.filter(request=service_request)
    for event in events:
        assert event.hash[:12] in html
    assert f"{events.count()} events verified" in html


def test_a_tampered_timeline_shows_on_the_case(cast, people, request_in):
    service_request = request_in("rectifying")
    case = breach_case(cast, request=service_request)
    event = RequestEvent.objects.filter(request=service_request).order_by("seq")[1]
    RequestEvent.objects.filter(pk=event.pk).update(note="rewritten")
    html = page_client(people["gina"]).get(reverse("inspector:case", args=[case.pk])).content
    assert f"Event #{event.seq}&#x27;s content was changed." in html.decode()
    assert "History altered" in html.decode()


def test_an_inspector_takes_notes_and_decides_through_the_page(cast, people):
    case = breach_case(cast)
    client = page_client(people["gina"])
    act = lambda action, data=None: client.post(  # noqa: E731
        reverse("inspector:case-act", args=[case.pk, action]), data or {}
    )
    assert act("take").status_code == 302
    assert act("note", {"text": "Met the handler."}).status_code == 302
    assert CaseNote.objects.get().text == "Met the handler."
    bad = act("decide", {"outcome": "tolerated", "reasoning": "Good faith."})
    assert bad.status_code == 400
    assert 'id="err-id_distinction_reform"' in bad.content.decode()
    assert not CaseDecision.objects.exists()
    done = act("decide", {"outcome": "accountable", "measure": "criticism", "reasoning": "Late."})
    assert done.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    again = act("decide", {"outcome": "cleared", "reasoning": "On second thought."})
    assert again.status_code == 302  # refused with a message; the decision stands
    assert CaseDecision.objects.count() == 1
    corrected = act("correct", {"outcome": "cleared", "reasoning": "New evidence."})
    assert corrected.status_code == 302
    assert CaseDecision.objects.filter(corrects__isnull=False).count() == 1
    html = client.get(reverse("inspector:case", args=[case.pk])).content.decode()
    assert "New evidence." in html and "Late." in html


def test_an_administrator_reads_a_case_page_without_forms(cast, people):
    case = breach_case(cast)
    html = page_client(people["ada"]).get(reverse("inspector:case", args=[case.pk])).content
    for action in ("take", "note", "decide"):
        assert reverse("inspector:case-act", args=[case.pk, action]).encode() not in html
    response = page_client(people["ada"]).post(
        reverse("inspector:case-act", args=[case.pk, "take"])
    )
    assert response.status_code == 403


def test_an_outside_inspector_gets_404_on_the_case_page(cast, people):
    case = breach_case(cast)
    assert (
        page_client(people["irene"]).get(reverse("inspector:case", args=[case.pk])).status_code
        == 404
    )


def test_the_report_pages_move_the_status_and_open_a_case(cast, people):
    report = report_about_acme(cast)
    client = page_client(people["gina"])
    assert REPORT_TEXT not in client.get(reverse("inspector:reports")).content.decode()
    assert REPORT_TEXT in client.get(reverse("inspector:report", args=[report.pk])).content.decode()
    opened = client.post(
        reverse("inspector:report-act", args=[report.pk, "open-case"]), {"official": cast.hank.pk}
    )
    case = report.cases.get()
    assert opened.status_code == 302 and opened.url == reverse("inspector:case", args=[case.pk])
    moved = client.post(
        reverse("inspector:report-act", args=[report.pk, "move"]), {"status": "closed"}
    )
    assert moved.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.CLOSED
    bad = client.post(reverse("inspector:report-act", args=[report.pk, "move"]), {"status": "x"})
    assert bad.status_code == 400


@pytest.mark.parametrize("page", ["inspector:reports", "inspector:cases", "inspector:findings"])
def test_the_console_tables_stack_into_labelled_rows_on_a_phone(cast, people, page):
    """On a phone a table's rows stack (`.rows`, static/css/qinqing.css): each cell names its
    column (`data-label`, the header's words), but the row's title."""
    Finding.objects.create(
        rule_code="N01",
        severity=Severity.VIOLATION,
        message="Gift card accepted",
        official=cast.hank,
        enterprise=cast.acme,
        region="gulou",
    )
    breach_case(cast, cause="Breach")
    report_about_acme(cast)
    html = page_client(people["gina"]).get(reverse(page)).content.decode()
    table = html[html.index('<table class="rows">') : html.index("</table>")]
    headers = re.findall(r'<th scope="col">([^<]+)</th>', table)
    body = table[table.index("<tbody") :]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    assert rows and headers
    for row in rows:
        cells = re.findall(r"<td([^>]*)>", row)
        assert len(cells) == len(headers)
        labels = [re.search(r'data-label="([^"]*)"', cell) for cell in cells]
        for cell, label, header in zip(cells, labels, headers, strict=True):
            assert label is not None or 'class="title"' in cell, (page, header)
            assert label is None or label.group(1) == header
