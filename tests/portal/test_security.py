"""Security settings and defences: deploy checks, headers and CSP, logins, sessions, input."""

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache

from officials.models import Department
from portal.logging import JsonFormatter
from tests.conftest import at
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "QINQING_PRODUCTION": "true",
    "DJANGO_SECRET_KEY": "a-test-secret-that-is-long-and-random-enough-0123456789-abcdefghij",
    "DATABASE_URL": "sqlite:///:memory:",
    "QINQING_TIMELINE_KEY": "k1:a-test-timeline-key-that-is-long-enough-0123456789",
    "QINQING_CHECKPOINT_KEY": "yS5ZgqBxJrR8xXhxPZ6aPbVKyJ2nHnEPVGyjXw2t0pE=",
}


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "QINQING_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "QINQING_VAR_DIR": str(ROOT / "var"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- production settings -----------------------------------------------------------------------


def test_the_deploy_check_is_clean_in_production():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY must be set in production"),
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG must be false in production"),
    ],
)
def test_production_refuses_to_start_unsafe(env, message):
    result = _manage("check", **{**PRODUCTION_ENV, **env})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_logs_are_json_lines():
    result = _manage(
        "shell",
        "-c",
        "import logging; logging.getLogger('qinqing').warning('hello %s', 'there')",
        **PRODUCTION_ENV,
    )
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello there"
    assert line["level"] == "WARNING"
    assert line["logger"] == "qinqing"


def test_the_json_formatter_keeps_extras_and_exceptions():
    logger = logging.getLogger("test")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logger.makeRecord(
            "test",
            logging.ERROR,
            __file__,
            1,
            "failed %d",
            (3,),
            sys.exc_info(),
            extra={"request_id": 42, "path": Path("/x")},
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed 3"
    assert entry["request_id"] == 42
    assert entry["path"] == "/x"  # not JSON by itself: written as text, never an error
    assert "ValueError: boom" in entry["exception"]
    assert entry["time"].endswith("+00:00")


# --- headers and the content security policy ---------------------------------------------------


@pytest.mark.django_db
def test_pages_carry_the_security_headers(client):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> block"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event-handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def _templates() -> list[Path]:
    """Templates a browser renders under the CSP. Not e-mails (read in mail programs, which
    need inline styles) nor the `*_pdf.html` a PDF is printed from on the server."""
    return [
        path
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if "email" not in path.relative_to(ROOT / "templates").parts
        and not path.name.endswith("_pdf.html")
    ]


@pytest.mark.parametrize("template", _templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_needs_unsafe_inline(template):
    """The CSP forbids inline script and style: they belong in static files."""
    text = template.read_text()
    found = [what for pattern, what in INLINE if pattern.search(text)]
    assert found == []


@pytest.mark.django_db
def test_the_api_docs_load_their_script_from_a_url(client, cast):
    client.force_login(cast.ada)
    page = client.get("/api/docs/").content.decode()
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


# --- logging in --------------------------------------------------------------------------------


@pytest.fixture
def fresh_cache():
    """DRF's throttle counts live in the cache, which tests do not roll back."""
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_the_login_page_does_not_tell_whether_a_user_exists(client, cast):
    known = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    unknown = client.post("/accounts/login/", {"username": "nobody-at-all", "password": "wrong"})
    assert known.status_code == unknown.status_code == 200

    def errors(response) -> str:
        return re.findall(
            r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S
        )

    assert errors(known) == errors(unknown) != []


@pytest.mark.django_db
def test_the_token_endpoint_does_not_tell_whether_a_user_exists(client, cast, fresh_cache):
    def attempt(username):
        return client.post(
            "/api/v1/auth/token/",
            {"username": username, "password": "wrong"},
            content_type="application/json",
        )

    known, unknown = attempt("alice"), attempt("nobody-at-all")
    assert known.status_code == unknown.status_code == 400
    assert known.json() == unknown.json()


@pytest.mark.django_db
def test_a_made_up_user_name_is_locked_out_like_a_real_one(client, cast, settings):
    """Otherwise a lock-out (or its absence) would confirm that a user name exists."""

    def lock_out(username):
        codes = [
            client.post("/accounts/login/", {"username": username, "password": "x"}).status_code
            for _ in range(settings.AXES_FAILURE_LIMIT)
        ]
        return codes, client.post("/accounts/login/", {"username": username, "password": "x"})

    real_codes, real = lock_out("alice")
    fake_codes, fake = lock_out("nobody-at-all")
    assert real_codes == fake_codes
    assert real.status_code == fake.status_code == 429


@pytest.mark.django_db
def test_one_address_trying_many_user_names_is_throttled(client, cast, fresh_cache, still_clock):
    """django-axes locks a user name; the API's rate limit stops one address spraying many.

    The clock stands still: the limit counts per minute, and a CI run once crossed the minute's
    end half-way through the 31 tries, so the 31st was the first of a new window."""
    limit = int(django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    codes = [
        client.post(
            "/api/v1/auth/token/",
            {"username": f"guess{n}", "password": "123456"},
            content_type="application/json",
        ).status_code
        for n in range(limit + 1)
    ]
    assert codes == [400] * limit + [429]
    # ... the right password included, until the window passes.
    right = client.post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": PASSWORD},
        content_type="application/json",
    )
    assert right.status_code == 429
    assert "detail" in right.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "password, problem",
    [
        ("short-1", "too short"),
        ("password123", "too common"),
        ("4815162342108", "entirely numeric"),
        ("newcomer12", "too similar to the user name"),
    ],
)
def test_weak_passwords_are_refused(api, cast, password, problem):
    response = api(cast.ada).post(
        "/api/v1/users/",
        {"username": "newcomer", "password": password, "name": "Newcomer", "role": "liaison"},
        format="json",
    )
    assert response.status_code == 400
    assert "password" in response.json()


@pytest.mark.django_db
def test_a_session_ends_with_the_browser_and_after_its_age(client, cast, settings):
    with time_machine.travel(at("2026-10-12 09:00"), tick=False):
        response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
        assert response.status_code == 302
        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        assert not cookie["expires"] and not cookie["max-age"]  # ends with the browser
        assert cookie["httponly"]
        assert cookie["samesite"] == "Lax"
        assert client.get("/requests/").status_code == 200
    late = at("2026-10-12 09:00").timestamp() + settings.SESSION_COOKIE_AGE + 1
    with time_machine.travel(late, tick=False):
        response = client.get("/requests/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- input the database cannot store -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_nul_in_input_is_400_on_its_field_not_500(api, cast, fmt):
    """A NUL in a looked-up value (a category code) would reach PostgreSQL, which refuses it."""
    response = api(cast.ada).post(
        "/api/v1/departments/", {"name": "Harbour", "categories": ["lab\x00or"]}, format=fmt
    )
    assert response.status_code == 400
    assert list(response.json()) == ["categories"]


@pytest.mark.django_db
def test_nul_in_a_form_body_is_400(api, cast):
    response = api(cast.ada).post(
        "/api/v1/departments/",
        "name=Harbour&categories=lab%00or",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["categories"]


@pytest.mark.django_db
def test_a_field_the_api_does_not_read_is_ignored_nul_or_not(api, cast):
    """The schema lets a body carry more fields than the operation reads; they are ignored."""
    response = api(cast.ada).post(
        "/api/v1/departments/", {"name": "Harbour", "x\x00y": "1", "z": "a\x00b"}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, body, field",
    [
        # A unique name is looked up before the field's own NUL check would run.
        ("/api/v1/users/", {"username": "n\x00b", "password": "x", "role": "liaison"}, "username"),
        ("/api/v1/auth/token/", {"username": "ada\x00", "password": "x"}, "username"),
    ],
)
def test_nul_in_a_looked_up_name_is_400(api, cast, path, body, field):
    response = api(cast.ada).post(path, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/v1/departments/", {"name": 7}, "name"),
        ("/api/v1/departments/", {"name": True}, "name"),
        ("/api/v1/auth/token/", {"username": 1, "password": 2}, "username"),
    ],
)
def test_text_fields_take_only_text_in_json(api, cast, path, body, field):
    """DRF would store 7 as "7"; the schema says a string."""
    response = api(cast.ada).post(path, body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Department.objects.filter(name__in=["7", "True"]).exists()
