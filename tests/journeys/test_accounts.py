"""Journey: a newcomer signs up, claims an enterprise, is verified by its liaison (in a second
browser) and files a request — in Chinese, with no administrator touching anything."""

import pytest
from playwright.sync_api import expect

from officials.models import ClaimStatus, EnterpriseClaim, EnterpriseMember, User
from requests_app.models import ServiceRequest, Status
from tests.factories import PASSWORD, category
from tests.journeys.conftest import BROWSER_LOCALES, JOURNEY, TIMEOUT_MS, VIEWPORTS, Journey

pytestmark = JOURNEY


@pytest.mark.parametrize("journey", [("zh-hans", "desktop")], indirect=True)
def test_sign_up_claim_get_verified_and_file(journey, cast, browser, live_server):
    category("infrastructure")
    page, t = journey.page, journey.t

    # Signing up starts on the login page.
    journey.go("/accounts/login/")
    journey.expect_heading(t("Log in to Qinqing"))
    page.locator('main a[href="/accounts/signup/"]').click()
    page.locator("#id_name").fill("聂娜")
    page.locator("#id_username").fill("niena")
    page.locator("#id_email").fill("niena@example.com")
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    journey.shot("sign-up")
    page.locator('main form[action="/accounts/signup/"] button[type=submit]').click()
    expect(page.locator("header .who")).to_contain_text("聂娜")
    niena = User.objects.get(username="niena")
    assert niena.language == "zh-hans"

    # Straight to the claim: acme, by its credit code.
    expect(page).to_have_url(f"{live_server.url}/enterprises/new/")
    page.locator("#id_credit_code").fill(cast.acme.credit_code)
    journey.shot("claim")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/profile/")
    expect(page.locator("main table.rows")).to_contain_text(cast.acme.credit_code)
    # Waiting: the badge is neither green (verified) nor red (refused).
    expect(page.locator("main table.rows .badge")).to_have_count(1)
    expect(page.locator("main table.rows .badge.ok, main table.rows .badge.late")).to_have_count(0)
    journey.shot("claim-pending")

    # Not verified yet: nothing to file for.
    journey.go("/requests/new/")
    expect(page.locator("main")).to_contain_text(t("You do not act for any enterprise yet."))
    assert not EnterpriseMember.objects.filter(user=niena).exists()

    # Acme's liaison, in a browser of his own, verifies the claim.
    context = browser.new_context(
        viewport=VIEWPORTS["desktop"],
        locale=BROWSER_LOCALES["zh-hans"],
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(TIMEOUT_MS)
    liaison = Journey(
        page=context.new_page(),
        base_url=live_server.url,
        name="accounts-liaison",
        language="zh-hans",
        width="desktop",
    )
    try:
        liaison.login(cast.liam)
        liaison.go("/accounts/claims/")
        claim = EnterpriseClaim.objects.get(user=niena)
        section = liaison.page.locator(f'section[aria-labelledby="claim-{claim.pk}"]')
        expect(section).to_contain_text(cast.acme.credit_code)
        expect(section).to_contain_text("聂娜")
        liaison.shot("claims-to-verify")
        section.locator(f'form[action="/accounts/claims/{claim.pk}/verify/"] button').click()
        expect(liaison.page.locator("ul.messages")).to_contain_text("聂娜")
        liaison.shot("claim-verified")
    finally:
        context.close()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.VERIFIED

    # Back in her browser: she files for acme.
    journey.go("/requests/new/")
    journey.expect_heading(t("File a request"))
    expect(page.locator("main form")).to_contain_text(t("Filed for %(name)s.", name=cast.acme.name))
    page.locator("#id_category").select_option("infrastructure")
    page.locator("#id_title").fill("厂门前道路积水")
    page.locator("#id_description").fill("暴雨后货车无法进入厂区。")
    page.get_by_role("button", name=t("File the request"), exact=True).click()
    request = ServiceRequest.objects.get(enterprise=cast.acme)
    journey.expect_message(t("Request %(ref)s filed.", ref=request.reference))
    journey.expect_status(Status.SUBMITTED.label)
    journey.shot("request-filed")
