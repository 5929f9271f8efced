"""Journey 4: an official logs a meal an enterprise paid for; a visit on a quiet day is refused."""

from playwright.sync_api import expect

from compliance.models import (
    Finding,
    Interaction,
    InteractionKind,
    Payer,
    Severity,
    VisitFiling,
    VisitPurpose,
)
from compliance.rules import MESSAGES
from compliance.services import set_threshold
from tests.conftest import at
from tests.journeys.conftest import JOURNEY, local_input

pytestmark = JOURNEY

WEDNESDAY = 3  # ISO weekday: acme keeps Wednesdays quiet
QUIET_DAY, OPEN_DAY = "2026-11-18", "2026-11-19"  # the Wednesday and Thursday of the journey's week


def test_meal_paid_by_enterprise_is_found_and_quiet_day_visit_refused(journey, cast):
    page, t = journey.page, journey.t
    set_threshold("meal_per_capita_cap", "60", by=cast.ada)
    cast.acme.quiet_days = [WEDNESDAY]
    cast.acme.save(update_fields=["quiet_days"])

    journey.login(cast.liam)
    journey.nav(t("My records"))
    journey.expect_heading(t("My records"))
    page.locator("main").get_by_role("link", name=t("Log an interaction")).click()
    journey.expect_heading(t("Log an interaction"))
    page.locator("#id_enterprise").select_option(label=cast.acme.name)
    page.locator("#id_kind").select_option(label=t(InteractionKind.MEAL.label))
    page.locator("#id_occurred_at").fill(local_input(at("2026-11-13 19:00")))
    page.locator("#id_description").fill("Dinner after the site visit, at the plant's invitation.")
    page.locator("#id_payer").select_option(label=t(Payer.ENTERPRISE.label))
    page.locator("#id_amount_total").fill("1200")
    page.locator("#id_headcount").fill("4")
    page.locator("#id_venue_type").fill("restaurant")
    journey.shot("meal-entered")
    page.get_by_role("button", name=t("Save"), exact=True).click()

    journey.expect_message(t("Saved. The rules have judged it."))
    findings = page.locator("section[aria-labelledby='h-findings'] li")
    violation = findings.filter(has_text="N02")
    expect(violation.locator(".badge.late")).to_have_text(t(Severity.VIOLATION.label))
    expect(violation).to_contain_text(t(MESSAGES["n02.enterprise_paid"]))
    over_cap = t(MESSAGES["p02.over_cap"], per_capita="300.00", cap="60.00")
    expect(findings.filter(has_text="P02")).to_contain_text(over_cap)
    journey.shot("meal-finding")
    meal = Interaction.objects.get(official=cast.liam)
    assert Finding.objects.filter(interaction=meal, rule_code="N02").exists()

    journey.nav(t("Visits"))
    journey.expect_heading(t("Visits"))
    page.locator("main").get_by_role("link", name=t("File a visit")).click()
    journey.expect_heading(t("File a visit"))
    page.locator("#id_enterprise").select_option(label=cast.acme.name)
    page.locator("#id_planned_start").fill(local_input(at(f"{QUIET_DAY} 09:00")))
    page.locator("#id_planned_end").fill(local_input(at(f"{QUIET_DAY} 11:00")))
    page.locator("#id_purpose").select_option(label=t(VisitPurpose.INSPECTION.label))
    page.get_by_role("button", name=t("File the visit"), exact=True).click()

    refusal = page.locator("main [role='alert']").first
    expect(refusal.locator("h2")).to_have_text(t("The visit cannot be filed"))
    reason = (
        "%(enterprise)s keeps quiet production days (安宁生产日) on %(weekdays)s; "
        "the visit falls on %(date)s. Only an urgent visit with an exempt reason may go ahead."
    )
    expect(refusal).to_contain_text(
        t(reason, enterprise=cast.acme.name, weekdays=t("Wednesday"), date=QUIET_DAY)
    )
    assert not VisitFiling.objects.exists()
    journey.shot("quiet-day-refused")

    # The same visit on Thursday goes through.
    page.locator("#id_planned_start").fill(local_input(at(f"{OPEN_DAY} 09:00")))
    page.locator("#id_planned_end").fill(local_input(at(f"{OPEN_DAY} 11:00")))
    page.get_by_role("button", name=t("File the visit"), exact=True).click()
    journey.expect_message(t("Visit filed."))
    assert VisitFiling.objects.get().enterprise == cast.acme
    journey.shot("visit-filed-another-day")
