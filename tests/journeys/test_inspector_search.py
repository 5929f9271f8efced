"""Journey 11: an inspector searches the case histories, follows a hit to its request and to its
accountability case, and reads the history of the official concerned."""

from io import StringIO

from django.core.management import call_command
from playwright.sync_api import expect

from compliance.models import AccountabilityCase
from requests_app.models import Status
from requests_app.presenters import EVENT_LABELS
from requests_app.workflow import transition
from tests.conftest import at
from tests.factories import ServiceRequestFactory
from tests.journeys.conftest import JOURNEY

pytestmark = JOURNEY

ROAD = "Road to the plant gate is broken"
OTHER = "Water cut at night"


def test_inspector_searches_follows_a_hit_and_reads_histories(journey, cast, time_machine):
    page, t = journey.page, journey.t
    road = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title=ROAD)
    ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title=OTHER)
    transition(road.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank)
    transition(road.pk, "start", by=cast.hank)
    # Thursday 10:00: the answer is an hour late, and the sweep opens an accountability case.
    time_machine.move_to(at("2026-11-19 10:00"), tick=False)
    out = StringIO()
    call_command("escalate", stdout=out)
    case = AccountabilityCase.objects.get(request=road)

    journey.login(cast.ivan)
    journey.nav(t("Inspector console"))
    journey.check_accessibility()
    page.locator("main nav.tabs").get_by_role("link", name=t("Search case histories")).click()
    journey.expect_heading(t("Search case histories"))
    search = page.locator("main form.filters")
    search.locator("input[name=text]").fill("plant gate")
    search.get_by_role("button", name=t("Search"), exact=True).click()
    hit = page.locator(f"section[aria-labelledby='h-history-{road.pk}']")
    expect(hit).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(OTHER)
    expect(hit.locator(".badge.ok").first).to_contain_text(str(road.events.count()))
    journey.shot("search-hit")

    # The hit's timeline unfolds in place.
    hit.locator("details > summary").click()
    expect(hit.locator("ol.timeline")).to_contain_text(t(EVENT_LABELS["accountability_opened"]))
    journey.shot("hit-timeline")

    # To the request itself, and back to the hit.
    hit.locator("h2 a").click()
    journey.expect_status(Status.RECTIFYING.label)
    expect(page.locator("main h1")).to_contain_text(road.reference)
    journey.shot("hit-request")
    page.go_back()
    journey.check_accessibility()

    # To its case.
    page.locator("main").get_by_role("link", name=f"#{case.pk} ").first.click()
    journey.expect_heading(t("Case #%(n)s", n=case.pk))
    journey.shot("hit-case")

    # The official concerned: every interaction, record, finding and case of theirs.
    journey.go("/inspector/officials/")
    journey.expect_heading(t("Officials"))
    journey.click_link(cast.hank.display_name)
    journey.expect_heading(cast.hank.display_name)
    expect(page.locator("main")).to_contain_text(t("Interactions, records, findings and cases"))
    journey.shot("official-history")
