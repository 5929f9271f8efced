"""Journey 7: an administrator loads 2027's working-day calendar from the State Council's notice.

The banner on the portal's pages leads to the admin's calendar page; the notice is pasted as
published, the preview shows the days and the running request it would re-base, and after saving
the year is official, the request's clock is re-based and the banner is gone. In both languages:
every key label is in the journey's language, and none of them shows up in the other one.
"""

from django.utils import translation
from playwright.sync_api import expect

from officials.models import Role
from requests_app.models import CalendarYear
from tests.conftest import at
from tests.factories import ServiceRequestFactory, UserFactory
from tests.journeys.conftest import JOURNEY
from tests.requests_app.test_calendar_api import NOTICE_2027

pytestmark = JOURNEY

OTHER_LANGUAGE = {"zh-hans": "en", "en": "zh-hans"}
BANNER = (
    "The working-day calendar for %(year)s is not loaded: its holidays and make-up working days "
    "are unknown, and escalations and accountability cases in %(year)s will wait until it is."
)
# The page's key labels, by their English source.
KEY_LABELS = [
    "Where the year stands",
    "Load from",
    "The notice",
    "Preview: nothing is saved yet",
    "Days that differ from the calendar as it stands",
    "Running requests",
    "Make-up working day (调休)",
    "Holiday",
    "No published schedule yet?",
]


def in_other_language(journey, message: str) -> str:
    with translation.override(OTHER_LANGUAGE[journey.language]):
        return translation.gettext(message)


def expect_only_this_language(journey, messages) -> None:
    """None of these labels shows up as the other language words it."""
    text = journey.page.locator("#content-main").inner_text()
    wrong = [in_other_language(journey, m) for m in messages]
    wrong = [words for words in wrong if words in text]
    assert not wrong, f"{journey.language} page shows {wrong}"


def test_an_admin_loads_2027_from_the_pasted_notice(journey, cast, time_machine):
    page, t = journey.page, journey.t
    # New Year's Eve, 17:00: a request filed now counts New Year's Day 2027 as a working day.
    time_machine.move_to(at("2026-12-31 17:00"), tick=False)
    road = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    assert road.assign_due_at == at("2027-01-01 17:00")
    time_machine.move_to(at("2026-12-31 18:00"), tick=False)
    root = UserFactory(
        username="root", name="Root", role=Role.ADMIN, is_staff=True, is_superuser=True
    )

    journey.login(root)
    banner = page.locator("main .calendar-banner")
    expect(banner).to_contain_text(t(BANNER, year="2027"))
    journey.shot("banner")

    banner.get_by_role("link", name=t("Load the %(year)s calendar", year="2027")).click()
    expect(page.locator("#content-main #calendar-status")).to_contain_text(
        t("Where the year stands")
    )
    expect(page.locator(".calendar-provisional")).to_contain_text("2027")
    journey.shot("load-page")

    page.locator("#id_notice").fill(NOTICE_2027)
    page.locator("input[name=_preview]").click()
    preview = page.locator("#calendar-preview")
    expect(preview.locator("h2")).to_have_text(t("Preview: nothing is saved yet"))
    days = preview.locator("#preview-days")
    expect(days.locator("tr", has_text="2027-01-01")).to_contain_text("元旦")
    expect(days.locator("tr", has_text="2027-01-01")).to_contain_text(t("Holiday"))
    expect(days.locator("tr", has_text="2027-02-13")).to_contain_text(
        t("Make-up working day (调休)")
    )
    rebased = t(
        "%(counter)s running request would be re-based: its due time moves, and its timeline "
        "records the old and the new one.",
        counter=1,
    )
    expect(preview.locator("#preview-rebased")).to_have_text(rebased)
    expect(preview.locator("#preview-moves")).to_contain_text(road.reference)
    expect(preview.locator("#preview-moves")).to_contain_text("2027-01-04 17:00")
    expect_only_this_language(journey, KEY_LABELS)
    journey.shot("preview")
    assert not CalendarYear.objects.filter(year=2027).exists()  # a preview saves nothing

    page.locator("input[name=_save]").click()
    expect(page.locator("ul.messagelist li.success")).to_contain_text(
        t(
            "Loaded %(year)s: %(days)s holidays and make-up working days. Running requests "
            "re-based: %(rebased)s.",
            year="2027",
            days=8,
            rebased=1,
        )
    )
    expect(page.locator(".calendar-official")).to_contain_text(t("this page"))
    expect(page.locator("#calendar-fallback-form")).to_have_count(0)
    expect_only_this_language(journey, KEY_LABELS[:3])
    journey.shot("saved")

    year = CalendarYear.objects.get(year=2027)
    assert (year.provisional, year.source) == (False, "admin")
    road.refresh_from_db()
    assert road.assign_due_at == at("2027-01-04 17:00")
    assert road.answer_due_at == at("2027-01-06 17:00")

    journey.go("/requests/")
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator(".calendar-banner")).to_have_count(0)
    journey.shot("banner-gone")
