"""Anonymity by design: reports are throttled without knowing the client, an anonymous report's
time is kept to the day, a logged-in user gets anonymity only from the logged-out form, and a
scan of every table, every captured log line and every cache key and value finds nothing that
links a report to its filer.

(The inspection tests live with the compliance ones: tests/compliance/.)
"""

import datetime as dt
import hashlib
import logging
import pickle
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils.crypto import salted_hmac
from rest_framework.test import APIClient

from compliance.models import ConfidentialReport
from core import clients
from core.tokens import issue
from inspection import throttling
from notifications.models import Notification
from tests.compliance.inspection_helpers import page_client
from tests.conftest import SHANGHAI
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/confidential/"
CHALLENGE = f"{URL}challenge/"
URL_PAGE = "/confidential-report/"
BITS = 8  # cheap stamps for tests; production asks 20
IP = "203.0.113.77"
OFFICE = "198.51.100.40"  # where the logged-in reporter logged in, an hour earlier
USER_AGENT = "WhistleProbe/9.9 (marker-ua-5f1c)"
MARKER_UA = "marker-ua-5f1c"
FILED_AT = dt.datetime(2026, 12, 7, 14, 3, 22, 131000, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def cheap_stamps_and_a_fresh_cache(settings):
    settings.CONFIDENTIAL_REPORT_STAMP_BITS = BITS
    cache.clear()
    clients._keys.clear()
    yield
    cache.clear()
    clients._keys.clear()


def api() -> APIClient:
    return APIClient(HTTP_ACCEPT_LANGUAGE="en")  # the messages are read in English


def rates(settings, **scopes: str) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            **scopes,
        },
    }


_USED: set[str] = set()


def stamp() -> str:
    """A stamp computed the way the API docs say, with hashlib alone."""
    challenge = api().get(CHALLENGE).json()
    nonce = 0
    while True:
        candidate = f"{challenge['challenge']}:{nonce:x}"
        value = int.from_bytes(hashlib.sha256(candidate.encode()).digest(), "big")
        # Enough leading zero bits, and not a stamp this test run used (a stamp counts once).
        if value >> (256 - challenge["bits"]) == 0 and candidate not in _USED:
            _USED.add(candidate)
            return candidate
        nonce += 1


def body(**overrides) -> dict:
    return {
        "kind": "petty_extortion",
        "text": "A red packet, again.",
        "anonymous": True,
        **overrides,
    }


# --- the stamp -----------------------------------------------------------------------------------


def test_the_challenge_says_what_work_to_do_and_for_how_long(cast):
    answer = api().get(CHALLENGE)
    assert answer.status_code == 200
    assert set(answer.json()) == {"challenge", "bits", "expires_in"}
    assert answer.json()["bits"] == BITS
    assert 3600 < answer.json()["expires_in"] <= 7200
    assert re.fullmatch(r"\d+-[0-9a-f]{16}", answer.json()["challenge"])


def test_a_stamped_report_is_filed(cast):
    response = api().post(URL, body(stamp=stamp()), format="json")
    assert response.status_code == 201
    assert ConfidentialReport.objects.count() == 1


def _bad_stamps() -> dict[str, str]:
    now = dt.datetime.now(dt.UTC).timestamp()
    old = throttling.challenge(now - 2 * throttling.CHALLENGE_SECONDS)["challenge"]
    current = throttling.challenge()["challenge"]
    window = current.split("-")[0]
    weak = next(
        f"{current}:{n:x}"
        for n in range(10**6)
        if throttling.leading_zero_bits(hashlib.sha256(f"{current}:{n:x}".encode()).digest()) < BITS
    )
    return {
        "malformed": "not a stamp",
        "expired": throttling.make_stamp(old, BITS),
        "forged challenge": throttling.make_stamp(f"{window}-0123456789abcdef", BITS),
        "too little work": weak,
    }


@pytest.mark.parametrize("kind", ["malformed", "expired", "forged challenge", "too little work"])
def test_a_bad_stamp_is_a_400_on_the_stamp_and_files_nothing(cast, kind):
    response = api().post(URL, body(stamp=_bad_stamps()[kind]), format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["stamp"]
    assert not ConfidentialReport.objects.exists()


def test_a_stamp_counts_once(cast):
    stamped = stamp()
    assert api().post(URL, body(stamp=stamped), format="json").status_code == 201
    again = api().post(URL, body(stamp=stamped), format="json")
    assert again.status_code == 400
    assert "already used" in again.json()["stamp"][0]


# --- global rates, per window --------------------------------------------------------------------


@pytest.mark.usefixtures("still_clock")
def test_reports_without_a_stamp_meet_a_strict_global_rate_and_stamped_ones_a_generous_one(
    cast, settings
):
    rates(settings, confidential_report="3/hour", confidential_report_unstamped="2/hour")
    client = api()
    unstamped = [
        client.post(URL, body(), format="json", REMOTE_ADDR=f"203.0.113.{n}") for n in range(1, 4)
    ]
    assert [r.status_code for r in unstamped] == [201, 201, 429]
    assert 0 < int(unstamped[-1].headers["Retry-After"]) <= 3600
    stamped = [client.post(URL, body(stamp=stamp()), format="json").status_code for _ in range(4)]
    assert stamped == [201, 201, 201, 429]
    assert ConfidentialReport.objects.count() == 5


@pytest.mark.usefixtures("still_clock")
def test_the_page_without_javascript_meets_the_strict_rate(cast, settings):
    rates(settings, confidential_report_unstamped="1/hour")
    client, url = page_client(None), reverse("inspector:report-file")
    assert client.post(url, {"kind": "other", "text": "One."}).status_code == 200
    refused = client.post(url, {"kind": "other", "text": "Two."})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Two." in refused.content.decode()  # the form comes back with the text
    stamped = client.post(url, {"kind": "other", "text": "Three.", "stamp": stamp()})
    assert stamped.status_code == 200


def test_the_counters_name_only_their_window_and_expire_with_it(cast, settings, time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 7, 6, 0, 30, tzinfo=dt.UTC), tick=False)
    rates(settings, confidential_report_unstamped="1/minute")
    client = api()
    assert client.post(URL, body(), format="json", REMOTE_ADDR=IP).status_code == 201
    assert client.post(URL, body(), format="json", REMOTE_ADDR=OFFICE).status_code == 429
    window = int(dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC).timestamp() // 60)
    key = f"qinqing:rate:confidential_report_unstamped:60:{window}"
    assert cache.get(key) == 2  # how many, never when nor who
    time_machine.move_to(dt.datetime(2026, 12, 7, 6, 1, 1, tzinfo=dt.UTC), tick=False)
    if isinstance(getattr(cache, "_cache", None), dict):  # locmem follows the moved clock;
        assert cache.get(key) is None  # Redis expires it by its own (real) clock
    assert client.post(URL, body(), format="json", REMOTE_ADDR=IP).status_code == 201


@pytest.mark.usefixtures("still_clock")
def test_receipt_look_ups_are_throttled_globally(cast, settings):
    rates(settings, confidential_status="2/minute")
    receipt = api().post(URL, body(), format="json").json()["receipt"]
    codes = [
        api().get(f"{URL}status/{receipt}/", REMOTE_ADDR=f"203.0.113.{n}").status_code
        for n in range(1, 4)
    ]
    assert codes == [200, 200, 429]


# --- a logged-in user: anonymity only through the logged-out form --------------------------------


def test_the_logged_in_page_has_no_anonymity_box_but_links_the_logged_out_form(cast):
    html = page_client(cast.alice).get(reverse("inspector:report-file")).content.decode()
    assert 'name="anonymous"' not in html
    assert reverse("inspector:report-anonymous") in html


def test_the_logged_out_form_tells_a_logged_in_user_why_to_log_out_and_offers_it(cast):
    client = page_client(cast.alice)
    page = client.get(reverse("inspector:report-anonymous"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "matched with your login by its time" in html
    assert 'name="text"' not in html  # no form to fill in while logged in
    assert reverse("logout") in html
    out = client.post(reverse("logout"), {"next": reverse("inspector:report-anonymous")})
    assert out.status_code == 302 and out.url == reverse("inspector:report-anonymous")
    fresh = client.get(out.url)
    assert fresh.status_code == 200
    assert 'name="text"' in fresh.content.decode()
    assert client.post(out.url, {"kind": "other", "text": "Now."}).status_code == 200
    assert ConfidentialReport.objects.get().reporter is None


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("inspector:report-anonymous", {"kind": "other", "text": "x"}),
        ("inspector:report-file", {"kind": "other", "text": "x", "anonymous": "on"}),
    ],
)
def test_posting_anonymously_while_logged_in_is_refused_and_stores_nothing(cast, url, data):
    response = page_client(cast.alice).post(reverse(url), data)
    assert response.status_code == 400
    assert "log out" in response.content.decode()
    assert not ConfidentialReport.objects.exists()
    assert not Notification.objects.exists()


def test_the_api_refuses_anonymity_with_credentials(cast):
    token = issue(cast.alice)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.post(URL, body(stamp=stamp()), format="json")
    assert response.status_code == 400
    assert "without your token" in response.json()["anonymous"][0]
    assert not ConfidentialReport.objects.exists()
    named = client.post(URL, body(anonymous=False), format="json")
    assert named.status_code == 201
    assert ConfidentialReport.objects.get().reporter == cast.alice


# --- the time of an anonymous report: the day ----------------------------------------------------


def test_an_anonymous_report_keeps_the_day_and_a_named_one_the_moment(cast, time_machine):
    time_machine.move_to(FILED_AT, tick=False)
    api().post(URL, body(department=cast.roads.pk), format="json")
    named = api()
    named.force_authenticate(cast.alice)
    named.post(URL, body(anonymous=False, department=cast.roads.pk), format="json")
    anonymous, signed = ConfidentialReport.objects.order_by("id")
    midnight = dt.datetime(2026, 12, 7, tzinfo=SHANGHAI)
    assert anonymous.created_at == anonymous.updated_at == midnight
    assert signed.created_at == FILED_AT
    # The inspectors' inbox row names the report: it keeps the same day, nothing finer.
    told = Notification.objects.filter(link__endswith=f"/{anonymous.pk}/")
    assert told.exists() and {note.created_at for note in told} == {midnight}


def test_the_console_lists_reports_of_one_day_newest_first_with_the_date(cast, people):
    first = api().post(URL, body(text="First."), format="json")
    second = api().post(URL, body(text="Second."), format="json")
    assert first.status_code == second.status_code == 201
    html = page_client(people["ivan"]).get(reverse("inspector:reports")).content.decode()
    older, newer = ConfidentialReport.objects.order_by("id")
    assert html.index(f"#{newer.pk} ") < html.index(f"#{older.pk} ")  # same day: newest first
    day = dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d")
    assert day in html and f"{day} 00:00" not in html
    listed = api()
    listed.force_authenticate(people["ivan"])
    ids = [row["id"] for row in listed.get(URL).json()["results"]]
    assert ids == sorted(ids, reverse=True)


# --- the scan: nothing anywhere links a report to its filer --------------------------------------


def _tables() -> dict[str, list[str]]:
    """Every row of every table, as text."""
    rows = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows[table] = [" | ".join(str(value) for value in row) for row in cursor.fetchall()]
    return rows


def _cache_items() -> list[bytes]:
    """Every key and value in the cache (locmem in the embedded mode, else Redis)."""
    backend = cache._cache if hasattr(cache, "_cache") else None
    if isinstance(backend, dict):  # LocMemCache: key -> pickled value
        return [key.encode() + b" " + value for key, value in backend.items()]
    client = cache._cache.get_client()  # Redis
    return [key + b" " + (client.get(key) or b"") for key in client.scan_iter(count=1000)]


def _identity_markers(user) -> list[str]:
    """The reporter's address, browser and account, and every keyed hash of them we know of."""
    markers = [IP, USER_AGENT, MARKER_UA, user.username, user.email]
    markers.append(clients.pseudonym(IP))
    for who in (f"ip:{IP}", f"user:{user.pk}"):  # the throttle key the audit broke
        markers.append(
            salted_hmac("qinqing.confidential-report-throttle", who, algorithm="sha256").hexdigest()
        )
    markers += [hashlib.sha256(IP.encode()).hexdigest(), str(pickle.dumps(IP))]
    return [marker for marker in markers if marker]


def _fine_times() -> list[str]:
    """FILED_AT to the minute, as databases and logs write it (UTC and local)."""
    utc = FILED_AT.astimezone(dt.UTC)
    return [f"{moment:%Y-%m-%d}{sep}{moment:%H:%M}" for moment in (utc, FILED_AT) for sep in " T"]


MARKED = {"REMOTE_ADDR": IP, "HTTP_USER_AGENT": USER_AGENT, "HTTP_X_FORWARDED_FOR": IP}


def _log_in_at_the_office(reporter):
    """The reporter's token and page session, from another address (an hour before filing)."""
    login = {"username": reporter.username, "password": PASSWORD}
    token = api().post("/api/v1/auth/token/", login, format="json", REMOTE_ADDR=OFFICE)
    page = page_client(None)
    assert page.post("/accounts/login/", login, REMOTE_ADDR=OFFICE).status_code == 302
    with_token = api()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    return with_token, page


def _file_every_way(cast, with_token, page) -> list[int]:
    """Anonymous reports logged in (refused) and logged out, through the API and the page."""
    anonymous_form, report_form = reverse("inspector:report-anonymous"), URL_PAGE
    logged_out = page_client(None)
    return [
        with_token.post(URL, body(stamp=stamp()), format="json", **MARKED).status_code,
        page.post(anonymous_form, {"kind": "other", "text": "x"}, **MARKED).status_code,
        page.post(
            report_form, {"kind": "other", "text": "x", "anonymous": "on"}, **MARKED
        ).status_code,
        api().post(URL, body(stamp=stamp()), format="json", **MARKED).status_code,
        api().post(URL, body(department=cast.roads.pk), format="json", **MARKED).status_code,
        logged_out.post(
            report_form, {"kind": "buck_passing", "text": "Desk.", "stamp": stamp()}, **MARKED
        ).status_code,
        logged_out.post(
            anonymous_form, {"kind": "other", "text": "No script."}, **MARKED
        ).status_code,
    ]


@pytest.mark.parametrize("proxies", [0, 1])
def test_the_anonymity_scan_finds_nothing_that_links_a_report_to_its_filer(
    cast, settings, caplog, time_machine, proxies
):
    settings.TRUSTED_PROXIES = proxies
    rates(settings, confidential_report_unstamped="100/hour")
    reporter = UserFactory(
        username="zed_whistle_marker", email="zed@marker.example", enterprises=[cast.acme]
    )
    time_machine.move_to(FILED_AT - dt.timedelta(hours=1), tick=False)
    with_token, page = _log_in_at_the_office(reporter)
    before = _tables()
    caplog.set_level(logging.DEBUG)
    time_machine.move_to(FILED_AT, tick=False)
    codes = _file_every_way(cast, with_token, page)
    assert codes == [400, 400, 400, 201, 201, 200, 200], codes
    assert ConfidentialReport.objects.count() == 4
    assert not ConfidentialReport.objects.filter(reporter__isnull=False).exists()

    markers = _identity_markers(reporter)
    changed = {
        table: [row for row in rows if row not in before.get(table, [])]
        for table, rows in _tables().items()
    }
    changed = {table: rows for table, rows in changed.items() if rows}
    assert "compliance_confidentialreport" in changed  # the scan sees what was written
    for table, rows in changed.items():
        for row in rows:
            for marker in markers + _fine_times():
                assert marker not in row, f"{marker!r} in {table}: {row}"
    for table, rows in _tables().items():  # not even somewhere the filing did not touch
        for row in rows:
            for marker in (IP, USER_AGENT, MARKER_UA, clients.pseudonym(IP)):
                assert marker not in row, f"{marker!r} in {table}: {row}"

    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for marker in markers:
        assert marker not in logged, marker

    stored = b"\n".join(_cache_items())
    for marker in markers:
        assert marker.encode() not in stored, marker


def test_the_scan_would_see_an_identity_if_one_were_stored(cast, caplog):
    """Positive control: planted markers show up in the table dump, the logs and the cache."""
    reporter = UserFactory(username="zed_named_marker")
    ConfidentialReport.objects.create(kind="other", text=USER_AGENT, reporter=reporter)
    assert any(USER_AGENT in row for row in _tables()["compliance_confidentialreport"])
    cache.set(f"planted:{clients.pseudonym(IP)}", IP)
    stored = b"\n".join(_cache_items())
    assert clients.pseudonym(IP).encode() in stored and IP.encode() in stored
    caplog.set_level(logging.DEBUG)
    logging.getLogger("qinqing").info("seen %s", IP)
    assert IP in "\n".join(record.getMessage() for record in caplog.records)
