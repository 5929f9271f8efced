"""Journey 3: deadlines pass, the sweep escalates, the leader is told, an inspector checks."""

from io import StringIO

from django.core.management import call_command
from django.utils import translation
from playwright.sync_api import expect

from compliance.models import AccountabilityCase, CaseDecision, CaseStatus, Outcome
from notifications.models import Notification
from requests_app.models import RequestEvent, Status
from requests_app.presenters import EVENT_LABELS
from requests_app.workflow import transition
from tests.conftest import at
from tests.factories import ServiceRequestFactory
from tests.journeys.conftest import JOURNEY

pytestmark = JOURNEY

ROAD = "Road to the plant gate is broken"
# The "three distinctions" (三个区分开来) a tolerated outcome must answer.
DISTINCTIONS = {
    "distinction_reform": "A new joint-approval procedure the bureau had not run before.",
    "distinction_trial": "No rule barred waiting for the survey.",
    "distinction_development": "The delay served the repair; nobody gained from it.",
}


def sweep() -> str:
    """One deadline sweep, as `manage.py escalate` runs it; its one-line summary."""
    out = StringIO()
    call_command("escalate", stdout=out)
    return out.getvalue()


def test_sweep_escalates_leader_is_told_inspector_verifies(journey, cast, time_machine):
    page, t = journey.page, journey.t
    # The officials read their inbox in the language of this journey.
    for person in (cast.leona, cast.ivan):
        person.language = journey.language
        person.save(update_fields=["language"])
    # Filed at 09:00 on Monday: to be assigned by Tuesday 09:00 and answered by Thursday 09:00.
    road = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title=ROAD)

    # Nobody assigns it in time; the sweep raises it to the linked leader.
    time_machine.move_to(at("2026-11-17 10:00"), tick=False)
    assert "1 escalations" in sweep()
    transition(road.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank)
    transition(road.pk, "start", by=cast.hank)
    # Thursday 10:00: the answer is an hour late, and the sweep opens an accountability case.
    time_machine.move_to(at("2026-11-19 10:00"), tick=False)
    assert "1 accountability cases opened" in sweep()
    case = AccountabilityCase.objects.get(request=road)
    assert (case.department, case.official) == (cast.roads, cast.hank)

    journey.login(cast.leona)
    journey.open_menu()  # on a phone the navigation folds behind the menu button
    inbox_link = page.locator("nav.site-nav .nav-inbox a")
    expect(inbox_link.locator(".count")).to_have_text("2")
    inbox_link.click()
    journey.expect_heading(t("Inbox"))
    escalation = t("Escalated to you: %(reference)s", reference=road.reference)
    escalated = page.locator("ul.inbox li.unread", has_text=escalation)
    opened = t("Accountability case opened: %(reference)s", reference=road.reference)
    expect(escalated).to_have_count(1)
    expect(page.locator("ul.inbox li.unread", has_text=opened)).to_have_count(1)
    journey.shot("leader-inbox")

    escalated.locator("a").click()
    journey.expect_status(Status.RECTIFYING.label)
    expect(page.locator("main p .badge.late")).to_have_text(
        t("%(time)s overdue", time=t("%(hours)dh", hours=1))
    )
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text(t(EVENT_LABELS["escalated"]))
    expect(timeline).to_contain_text(t(EVENT_LABELS["accountability_opened"]))
    journey.shot("leader-sees-escalation")
    journey.logout()

    # The inspector of the whole city is told; the inspector of another county is not.
    assert not Notification.objects.filter(recipient=cast.irene).exists()
    journey.login(cast.ivan)
    journey.open_menu()
    inbox_link.click()
    case_row = page.locator("ul.inbox li.unread", has_text=opened)
    expect(case_row).to_contain_text(cast.roads.name)
    journey.shot("inspector-inbox")

    case_row.locator("a").click()
    expect(page.locator("ol.timeline")).to_contain_text(t(EVENT_LABELS["accountability_opened"]))
    journey.check_accessibility()  # the request before its history is verified
    page.get_by_role("button", name=t("Verify the history"), exact=True).click()
    events = RequestEvent.objects.filter(request=road).count()
    journey.expect_message(t("The history is intact: %(n)d events verified.", n=events))
    expect(page.locator("ol.timeline .hash").first).to_contain_text("#1 · ")
    journey.shot("inspector-verifies-timeline")

    # The case itself, in the inspectors' console: the history again, then the decision.
    journey.nav(t("Inspector console"))
    journey.expect_heading(t("Inspector console"))
    page.locator("main nav.tabs").get_by_role("link", name=t("Cases"), exact=True).click()
    journey.expect_heading(t("Accountability cases"))
    with translation.override(journey.language):
        cause = case.cause_text  # the case's cause as the inspector reads it
    page.get_by_role("link", name=f"#{case.pk} {cause}").click()
    expect(page.locator("main .badge.ok")).to_have_text(
        t("History intact: %(n)s events verified", n=events)
    )
    journey.shot("case-opened")
    page.get_by_role("button", name=t("Take the case"), exact=True).click()
    journey.expect_message(t("You have taken the case."))
    expect(page.locator("main p .badge.status").first).to_have_text(t(CaseStatus.IN_INQUIRY.label))

    decide = page.locator("details#action-decide")
    decide.locator("summary").click()
    decide.locator("input[name='outcome'][value='tolerated']").check()
    decide.locator("#id_reasoning").fill("The bureau waited for a flood survey it could not skip.")
    decide.get_by_role("button", name=t("Record the decision"), exact=True).click()
    expect(page.locator("#err-id_distinction_reform")).to_contain_text(
        t("A tolerated outcome answers each of the three distinctions.")
    )
    journey.shot("tolerance-needs-three-distinctions")
    for name, answer in DISTINCTIONS.items():
        decide.locator(f"#id_{name}").fill(answer)
    decide.get_by_role("button", name=t("Record the decision"), exact=True).click()
    journey.expect_message(t("The decision was recorded."))
    expect(page.locator("main p .badge.status").first).to_have_text(t(CaseStatus.DECIDED.label))
    expect(page.locator("section[aria-labelledby='h-decisions'] .what")).to_have_text(
        t(Outcome.TOLERATED.label)
    )
    journey.shot("decided-with-tolerance")
    decision = CaseDecision.objects.get(case=case)
    assert (decision.outcome, decision.decided_by) == (Outcome.TOLERATED, cast.ivan)
