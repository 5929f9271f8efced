"""Redis unreachable: throttles and caches degrade, and no endpoint answers 500.

The cache points at a closed port. Logins keep working on the database lock-out (django-axes);
a stamped report is accepted, one without a stamp is answered 503 with Retry-After.
"""

import socket

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient

from compliance.models import ConfidentialReport
from core import clients
from inspection import throttling
from tests.compliance.inspection_helpers import receipt_shown
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

REPORT = "/api/v1/reports/confidential/"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the socket is closed


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.DegradingRedisCache",  # as portal/settings.py has it
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.CONFIDENTIAL_REPORT_STAMP_BITS = 6
    clients._keys.clear()
    with pytest.raises(RedisConnectionError):  # the premise: the cache really is unreachable
        cache.incr("anything")
    yield
    clients._keys.clear()


def stamp() -> str:
    return throttling.make_stamp(throttling.challenge()["challenge"], 6)


def report(**extra) -> dict:
    return {"kind": "other", "text": "Nobody answers the phone.", "anonymous": True, **extra}


def test_token_login_works_and_locks_out_on_the_database(cast, redis_down, settings):
    client = APIClient()
    good = {"username": "alice", "password": PASSWORD}
    assert client.post("/api/v1/auth/token/", good, format="json").status_code == 200
    bad = {"username": "liam", "password": "wrong"}
    codes = [
        client.post("/api/v1/auth/token/", bad, format="json").status_code
        for _ in range(settings.AXES_FAILURE_LIMIT + 1)
    ]
    # Refused with 400 until the limit, then locked out (429), as with Redis up.
    assert codes[0] == 400 and codes[-1] == 429 and set(codes) == {400, 429}
    right = {"username": "liam", "password": PASSWORD}
    assert client.post("/api/v1/auth/token/", right, format="json").status_code == 429


def test_the_login_page_works_and_locks_out_on_the_database(cast, redis_down, settings):
    assert Client().get("/accounts/login/").status_code == 200
    page = Client().post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert page.status_code == 302
    client = Client()
    codes = [
        client.post("/accounts/login/", {"username": "liam", "password": "x"}).status_code
        for _ in range(settings.AXES_FAILURE_LIMIT + 1)
    ]
    assert codes[0] == 200 and codes[-1] == 429 and set(codes) == {200, 429}


def test_a_stamped_report_is_accepted_and_an_unstamped_one_is_503(cast, redis_down):
    api = APIClient()
    stamped = stamp()
    assert api.post(REPORT, report(stamp=stamped), format="json").status_code == 201
    replay = api.post(REPORT, report(stamp=stamped), format="json")
    assert replay.status_code == 400  # reuse is still caught, by this process
    refused = api.post(REPORT, report(), format="json")
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert ConfidentialReport.objects.count() == 1


def test_the_report_page_answers_without_500(cast, redis_down):
    page = Client(HTTP_ACCEPT_LANGUAGE="en")
    url = reverse("inspector:report-file")
    assert page.get(url).status_code == 200
    assert page.get(reverse("inspector:report-anonymous")).status_code == 200
    filed = page.post(url, {"kind": "other", "text": "Stamped.", "stamp": stamp()})
    assert filed.status_code == 200
    unstamped = page.post(url, {"kind": "other", "text": "No stamp."})
    assert unstamped.status_code == 503
    assert int(unstamped["Retry-After"]) > 0
    receipt = receipt_shown(filed.content.decode())
    status = page.post(reverse("inspector:report-status"), {"receipt": receipt})
    assert status.status_code == 200


def test_every_throttled_endpoint_and_the_pages_answer_without_500(cast, redis_down):
    receipt = ConfidentialReport.objects.create(kind="other", text="x", anonymous=True).receipt
    api = APIClient()
    answers = {
        "token": api.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code,
        "challenge": api.get(f"{REPORT}challenge/").status_code,
        "receipt": api.get(f"{REPORT}status/{receipt}/").status_code,
        "report": api.post(REPORT, report(stamp=stamp()), format="json").status_code,
    }
    logged_in = Client(HTTP_ACCEPT_LANGUAGE="en")
    logged_in.force_login(cast.alice)
    token = APIClient()
    token.force_authenticate(cast.alice)
    for url in ("/", "/requests/", "/confidential-report/", "/inbox/", "/health/"):
        answers[url] = logged_in.get(url, follow=True).status_code
    answers["revoke"] = token.post("/api/v1/auth/token/revoke/").status_code
    answers["requests-api"] = token.get("/api/v1/requests/").status_code
    assert all(code < 500 or (url == "/health/" and code == 503) for url, code in answers.items())
    assert answers["report"] == 201 and answers["challenge"] == 200
