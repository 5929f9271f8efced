"""API tokens expire (`expires_at`; an expired token → 401) and can be revoked (→ 204)."""

import datetime as dt

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/token/"
REVOKE = "/api/v1/auth/token/revoke/"
ME = "/api/v1/requests/"


@pytest.fixture(autouse=True)
def fresh_cache():
    """The login throttle counts in the cache, which no test rolls back."""
    cache.clear()
    yield
    cache.clear()


def log_in(username: str = "alice") -> dict:
    response = APIClient().post(LOGIN, {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def calling(token: str) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_the_login_answer_says_when_the_token_expires(cast, time_machine, settings):
    time_machine.move_to(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC), tick=False)
    answer = log_in()
    assert set(answer) == {"token", "expires_at"}
    expires = dt.datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))
    assert expires == dt.datetime(2027, 1, 6, 9, 0, tzinfo=dt.UTC)  # 30 days by default
    assert settings.API_TOKEN_TTL.days == 30
    assert calling(answer["token"]).get(ME).status_code == 200


def test_an_expired_token_is_refused_with_401_and_a_new_login_gets_a_new_one(
    cast, time_machine, settings
):
    settings.API_TOKEN_TTL = dt.timedelta(days=2)
    time_machine.move_to(dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC), tick=False)
    first = log_in()
    time_machine.move_to(dt.datetime(2026, 12, 9, 8, 59, tzinfo=dt.UTC), tick=False)
    assert calling(first["token"]).get(ME).status_code == 200
    assert log_in()["token"] == first["token"]  # still good: the same token, the same expiry
    time_machine.move_to(dt.datetime(2026, 12, 9, 9, 0, tzinfo=dt.UTC), tick=False)
    refused = calling(first["token"]).get(ME)
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]
    assert refused.headers["WWW-Authenticate"].startswith("Token")
    second = log_in()
    assert second["token"] != first["token"]
    assert calling(second["token"]).get(ME).status_code == 200
    assert calling(first["token"]).get(ME).status_code == 401


def test_revoking_ends_the_callers_token(cast):
    answer = log_in()
    client = calling(answer["token"])
    response = client.post(REVOKE)
    assert response.status_code == 204
    assert not Token.objects.filter(key=answer["token"]).exists()
    assert client.get(ME).status_code == 401
    assert client.post(REVOKE).status_code == 401
    assert log_in()["token"] != answer["token"]


def test_revoking_ends_only_the_callers_token(cast):
    alice, liam = log_in("alice"), log_in("liam")
    assert calling(alice["token"]).post(REVOKE).status_code == 204
    assert calling(liam["token"]).get(ME).status_code == 200


def test_revoking_needs_a_caller(cast):
    assert APIClient().post(REVOKE).status_code == 401
    assert calling("not-a-token").post(REVOKE).status_code == 401
