"""Journey 10: an anonymous visitor — the public home page (the 133 promise, last quarter's
results, the lists), a confidential report filed anonymously, its receipt copied with the copy
button, the status followed by the receipt, and information and an evidence file added later."""

import io

from PIL import Image
from playwright.sync_api import expect

from compliance.models import ConfidentialReport, ReportStatus
from tests.journeys.conftest import JOURNEY

pytestmark = JOURNEY


def png() -> bytes:
    """A real PNG: evidence is judged by its content, not by its name."""
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(picture, format="PNG")
    return picture.getvalue()


REPORT = "The permit clerk asked for a 'fee' in cash before stamping our form."
ADDED = "It happened again on Friday, at the same counter."


def test_visitor_reads_home_reports_in_confidence_and_follows_by_receipt(journey, cast):
    page, t = journey.page, journey.t
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=journey.base_url)

    journey.go("/")
    journey.expect_heading(t("Qinqing: every enterprise's problem, followed to the end"))
    promise = page.locator("section[aria-labelledby='h-promise']")
    expect(promise.locator("h2")).to_have_text(t("Our promise: the 133 rule"))
    expect(promise.locator("ol.promise li")).to_have_count(3)
    results = page.locator("section[aria-labelledby='h-results']")
    expect(results.locator(".stat")).to_have_count(6)
    expect(results).to_contain_text(
        t("Totals for the whole city only; no enterprise or person is named.")
    )
    journey.shot("home")

    # The public lists, and back.
    journey.click_link(t("The positive and negative lists"))
    expect(page.locator("main h1")).to_be_visible()
    journey.shot("lists")
    page.go_back()
    journey.check_accessibility()

    # A report in confidence: logged out, it is the anonymous form.
    journey.click_link(t("Report misconduct in confidence"))
    journey.expect_heading(t("Report misconduct anonymously"))
    form = page.locator("main form.stamped")
    form.locator("select[name=kind]").select_option(index=1)
    form.locator("textarea[name=text]").fill(REPORT)
    form.locator("input[name=official_name]").fill("Clerk at counter 3")
    journey.shot("report-form")
    journey.check_accessibility()
    form.get_by_role("button", name=t("Send the report"), exact=True).click()
    journey.expect_heading(t("Report received"))
    receipt = page.locator("#receipt").inner_text().strip()
    report = ConfidentialReport.objects.get()
    assert report.anonymous and report.text == REPORT

    page.get_by_role("button", name=t("Copy the receipt"), exact=True).click()
    expect(page.locator("#receipt-copied")).to_have_text(t("The receipt was copied."))
    assert page.evaluate("navigator.clipboard.readText()").strip() == receipt
    journey.shot("receipt-copied")

    # Later: the status, by the receipt typed in lower case and without dashes.
    journey.click_link(t("Follow a report"))
    journey.expect_heading(t("Follow a confidential report"))
    status_form = page.locator('main form[action="/confidential-report/status/"]')
    status_form.locator("input[name=receipt]").fill(receipt.replace("-", "").lower())
    status_form.get_by_role("button", name=t("Show the status"), exact=True).click()
    status = page.locator("section[aria-labelledby='h-status']")
    expect(status.locator(".badge.status")).to_have_text(t(ReportStatus(report.status).label))
    expect(page.locator("section[aria-labelledby='h-added']")).to_contain_text(
        t("Nothing added yet.")
    )
    journey.shot("report-status")

    add = page.locator('main form[action="/confidential-report/status/add/"]')
    add.locator("textarea[name=text]").fill(ADDED)
    add.locator("input[type=file]").set_input_files(
        {"name": "counter.png", "mimeType": "image/png", "buffer": png()}
    )
    journey.check_accessibility()
    add.get_by_role("button", name=t("Send the addition"), exact=True).click()
    added = page.locator("section[aria-labelledby='h-added']")
    expect(added).to_contain_text(t("Your addition was sent to the inspectors."))
    expect(added).to_contain_text(ADDED)
    expect(added.locator("ol.files li ul li")).to_have_count(1)
    expect(added).not_to_contain_text("counter.png")  # the file's name is not kept
    journey.shot("addition-sent")
    journey.check_accessibility()
