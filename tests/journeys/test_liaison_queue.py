"""Journey 8: a liaison's queue day — sort a column, save the filters as "my view" and reopen it,
assign two requests at once (the handler picker follows the department), merge a duplicate."""

import datetime as dt

from django.utils import translation
from playwright.sync_api import expect

from requests_app.models import SavedView, ServiceRequest, Status
from requests_app.workflow import TRANSITIONS
from tests.factories import ServiceRequestFactory, category
from tests.journeys.conftest import JOURNEY

pytestmark = JOURNEY

FIRST = "Streetlights out on the plant road"
SECOND = "Potholes at the loading bay"
DUPLICATE = "Streetlights still out on the plant road"
HIRING = "Hiring fair for welders"
VIEW_NAME = "Roads"


def label(action: str):
    return TRANSITIONS[action].label


def test_liaison_sorts_saves_a_view_assigns_in_bulk_and_merges(journey, cast, time_machine):
    page, t = journey.page, journey.t
    # Filed an hour apart, so the "Filed on" column has an order to turn around.
    first = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title=FIRST)
    time_machine.shift(dt.timedelta(hours=1))
    second = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title=SECOND)
    time_machine.shift(dt.timedelta(hours=1))
    duplicate = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title=DUPLICATE)
    ServiceRequestFactory(
        enterprise=cast.acme, by=cast.alice, title=HIRING, category=category("labor")
    )
    time_machine.shift(dt.timedelta(hours=1))

    journey.login(cast.liam)
    journey.expect_heading(t("Queue of my enterprises"))
    rows = page.locator("table.rows tbody tr")
    expect(rows).to_have_count(4)

    # Sorting by the day filed: newest first, then turned around to oldest first.
    filed = page.locator("table.rows thead th", has_text=t("Filed on"))
    filed.get_by_role("link").click()
    expect(filed).not_to_have_attribute("aria-sort", "none")
    direction = filed.get_attribute("aria-sort")
    journey.check_accessibility()
    titles = rows.locator("td.title a").all_inner_texts()
    filed.get_by_role("link").click()
    expect(filed).not_to_have_attribute("aria-sort", direction)
    expect(rows.locator("td.title a")).to_have_text(list(reversed(titles)))
    first_row = FIRST if filed.get_attribute("aria-sort") == "ascending" else HIRING
    expect(rows.first).to_contain_text(first_row)
    journey.shot("queue-sorted")

    # Roads only, saved as a view of her own, then reopened from a bare queue.
    page.locator("#f-category").select_option("infrastructure")
    page.get_by_role("button", name=t("Filter"), exact=True).click()
    expect(rows).to_have_count(3)
    journey.check_accessibility()
    page.locator("#view-name").fill(VIEW_NAME)
    page.get_by_role("button", name=t("Save view"), exact=True).click()
    journey.expect_message(t("View “%(name)s” saved.", name=VIEW_NAME))
    assert SavedView.objects.filter(user=cast.liam, name=VIEW_NAME).exists()
    journey.go("/requests/")
    expect(rows).to_have_count(4)
    journey.check_accessibility()
    chip = page.locator("section.saved-views").get_by_role("link", name=VIEW_NAME)
    chip.click()
    expect(chip).to_have_attribute("aria-current", "true")
    expect(page.locator("#f-category")).to_have_value("infrastructure")
    expect(rows).to_have_count(3)
    expect(page.locator("table.rows")).not_to_contain_text(HIRING)
    journey.shot("my-view-reopened")

    # The first two to the Roads Bureau's Hank at once: the picker offers Roads' handlers only.
    for request in (first, second):
        page.locator(f"input[name='ids'][value='{request.pk}']").check()
    bar = page.locator("fieldset.bulk-bar")
    bar.locator("#bulk-action").select_option("assign")
    bar.locator("#bulk-department").select_option(str(cast.roads.pk))
    handler = bar.locator("#bulk-handler")
    expect(handler.locator(f"option[value='{cast.hank.pk}']")).to_be_enabled()
    expect(handler.locator(f"option[value='{cast.hugo.pk}']")).to_be_disabled()
    handler.select_option(str(cast.hank.pk))
    journey.shot("bulk-assign-ready")
    journey.check_accessibility()
    bar.get_by_role("button", name=t("Apply to the ticked requests"), exact=True).click()
    with translation.override(journey.language):
        done = translation.ngettext(
            "%(action)s: %(count)s request done (%(refs)s).",
            "%(action)s: %(count)s requests done (%(refs)s).",
            2,
        ) % {
            "action": translation.gettext(label("assign")),
            "count": 2,
            "refs": f"{first.reference}, {second.reference}",
        }
    journey.expect_message(done)
    for request in (first, second):
        request.refresh_from_db()
        assert (request.status, request.department, request.handler) == (
            Status.ASSIGNED,
            cast.roads,
            cast.hank,
        )
    journey.shot("bulk-assigned")

    # The duplicate: the merge form offers acme's open requests by number and title.
    journey.click_link(DUPLICATE)
    journey.expect_status(Status.SUBMITTED.label)
    merge = page.locator(
        "details.action", has=page.locator(f'summary:text-is("{t(label("merge"))}")')
    )
    merge.locator("summary").click()
    offered = merge.locator("datalist option")
    expect(merge.locator(f"datalist option[value='{first.reference}']")).to_have_text(FIRST)
    expect(merge.locator(f"datalist option[value='{duplicate.reference}']")).to_have_count(0)
    assert offered.count() >= 2
    journey.shot("merge-offers")
    journey.act(t(label("merge")), {"merge-into": first.reference})
    journey.expect_message(t("Done: %(action)s.", action=t(label("merge"))))
    journey.expect_status(Status.MERGED.label)
    merged_into = page.locator("dl.facts dt", has_text=t("Merged into"))
    expect(merged_into.locator("xpath=following-sibling::dd[1]")).to_have_text(first.reference)
    journey.shot("merged")

    duplicate = ServiceRequest.objects.get(pk=duplicate.pk)
    assert (duplicate.status, duplicate.merged_into_id) == (Status.MERGED, first.pk)
