"""Journey 6: an extension refused with a reason; a follow-up call that closes, and the
enterprise's dispute that reopens.

Each runs in both languages (the `journey` fixture): every key label is in the journey's
language, and none of them shows up in the other one.
"""

import datetime as dt

from django.utils import translation
from playwright.sync_api import expect

from requests_app.models import ExtensionState, ServiceRequest, Status
from requests_app.presenters import EVENT_LABELS
from requests_app.workflow import TRANSITIONS
from tests.conftest import drive
from tests.factories import ServiceRequestFactory
from tests.journeys.conftest import JOURNEY, local_input

pytestmark = JOURNEY

ROAD = "Road to the plant gate is broken"
OTHER_LANGUAGE = {"zh-hans": "en", "en": "zh-hans"}


def label(action: str):
    return TRANSITIONS[action].label


def in_other_language(journey, message) -> str:
    with translation.override(OTHER_LANGUAGE[journey.language]):
        return translation.gettext(message) if isinstance(message, str) else str(message)


def expect_only_this_language(journey, messages) -> None:
    """None of these labels shows up as the other language words it."""
    text = journey.page.locator("main").inner_text()
    wrong = [
        in_other_language(journey, m) for m in messages if in_other_language(journey, m) in text
    ]
    assert not wrong, f"{journey.language} page shows {wrong}"


def test_the_approver_refuses_an_extension_and_the_handler_sees_why(journey, cast):
    page, t = journey.page, journey.t
    road = drive(
        cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title=ROAD), "rectifying"
    )
    key_labels = [label("extend"), label("refuse_extension"), EVENT_LABELS["refuse_extension"]]

    # The handler needs two more weeks and asks for them with a plan.
    journey.login(cast.hank)
    journey.click_link(ROAD)
    journey.act(
        t(label("extend")),
        {
            "extend-until": local_input(road.answer_due_at + dt.timedelta(days=14)),
            "extend-plan": "Week 1: survey. Week 2: repave the 300 m.",
        },
    )
    journey.expect_message(t("Done: %(action)s.", action=t(label("extend"))))
    expect(page.locator("dl.facts")).to_contain_text(t(ExtensionState.PENDING.label))
    journey.shot("extension-asked")
    journey.logout()

    # acme's linked leader finds it waiting for her decision, and refuses it with a reason.
    journey.login(cast.leona)
    journey.nav(t("Extensions to approve"))
    row = page.locator("table.rows tbody tr", has_text=ROAD)
    expect(row).to_contain_text("Week 1: survey.")
    journey.shot("extension-waiting")
    row.get_by_role("link", name=t("Refuse…"), exact=True).click()
    journey.act(
        t(label("refuse_extension")),
        {"refuse_extension-reason": "Two weeks for 300 m is too long: one week."},
    )
    journey.expect_message(t("Done: %(action)s.", action=t(label("refuse_extension"))))
    expect(page.locator("dl.facts")).to_contain_text(t(ExtensionState.REFUSED.label))
    expect_only_this_language(journey, key_labels)
    journey.shot("extension-refused")
    journey.logout()

    # The handler sees the refusal and why, the same deadline, and may ask again.
    journey.login(cast.hank)
    journey.click_link(ROAD)
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text(t(EVENT_LABELS["refuse_extension"]))
    expect(timeline).to_contain_text("Two weeks for 300 m is too long: one week.")
    expect(page.locator("dl.facts")).to_contain_text(t(ExtensionState.REFUSED.label))
    expect(page.locator("details.action summary", has_text=t(label("extend")))).to_have_count(1)
    expect_only_this_language(journey, key_labels)
    journey.shot("handler-sees-refusal")

    refused = ServiceRequest.objects.get(pk=road.pk)
    assert refused.extension_state == ExtensionState.REFUSED
    assert refused.answer_due_at == road.answer_due_at
    assert refused.status == Status.RECTIFYING


def test_a_follow_up_call_closes_and_the_enterprise_disputes_it(journey, cast):
    page, t = journey.page, journey.t
    road = drive(
        cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title=ROAD), "feedback"
    )
    key_labels = [
        label("review"),
        label("dispute"),
        EVENT_LABELS["dispute"],
        "How the enterprise was reached",
        "Open to dispute until",
    ]

    # The liaison calls the enterprise and records what it said, with its verdict.
    journey.login(cast.liam)
    journey.click_link(ROAD)
    journey.act(
        t("Accept the answer"),
        {
            "review_accept-follow_up_contacted_at": local_input(road.answered_at),
            "review_accept-follow_up_contact_name": "Alice Wang, plant manager",
            "review_accept-follow_up_note": "The lorries get through again; she is satisfied.",
        },
        choose={
            "review_accept-follow_up_channel": t("Phone call"),
            "review_accept-rating": t("4 — satisfied"),
        },
    )
    journey.expect_message(t("Done: %(action)s.", action=t(label("review"))))
    journey.expect_status(Status.CLOSED.label)
    journey.shot("closed-on-a-call")
    journey.logout()

    # The entrepreneur reads the call on the timeline, and disputes it in time.
    journey.login(cast.alice)
    journey.click_link(ROAD)
    journey.expect_status(Status.CLOSED.label)
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text(t(EVENT_LABELS["follow_up"]))
    expect(timeline).to_contain_text("The lorries get through again; she is satisfied.")
    expect(timeline).to_contain_text("Alice Wang, plant manager")
    expect(page.locator("dl.facts")).to_contain_text(t("Open to dispute until"))
    expect_only_this_language(journey, key_labels)
    journey.shot("follow-up-on-the-timeline")
    journey.act(
        t(label("dispute")),
        {"dispute-reason": "Nobody called me: the lorries still cannot reach the gate."},
    )
    journey.expect_message(t("Done: %(action)s.", action=t(label("dispute"))))
    journey.expect_status(Status.RECTIFYING.label)
    expect(timeline).to_contain_text(t(EVENT_LABELS["dispute"]))
    reopened = page.locator("dl.facts dt", has_text=t("Times reopened"))
    expect(reopened.locator("xpath=following-sibling::dd[1]")).to_have_text("1")
    expect_only_this_language(journey, key_labels)
    journey.shot("disputed-and-reopened")

    road = ServiceRequest.objects.get(pk=road.pk)
    assert (road.status, road.reopen_count, road.rating) == (Status.RECTIFYING, 1, None)
    assert road.rated_on_follow_up is False and road.closed_at is None
