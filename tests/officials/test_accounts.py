"""Accounts without an administrator: sign-in by user name or e-mail, password reset by e-mail
(in the user's language), password change, the profile, and the login lock-out."""

import re

import pytest
from django.core import mail
from django.test import Client

from officials.models import Role, User
from tests.factories import PASSWORD, UserFactory
from tests.pages import page_client

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
NEW_PASSWORD = "a different horse, stapled"


@pytest.fixture
def erin() -> User:
    return UserFactory(
        username="erin", name="Erin", role=Role.ENTREPRENEUR, email="erin@example.com"
    )


@pytest.mark.parametrize("login", ["erin", "erin@example.com", "ERIN@example.com"])
def test_sign_in_by_user_name_or_e_mail(erin, login):
    response = Client().post(LOGIN, {"login": login, "password": PASSWORD})
    assert response.status_code == 302
    assert Client().post(LOGIN, {"login": login, "password": "wrong"}).status_code == 200


def test_the_login_page_keeps_its_form_and_look():
    html = page_client().get(LOGIN).content.decode()
    assert 'action="/accounts/login/"' in html
    assert 'name="login"' in html and 'name="password"' in html
    assert 'href="/accounts/password/reset/"' in html and 'href="/accounts/signup/"' in html
    assert "site-header" in html  # the site's frame (base.html)


def test_sign_up_saves_an_entrepreneur_in_the_page_language():
    client = page_client(language="zh-hans")
    response = client.post(
        "/accounts/signup/",
        {
            "name": "聂娜",
            "username": "niena",
            "email": "niena@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="niena")
    assert (user.role, user.name, user.language, user.email) == (
        Role.ENTREPRENEUR,
        "聂娜",
        "zh-hans",
        "niena@example.com",
    )


def test_sign_up_cannot_choose_a_role():
    Client().post(
        "/accounts/signup/",
        {
            "name": "Sneaky",
            "username": "sneaky",
            "email": "sneaky@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "role": Role.ADMIN,
            "is_staff": "on",
        },
    )
    user = User.objects.get(username="sneaky")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.ENTREPRENEUR, False, False)


def test_password_reset_by_e_mail_end_to_end_in_the_users_language(erin, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    erin.language = "en"
    erin.save()
    # The page is asked for in Chinese; the e-mail follows Erin's own language.
    client = page_client(language="zh-hans")
    response = client.post("/accounts/password/reset/", {"email": "erin@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["erin@example.com"]
    assert "Password Reset" in message.subject
    assert not re.search(r"[\u4e00-\u9fff]", message.body)
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", message.body)[1]

    # The link leads to a form (allauth moves the key into the session first).
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    done = client.post(action, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert Client().post(LOGIN, {"login": "erin", "password": NEW_PASSWORD}).status_code == 302
    assert Client().post(LOGIN, {"login": "erin", "password": PASSWORD}).status_code == 200
    # The link works once (the page asked for in Chinese says so in Chinese).
    again = client.get(link, follow=True)
    assert "链接无效" in again.content.decode()


def test_a_chinese_users_reset_e_mail_is_in_chinese(erin, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    erin.language = "zh-hans"
    erin.save()
    page_client(language="en").post("/accounts/password/reset/", {"email": "erin@example.com"})
    assert re.search(r"[\u4e00-\u9fff]", mail.outbox[0].subject)


def test_a_reset_for_an_unknown_address_sends_nothing(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302  # the same answer: it does not tell who has an account
    assert mail.outbox == []


def test_password_change(erin):
    client = page_client(erin)
    wrong = client.post(
        "/accounts/password/change/",
        {"oldpassword": "not it", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 200
    erin.refresh_from_db()
    assert erin.check_password(PASSWORD)
    right = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert right.status_code == 302
    erin.refresh_from_db()
    assert erin.check_password(NEW_PASSWORD)


# --- the profile ----------------------------------------------------------------------------------


def test_the_profile_shows_and_links(erin):
    html = page_client(erin).get("/accounts/profile/").content.decode()
    assert 'name="name"' in html and 'name="phone"' in html and 'name="language"' in html
    for link in ("/accounts/email/", "/accounts/password/change/", "/inbox/settings/"):
        assert f'href="{link}"' in html
    assert Client().get("/accounts/profile/").status_code == 302  # to the login page


def test_the_profile_saves_name_phone_and_language(erin):
    client = page_client(erin)
    response = client.post(
        "/accounts/profile/",
        {"name": "Erin Ng", "phone": "+86 591 8888-1234", "language": "zh-hans"},
    )
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "zh-hans"
    erin.refresh_from_db()
    assert (erin.name, erin.phone, erin.language) == ("Erin Ng", "+86 591 8888-1234", "zh-hans")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "<script>alert(1)</script>"),
        ("phone", "call me"),
        ("language", "fr"),
        ("name", ""),
        ("name", "x" * 101),
    ],
)
def test_the_profile_refuses_bad_input_and_changes_nothing(erin, field, value):
    good = {"name": "Erin Ng", "phone": "0591 12345", "language": "en"}
    response = page_client(erin).post("/accounts/profile/", {**good, field: value})
    assert response.status_code == 400
    assert f'id="err-{field}"' in response.content.decode()
    assert "<script>alert(1)</script>" not in response.content.decode()
    erin.refresh_from_db()
    assert (erin.name, erin.phone, erin.language) == ("Erin", "", "")


# --- django-axes with allauth ---------------------------------------------------------------------


def test_failures_by_user_name_and_by_e_mail_count_together(erin, settings):
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        login = "erin" if n % 2 else "erin@example.com"
        client.post(LOGIN, {"login": login, "password": "wrong"})
    locked = client.post(LOGIN, {"login": "erin@example.com", "password": PASSWORD})
    assert locked.status_code == 429
    assert client.post(LOGIN, {"login": "erin", "password": PASSWORD}).status_code == 429
    token = {"username": "erin", "password": PASSWORD}
    assert (
        client.post("/api/v1/auth/token/", token, content_type="application/json").status_code
        == 429
    )
    # Another client is not locked out.
    other = Client(REMOTE_ADDR="203.0.113.9")
    assert other.post(LOGIN, {"login": "erin", "password": PASSWORD}).status_code == 302
