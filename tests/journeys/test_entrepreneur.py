"""Journey 1: an entrepreneur claims their enterprise, files a request, answers, reviews."""

import re
from pathlib import Path

from playwright.sync_api import expect

from officials.claims import verify_claim
from officials.models import Enterprise, EnterpriseClaim, Role
from requests_app.models import ServiceRequest, Status
from requests_app.workflow import TRANSITIONS, transition
from tests.factories import ServiceRequestFactory, UserFactory, credit_code
from tests.journeys.conftest import JOURNEY

pytestmark = JOURNEY

# A one-page PDF, small but real: uploads are judged by their content, not by their name.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
ENTERPRISE = "Minjiang Tea Co., Ltd."


def label(action: str):
    return TRANSITIONS[action].label


def test_entrepreneur_registers_files_answers_and_reviews(journey, cast):
    erin = UserFactory(username="erin", name="Erin Lin", role=Role.ENTREPRENEUR)
    ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)  # not Erin's: never shown to her
    page, t = journey.page, journey.t
    good_code = credit_code(4242)
    # The same code with a wrong check character: 18 valid characters, a failing checksum.
    bad_code = good_code[:17] + ("0" if good_code[17] != "0" else "1")

    journey.login(erin)
    journey.expect_heading(t("My requests"))
    expect(page.locator("main .empty")).to_have_text(t("Nothing here."))
    journey.shot("my-requests-empty")

    # The claim page (its own journey, with the liaison's side: test_accounts.py).
    journey.go("/enterprises/new/")
    journey.expect_heading(t("Claim an enterprise"))
    page.locator("#id_name").fill(ENTERPRISE)
    page.locator("#id_credit_code").fill(bad_code)
    page.locator("#id_region").select_option("gulou")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#err-credit_code")).to_contain_text(
        t("This unified social credit code fails its check character; please check it.")
    )
    expect(page.locator("#id_credit_code")).to_have_attribute("aria-invalid", "true")
    assert not EnterpriseClaim.objects.filter(name=ENTERPRISE).exists()
    journey.shot("credit-code-refused")

    page.locator("#id_credit_code").fill(good_code)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{journey.base_url}/accounts/profile/")
    claim = EnterpriseClaim.objects.get(name=ENTERPRISE)
    assert not Enterprise.objects.filter(name=ENTERPRISE).exists()  # nothing before verification
    journey.shot("enterprise-claimed")

    # The administrator verifies the claim, which registers the enterprise in its region.
    verify_claim(claim_id=claim.pk, by=cast.ada)
    journey.go("/requests/new/")
    journey.expect_heading(t("File a request"))
    expect(page.locator("main form")).to_contain_text(t("Filed for %(name)s.", name=ENTERPRISE))
    journey.shot("enterprise-verified")

    page.locator("#id_category").select_option("infrastructure")
    page.locator("#id_title").fill("The road to our tea factory is flooded")
    page.locator("#id_description").fill("Since the storm the lorries cannot reach the gate.")
    page.locator("#id_files").set_input_files(
        {"name": "flooded-road.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name=t("File the request"), exact=True).click()
    request = ServiceRequest.objects.get(enterprise__name=ENTERPRISE)
    journey.expect_message(t("Request %(ref)s filed.", ref=request.reference))
    journey.expect_status(Status.SUBMITTED.label)
    # A PDF's name opens it in the browser's viewer; its "Download" link downloads it.
    preview = page.locator("ul.files").get_by_role("link", name="flooded-road.pdf")
    expect(preview).to_have_attribute("href", re.compile(r"/view/$"))
    with page.expect_download() as download:
        page.locator("ul.files").get_by_role("link", name=t("Download"), exact=True).click()
    assert download.value.suggested_filename == "flooded-road.pdf"
    assert Path(download.value.path()).read_bytes() == PDF
    journey.shot("request-filed")

    # The portal routes it and the handler asks a question (their own pages are journey 2).
    transition(request.pk, "assign", by=cast.ada, department=cast.roads, handler=cast.hank)
    transition(request.pk, "start", by=cast.hank)
    transition(request.pk, "request_info", by=cast.hank, question="Which gate do lorries use?")

    page.reload()
    journey.expect_status(Status.INFO_NEEDED.label)
    expect(page.locator("main .badge.paused")).to_have_text(t("Clock paused"))
    expect(page.locator("ol.timeline")).to_contain_text("Which gate do lorries use?")
    journey.shot("question-asked")

    journey.act(t(label("provide_info")), {"provide_info-answer": "The east gate, on Xihu Road."})
    journey.expect_message(t("Done: %(action)s.", action=t(label("provide_info"))))
    journey.expect_status(Status.RECTIFYING.label)
    expect(page.locator("ol.timeline")).to_contain_text(t("Information provided"))
    journey.shot("question-answered")

    transition(request.pk, "feedback", by=cast.hank, message="Pumped the water out.")
    page.reload()
    journey.expect_status(Status.FEEDBACK.label)
    expect(page.locator("ol.timeline")).to_contain_text("Pumped the water out.")
    journey.act(
        t("Reject the answer"),
        {"review_reject-comment": "The drain is still blocked; it floods again with every rain."},
    )
    journey.expect_message(t("Done: %(action)s.", action=t(label("review"))))
    journey.expect_status(Status.RECTIFYING.label)
    reopened = page.locator("dl.facts dt", has_text=t("Times reopened"))
    expect(reopened.locator("xpath=following-sibling::dd[1]")).to_have_text("1")
    journey.shot("feedback-rejected")

    transition(request.pk, "feedback", by=cast.hank, message="Cleared the drain and raised it.")
    page.reload()
    journey.expect_status(Status.FEEDBACK.label)
    journey.act(t("Accept the answer"), choose={"review_accept-rating": t("5 — very satisfied")})
    journey.expect_message(t("Done: %(action)s.", action=t(label("review"))))
    journey.expect_status(Status.CLOSED.label)
    rating = page.locator("dl.facts dt", has_text=t("Rating"))
    expect(rating.locator("xpath=following-sibling::dd[1]")).to_have_text("5 / 5")
    journey.shot("feedback-accepted")

    request.refresh_from_db()
    assert (request.status, request.reopen_count, request.rating) == (Status.CLOSED, 1, 5)
    assert request.attachments.get().original_name == "flooded-road.pdf"
    assert erin.enterprises.get().credit_code == good_code
