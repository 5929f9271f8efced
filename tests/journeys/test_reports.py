"""Journey 5: an administrator exports the quarterly report as XLSX and as PDF."""

import io
from pathlib import Path

import openpyxl
import pypdf
from django.utils import translation
from playwright.sync_api import expect

from reports import exports
from tests.journeys.conftest import JOURNEY

pytestmark = JOURNEY

QUARTER = "2026-Q4"  # the journeys run on Monday 16 November 2026


def download(journey, link_text: str):
    """Click a download link; the file's suggested name and its bytes."""
    with journey.page.expect_download() as event:
        journey.page.locator("main .page-head").get_by_role("link", name=link_text).click()
    return event.value.suggested_filename, Path(event.value.path()).read_bytes()


def test_admin_exports_quarterly_report(journey, cast, request_in):
    page, t = journey.page, journey.t
    request_in("closed")
    request_in("rectifying")
    request_in("submitted")

    journey.login(cast.ada)
    journey.nav(t("Reports"))
    journey.expect_heading(t("Quarterly report %(label)s", label=QUARTER))
    received = page.locator(".card.figure", has_text=t("Received")).first
    expect(received.locator(".figure-value")).to_have_text("3")
    journey.shot("dashboard")

    name, body = download(journey, "XLSX")
    assert name == f"quarterly-{QUARTER}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).active
    header, total, *_rest = sheet.iter_rows(values_only=True)
    assert header[:2] == (t("Breakdown"), t("Name"))
    figures = dict(zip(header, total, strict=True))
    assert figures[t("Breakdown")] == t("Total")
    with translation.override(journey.language):
        headings = dict(exports.report_columns())  # "Received (requests)": unique headings
    assert (figures[headings["received"]], figures[headings["closed"]]) == (3, 1)

    name, body = download(journey, t("PDF for printing"))
    assert name == f"quarterly-{QUARTER}.pdf"
    pdf = pypdf.PdfReader(io.BytesIO(body))
    text = "".join(p.extract_text() for p in pdf.pages)
    assert QUARTER in text
    assert t("The whole city") in text
    journey.shot("exported")
