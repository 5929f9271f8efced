"""Client addresses come from the trusted proxies only, and become a pseudonym of the day.

Rotating X-Forwarded-For escapes no throttle; five bad passwords from one client lock that
(user, client) pair, never the account for another client; the login page is throttled per
client like the token endpoint.
"""

import datetime as dt
import ipaddress

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from core import clients
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
LOGIN = "/accounts/login/"
REPORT = "/api/v1/reports/confidential/"
PROXY = "10.0.0.2"  # the one proxy of the docker-compose stack


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counts and the day's key live in the cache, which no test rolls back."""
    cache.clear()
    clients._keys.clear()
    yield
    cache.clear()
    clients._keys.clear()


@pytest.fixture
def login_rate(settings, still_clock):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "8/minute",
        },
    }
    return 8


def spoofed(n: int) -> str:
    return f"198.51.100.{n % 250 + 1}, 192.0.2.{n % 200 + 1}"


# --- where the address comes from ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "client"),
    [
        (0, "203.0.113.5", "198.51.100.1", "203.0.113.5"),  # no proxy: the header is a lie
        (1, PROXY, "198.51.100.1, 203.0.113.5", "203.0.113.5"),  # the proxy's own entry
        (2, PROXY, "198.51.100.1, 203.0.113.5, 10.0.0.1", "203.0.113.5"),
        (1, PROXY, "", PROXY),  # nothing forwarded: the peer itself
        (1, PROXY, "not-an-address", PROXY),
        (3, PROXY, "203.0.113.5", "203.0.113.5"),  # fewer hops than proxies: DRF's rule
    ],
)
def test_the_client_is_the_entry_the_outermost_trusted_proxy_wrote(
    settings, proxies, remote, forwarded, client
):
    settings.TRUSTED_PROXIES = proxies
    meta = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}
    assert clients.client_address(meta) == client


def test_the_middleware_leaves_a_pseudonym_and_no_address_or_browser(settings):
    settings.TRUSTED_PROXIES = 1
    seen = {}

    def view(request):
        seen.update(request.META)

    request = RequestFactory().get(
        "/",
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.5",
        HTTP_USER_AGENT="Probe/1.0",
        HTTP_X_REAL_IP="203.0.113.5",
    )
    clients.ForgetClientMiddleware(view)(request)
    assert ipaddress.ip_address(seen["REMOTE_ADDR"]) in ipaddress.ip_network("fd00::/8")
    assert "203.0.113.5" not in str(seen) and "Probe/1.0" not in str(seen)
    assert PROXY not in str(seen)
    assert seen["REMOTE_ADDR"] == clients.pseudonym("203.0.113.5")
    assert clients.pseudonym("203.0.113.6") != seen["REMOTE_ADDR"]


def test_the_pseudonym_changes_with_the_day_and_the_old_key_is_forgotten(time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC), tick=False)
    today = clients.pseudonym("203.0.113.5")
    assert clients.pseudonym("203.0.113.5") == today
    time_machine.move_to(dt.datetime(2026, 12, 8, 0, 1, tzinfo=dt.UTC), tick=False)
    assert clients.pseudonym("203.0.113.5") != today
    assert list(clients._keys) == ["2026-12-08"]


# --- rotating X-Forwarded-For escapes nothing -----------------------------------------------------


@pytest.mark.parametrize("proxies", [0, 1])
def test_rotating_forwarded_for_does_not_escape_the_token_login_throttle(
    cast, settings, login_rate, proxies
):
    settings.TRUSTED_PROXIES = proxies
    client = APIClient()
    codes = [
        client.post(
            TOKEN,
            {"username": f"guess{n}", "password": "123456"},
            format="json",
            REMOTE_ADDR=PROXY,
            # Behind the proxy, the proxy appends the real client last; the rest is the client's.
            HTTP_X_FORWARDED_FOR=spoofed(n) + (", 203.0.113.5" if proxies else ""),
        ).status_code
        for n in range(login_rate + 3)
    ]
    assert codes == [400] * login_rate + [429] * 3


@pytest.mark.usefixtures("still_clock")
def test_rotating_forwarded_for_does_not_escape_the_report_throttle(cast, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "confidential_report_unstamped": "3/hour",
        },
    }
    client = APIClient()
    codes = [
        client.post(
            REPORT,
            {"kind": "other", "text": "Flood.", "anonymous": True},
            format="json",
            REMOTE_ADDR=f"203.0.113.{n + 1}",
            HTTP_X_FORWARDED_FOR=spoofed(n),
        ).status_code
        for n in range(5)
    ]
    assert codes == [201, 201, 201, 429, 429]


# --- the login page: per client, and no lock-out of anyone else -----------------------------------


def test_the_login_page_is_throttled_per_client(cast, settings, login_rate):
    settings.TRUSTED_PROXIES = 1

    def attempt(n: int, client_address: str) -> int:
        return (
            Client()
            .post(
                LOGIN,
                {"username": f"guess{n}", "password": "123456"},
                REMOTE_ADDR=PROXY,
                HTTP_X_FORWARDED_FOR=f"{spoofed(n)}, {client_address}",
            )
            .status_code
        )

    codes = [attempt(n, "203.0.113.5") for n in range(login_rate + 2)]
    assert codes == [200] * login_rate + [429] * 2
    assert attempt(0, "203.0.113.6") == 200  # another client is not slowed down


@pytest.mark.parametrize("proxies", [0, 1])
def test_five_bad_passwords_do_not_lock_the_account_for_another_client(cast, settings, proxies):
    settings.TRUSTED_PROXIES = proxies

    def where(address: str) -> dict:
        if proxies:
            return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": address}
        return {"REMOTE_ADDR": address}

    attacker, owner = where("198.51.100.66"), where("203.0.113.5")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(LOGIN, {"username": "ada", "password": "wrong"}, **attacker)
    # The attacker's pair is locked, on the page and the API alike, even with the password ...
    assert (
        Client().post(LOGIN, {"username": "ada", "password": PASSWORD}, **attacker).status_code
        == 429
    )
    token = {"username": "ada", "password": PASSWORD}
    assert APIClient().post(TOKEN, token, format="json", **attacker).status_code == 429
    # ... while the owner, from her own address, logs in on both.
    page = Client().post(LOGIN, {"username": "ada", "password": PASSWORD}, **owner)
    assert page.status_code == 302
    assert APIClient().post(TOKEN, token, format="json", **owner).status_code == 200
