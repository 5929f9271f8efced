"""Journey 2: a liaison assigns, a handler works the request, a leader approves more time."""

import datetime as dt

from playwright.sync_api import expect

from requests_app.models import ExtensionState, ServiceRequest, Status
from requests_app.workflow import TRANSITIONS, transition
from tests.factories import ServiceRequestFactory, category
from tests.journeys.conftest import JOURNEY, local_input

pytestmark = JOURNEY

ROAD = "Road to the plant gate is broken"
HIRING = "Hiring fair for welders"


def label(action: str):
    return TRANSITIONS[action].label


def countdown(journey, left: dt.timedelta) -> str:
    """The badge text for `left` on the clock, as the page words it."""
    hours = int(left.total_seconds() // 3600)
    span = journey.t("%(days)dd %(hours)dh", days=hours // 24, hours=hours % 24)
    return journey.t("%(time)s left", time=span)


def test_liaison_assigns_handler_works_leader_approves(journey, cast, time_machine):
    page, t = journey.page, journey.t
    road = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title=ROAD)
    ServiceRequestFactory(
        enterprise=cast.acme, by=cast.alice, title=HIRING, category=category("labor")
    )
    # Another county's enterprise: never in this liaison's queue.
    ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory, title="Globex: a power cut")
    time_machine.shift(dt.timedelta(hours=2))

    # The liaison narrows the queue to roads and hands the request to the Roads Bureau.
    journey.login(cast.liam)
    journey.expect_heading(t("Queue of my enterprises"))
    rows = page.locator("table.rows tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table.rows")).not_to_contain_text("Globex")
    page.locator("#f-category").select_option("infrastructure")
    page.get_by_role("button", name=t("Filter"), exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(ROAD)
    expect(page.locator("table.rows")).not_to_contain_text(HIRING)
    journey.shot("queue-filtered")

    journey.click_link(ROAD)
    journey.expect_status(Status.SUBMITTED.label)
    journey.act(
        t(label("assign")),
        choose={
            "assign-department": cast.roads.name,
            "assign-handler": cast.hank.display_name,
        },
    )
    journey.expect_message(t("Done: %(action)s.", action=t(label("assign"))))
    journey.expect_status(Status.ASSIGNED.label)
    # Filed at 09:00 on Monday, answered by 09:00 on Thursday; it is 11:00 on Monday now.
    badge = page.locator("main p .badge.ok")
    expect(badge).to_have_text(countdown(journey, dt.timedelta(days=2, hours=22)))
    journey.shot("assigned-countdown")
    journey.logout()

    # The handler signs for it, asks the enterprise a question, and answers once it is answered.
    time_machine.shift(dt.timedelta(hours=1))
    journey.login(cast.hank)
    journey.expect_heading(t("My department's queue"))
    journey.click_link(ROAD)
    journey.act(t(label("start")))
    journey.expect_message(t("Done: %(action)s.", action=t(label("start"))))
    journey.expect_status(Status.RECTIFYING.label)
    journey.shot("signed-for")

    journey.act(t(label("request_info")), {"request_info-question": "Which stretch, in metres?"})
    journey.expect_message(t("Done: %(action)s.", action=t(label("request_info"))))
    journey.expect_status(Status.INFO_NEEDED.label)
    expect(page.locator("main .badge.paused")).to_have_text(t("Clock paused"))
    journey.shot("information-requested")

    transition(road.pk, "provide_info", by=cast.alice, answer="The last 300 metres.")
    page.reload()
    journey.expect_status(Status.RECTIFYING.label)
    expect(page.locator("ol.timeline")).to_contain_text("The last 300 metres.")
    journey.act(t(label("feedback")), {"feedback-message": "Filled the potholes of the 300 m."})
    journey.expect_message(t("Done: %(action)s.", action=t(label("feedback"))))
    journey.expect_status(Status.FEEDBACK.label)
    journey.shot("feedback-given")

    # The enterprise wants the road rebuilt, not patched: more time is needed, with a plan.
    transition(road.pk, "review", by=cast.alice, accepted=False, comment="It needs repaving.")
    road.refresh_from_db()
    until = road.answer_due_at + dt.timedelta(days=14)
    page.reload()
    journey.act(
        t(label("extend")),
        {
            "extend-until": local_input(until),
            "extend-plan": "Week 1: survey and tender. Week 2: repave the 300 m.",
        },
    )
    journey.expect_message(t("Done: %(action)s.", action=t(label("extend"))))
    expect(page.locator("dl.facts")).to_contain_text(t(ExtensionState.PENDING.label))
    journey.shot("extension-requested")
    journey.logout()

    # The linked leader approves the plan from the list of extensions waiting for a decision.
    journey.login(cast.leona)
    journey.nav(t("Extensions to approve"))
    journey.expect_heading(t("Extensions to approve"))
    row = page.locator("table.rows tbody tr", has_text=ROAD)
    expect(row).to_contain_text("Week 1: survey and tender.")
    journey.shot("extension-waiting")
    row.get_by_role("button", name=t("Approve"), exact=True).click()
    journey.expect_message(t("Done: %(action)s.", action=t(label("approve_extension"))))
    expect(page.locator("main .empty")).to_have_text(t("No extension is waiting for approval."))
    journey.nav(t("Supervision ledger"))
    expect(page.locator("main")).to_contain_text(ROAD)
    journey.shot("extension-approved-on-ledger")

    road = ServiceRequest.objects.get(pk=road.pk)
    assert road.extension_state == ExtensionState.APPROVED
    assert road.answer_due_at == until.replace(second=0, microsecond=0)
    assert road.status == Status.RECTIFYING
