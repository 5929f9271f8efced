"""Journey 9: an entrepreneur's messages and account — the inbox (by kind, unread only, grouped
by request, all marked read), the message settings, the profile's language (the next page is in
the new one), a password change, and a forgotten password reset by e-mail."""

import re

from django.core import mail
from django.utils import translation
from playwright.sync_api import expect

from notifications.models import Kind, Notification, Preference
from requests_app.workflow import transition
from tests.factories import PASSWORD, ServiceRequestFactory
from tests.journeys.conftest import JOURNEY

pytestmark = JOURNEY

OTHER_LANGUAGE = {"zh-hans": "en", "en": "zh-hans"}
CHANGED = "a-changed-Pa55word!"
RESET = "a-reset-Pa55word!"


def in_language(language: str, message: str) -> str:
    with translation.override(language):
        return translation.gettext(message)


def submit(page, form_action: str) -> None:
    page.locator(f'main form[action="{form_action}"] button[type=submit]').click()


def test_inbox_settings_profile_language_and_passwords(journey, cast):
    page, t = journey.page, journey.t
    alice = cast.alice
    alice.language = journey.language
    alice.save(update_fields=["language"])
    road = ServiceRequestFactory(enterprise=cast.acme, by=alice, title="Road to the gate")
    water = ServiceRequestFactory(enterprise=cast.acme, by=alice, title="Water cut at night")
    for request in (road, water):
        transition(request.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank)
        transition(request.pk, "start", by=cast.hank)
    transition(road.pk, "feedback", by=cast.hank, message="Repaved.")
    transition(water.pk, "request_info", by=cast.hank, question="Which night?")
    mine = Notification.objects.filter(recipient=alice)
    assert mine.filter(kind=Kind.FEEDBACK_GIVEN).count() == 1
    unread = mine.filter(read_at__isnull=True).count()
    assert unread >= 2

    # The inbox: the messages of each request together under its number.
    journey.login(alice)
    journey.open_menu()
    page.locator("nav.site-nav .nav-inbox a").click()
    journey.expect_heading(t("Inbox"))
    groups = page.locator("section.inbox-group")
    expect(groups).to_have_count(2)
    for request in (road, water):
        head = t("Request %(reference)s", reference=request.reference)
        expect(page.locator("h2.inbox-group-head", has_text=head)).to_have_count(1)
    expect(page.locator("ul.inbox li.unread")).to_have_count(unread)
    journey.shot("inbox")

    # Only the feedback: one message, under the road's number.
    filters = page.locator("main form.filters")
    filters.locator("select[name=kind]").select_option(Kind.FEEDBACK_GIVEN)
    filters.get_by_role("button", name=t("Filter"), exact=True).click()
    expect(page.locator("ul.inbox li")).to_have_count(1)
    expect(groups.first).to_contain_text(road.reference)
    journey.shot("inbox-feedback-only")

    # Opening it leads to the request and marks it read: "unread only" leaves it out.
    page.locator("ul.inbox li a.inbox-item").first.click()
    expect(page.locator("main h1")).to_contain_text(road.reference)
    journey.check_accessibility()
    journey.go("/inbox/?unread=on")
    expect(page.locator("ul.inbox li")).to_have_count(unread - 1)
    expect(page.locator("main")).not_to_contain_text(t(Kind.FEEDBACK_GIVEN.label) + ":")
    journey.shot("inbox-unread-only")

    page.get_by_role("button", name=t("Mark all as read"), exact=True).click()
    with translation.override(journey.language):
        marked = translation.ngettext(
            "%(count)d notification marked as read.",
            "%(count)d notifications marked as read.",
            unread - 1,
        ) % {"count": unread - 1}
    journey.expect_message(marked)
    expect(page.locator("ul.inbox li.unread")).to_have_count(0)
    assert not mine.filter(read_at__isnull=True).exists()
    journey.shot("inbox-all-read")

    # Feedback by the daily digest from now on.
    page.get_by_role("link", name=t("Message settings"), exact=True).click()
    journey.expect_heading(t("Message settings"))
    page.locator(f"select[name={Kind.FEEDBACK_GIVEN}]").select_option("digest")
    journey.shot("message-settings")
    page.locator("main form.card button[type=submit]").click()
    journey.expect_message(t("Your message settings are saved."))
    expect(page.locator(f"select[name={Kind.FEEDBACK_GIVEN}]")).to_have_value("digest")
    saved = Preference.objects.get(user=alice, kind=Kind.FEEDBACK_GIVEN)
    assert (saved.inbox, saved.email, saved.digest) == (True, True, True)

    # The profile: in the other language, the next pages are in it; then back again.
    other = OTHER_LANGUAGE[journey.language]
    journey.open_menu()
    page.locator("header a.who").click()
    journey.expect_heading(t("Your profile"))
    journey.shot("profile")
    page.locator("#id_language").select_option(other)
    submit(page, "/accounts/profile/")
    expect(page.locator("ul.messages")).to_contain_text(
        in_language(other, "Your profile is saved.")
    )
    journey.check_accessibility()
    journey.go("/inbox/")
    expect(page.locator("main h1")).to_have_text(in_language(other, "Inbox"))
    expect(page.locator("html")).to_have_attribute("lang", re.compile(other[:2]))
    journey.check_accessibility()
    alice.refresh_from_db()
    assert alice.language == other
    journey.go("/accounts/profile/")
    journey.check_accessibility()
    page.locator("#id_language").select_option(journey.language)
    submit(page, "/accounts/profile/")
    journey.expect_message(t("Your profile is saved."))
    journey.shot("profile-language-back")

    # A new password, chosen while signed in, then used to sign in.
    page.get_by_role("link", name=t("Change your password"), exact=True).click()
    journey.expect_heading(t("Change your password"))
    page.locator("#id_oldpassword").fill(PASSWORD)
    page.locator("#id_password1").fill(CHANGED)
    page.locator("#id_password2").fill(CHANGED)
    journey.shot("password-change")
    submit(page, "/accounts/password/change/")
    expect(page.locator("ul.messages")).to_be_visible()
    journey.check_accessibility()
    journey.logout()
    journey.login(alice, CHANGED)
    journey.logout()

    # Forgotten: a link by e-mail, a new password, and in with it.
    mail.outbox.clear()
    page.get_by_role("link", name=t("Forgot your password?"), exact=True).click()
    journey.expect_heading(t("Reset your password"))
    page.locator("#id_email").fill(alice.email)
    journey.shot("password-forgotten")
    submit(page, "/accounts/password/reset/")
    journey.expect_heading(t("Check your e-mail"))
    journey.shot("reset-link-sent")
    assert [message.to for message in mail.outbox] == [[alice.email]]
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    path = re.sub(r"^https?://[^/]+", "", link.group(0))
    journey.go(path)
    journey.expect_heading(t("Choose a new password"))
    page.locator("#id_password1").fill(RESET)
    page.locator("#id_password2").fill(RESET)
    page.locator("main form button[type=submit]").click()
    journey.expect_heading(t("Your password is changed"))
    journey.shot("password-reset")
    journey.login(alice, RESET)
    journey.expect_heading(t("My requests"))
    journey.shot("signed-in-with-new-password")
