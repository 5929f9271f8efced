"""TOTP two-factor: required for the roles MFA_REQUIRED_ROLES names, set up before any other
page, and then asked for at every login."""

import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ACTIVATE = "/accounts/2fa/totp/activate/"


@pytest.fixture
def required(settings):
    settings.MFA_REQUIRED_ROLES = ["inspector", "admin"]
    return settings


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def logged_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_an_inspector_without_totp_is_sent_to_set_it_up(cast, required):
    client = logged_in(cast.ivan)
    for path in ("/requests/", "/inbox/", "/reports/", "/admin/"):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, ACTIVATE), path
    # What leads there stays open: the account pages, and the language switch.
    assert client.get("/accounts/profile/").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "zh-hans"}).status_code == 302


def test_roles_not_named_and_an_empty_setting_are_not_asked(cast, required):
    assert logged_in(cast.liam).get("/requests/").status_code == 200
    required.MFA_REQUIRED_ROLES = []
    assert logged_in(cast.ivan).get("/requests/").status_code == 200


def test_set_up_on_the_page_then_asked_at_login(cast, required):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post("/accounts/login/", {"login": "ada", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/requests/")["Location"] == ACTIVATE
    # allauth asks for the password again before a second factor is added.
    reauthenticate = client.get(ACTIVATE)
    assert reauthenticate["Location"].startswith("/accounts/reauthenticate/")
    assert client.get(reauthenticate["Location"]).status_code == 200
    assert client.post(reauthenticate["Location"], {"password": PASSWORD}).status_code == 302
    page = client.get(ACTIVATE)
    assert page.status_code == 200
    assert "data:image/svg+xml;base64," in page.content.decode()  # the QR code
    secret = client.session[SECRET_SESSION_KEY]
    wrong = client.post(ACTIVATE, {"code": "000000" if code_for(secret) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=cast.ada).exists()
    assert client.post(ACTIVATE, {"code": code_for(secret)}).status_code == 302
    assert Authenticator.objects.filter(user=cast.ada, type=Authenticator.Type.TOTP).exists()
    assert client.get("/requests/").status_code == 200

    # The next login asks for a code before the session is hers.
    again = Client(HTTP_ACCEPT_LANGUAGE="en")
    step = again.post("/accounts/login/", {"login": "ada", "password": PASSWORD})
    assert step["Location"] == "/accounts/2fa/authenticate/"
    assert again.get("/requests/").status_code == 302  # still anonymous: to the login page
    totp = Authenticator.objects.get(user=cast.ada, type=Authenticator.Type.TOTP)
    done = again.post(
        "/accounts/2fa/authenticate/", {"code": code_for(decrypt(totp.data["secret"]))}
    )
    assert done.status_code == 302
    assert again.get("/requests/").status_code == 200
