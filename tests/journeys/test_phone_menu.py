"""Journey: the same pages on a phone and a desktop. On a phone the navigation folds behind a
menu button (a checkbox's label: no script needed) and no page is wider than the screen."""

from playwright.sync_api import expect

from tests.journeys.conftest import JOURNEY

pytestmark = JOURNEY


def test_the_menu_folds_on_a_phone_and_no_page_is_too_wide(journey, cast, request_in):
    page, t = journey.page, journey.t
    request_in("rectifying")

    # The public home page, before signing in: nothing to fold, nothing too wide.
    journey.go("/")
    expect(page.locator("main h1")).to_be_visible()
    expect(page.locator(".menu-button")).to_have_count(0)
    journey.shot("home")

    journey.login(cast.liam)
    menu = page.locator("header .menu-button")
    links = page.locator("nav.site-nav a")
    logout = page.locator("header").get_by_role("button", name=t("Log out"))
    if journey.width == "phone":
        expect(menu).to_be_visible()
        expect(menu).to_have_text(t("Menu"))
        expect(links.first).to_be_hidden()
        expect(logout).to_be_hidden()
        # The header stays one short row: the brand, the language switch and the button.
        assert page.locator("header.site-header").bounding_box()["height"] < 70
        journey.shot("menu-closed")
        menu.click()
        expect(links.first).to_be_visible()
        expect(logout).to_be_visible()
        journey.shot("menu-open")
        links.first.click()
        expect(links.first).to_be_hidden()  # the next page opens with the menu folded
    else:
        expect(menu).to_be_hidden()
        expect(links.first).to_be_visible()
        expect(logout).to_be_visible()
    journey.shot("queue")

    journey.go("/reports/")
    expect(page.locator(".card.figure").first).to_be_visible()
    journey.shot("dashboard")
