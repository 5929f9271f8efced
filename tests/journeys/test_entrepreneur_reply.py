"""Journey 12: the entrepreneur reads the department's reply in full, with its documents, above
Accept and Reject; previews the photo that came with it; and accepts with a rating."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import expect

from requests_app.attachments import add_attachment
from requests_app.models import ServiceRequest, Status
from requests_app.workflow import TRANSITIONS, transition
from tests.factories import ServiceRequestFactory
from tests.journeys.conftest import JOURNEY

pytestmark = JOURNEY

ANSWER = (
    "Filled the potholes of the last 300 metres and repainted the lines.\n"
    "The drain at the gate was cleared and raised by 10 cm."
)


def photo() -> bytes:
    picture = io.BytesIO()
    Image.new("RGB", (320, 240), "seagreen").save(picture, format="PNG")
    return picture.getvalue()


def test_entrepreneur_reads_the_reply_previews_a_photo_and_accepts(journey, cast):
    page, t = journey.page, journey.t
    road = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title="Road to the gate")
    transition(road.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank)
    transition(road.pk, "start", by=cast.hank)
    transition(road.pk, "feedback", by=cast.hank, message=ANSWER)
    road = ServiceRequest.objects.get(pk=road.pk)
    add_attachment(
        road,
        by=cast.hank,
        upload=SimpleUploadedFile("repaved-road.png", photo(), content_type="image/png"),
    )

    journey.login(cast.alice)
    journey.click_link("Road to the gate")
    journey.expect_status(Status.FEEDBACK.label)
    answer = page.locator("section.answer")
    expect(answer.locator("h2")).to_have_text(t("The department's answer"))
    for line in ANSWER.splitlines():
        expect(answer.locator(".description")).to_contain_text(line)
    expect(answer).to_contain_text(cast.hank.display_name)
    expect(answer.locator("ul.files")).to_contain_text("repaved-road.png")
    # The photo sent with the answer shows as a thumbnail, as in the attachments below.
    expect(answer.locator("ul.files img.thumb")).to_have_count(1)
    # Read before judging: the answer stands above the Accept and Reject forms.
    actions = page.locator("section[aria-labelledby='h-actions']")
    for label in (t("Accept the answer"), t("Reject the answer")):
        # Exactly: in Chinese "认可答复" (accept) is part of "不认可答复" (reject).
        expect(actions.locator(f'summary:text-is("{label}")')).to_have_count(1)
    assert answer.bounding_box()["y"] < actions.bounding_box()["y"]
    journey.shot("reply-in-full")

    # The photo opens in a tab of its own, as an image.
    files = page.locator("section[aria-labelledby='h-files'] ul.files")
    expect(files.locator("img.thumb")).to_have_count(1)
    with page.context.expect_page() as opened:
        files.get_by_role("link", name="repaved-road.png").click()
    preview = opened.value
    preview.wait_for_load_state()
    size = preview.evaluate(
        "() => [document.images[0].naturalWidth, document.images[0].naturalHeight]"
    )
    assert size[0] > 0 and size[1] > 0
    preview.close()
    journey.shot("photo-previewed")

    journey.act(t("Accept the answer"), choose={"review_accept-rating": t("4 — satisfied")})
    journey.expect_message(t("Done: %(action)s.", action=t(TRANSITIONS["review"].label)))
    journey.expect_status(Status.CLOSED.label)
    rating = page.locator("dl.facts dt", has_text=t("Rating"))
    expect(rating.locator("xpath=following-sibling::dd[1]")).to_have_text("4 / 5")
    journey.shot("accepted-with-rating")
    road.refresh_from_db()
    assert (road.status, road.rating) == (Status.CLOSED, 4)
