"""The OpenAPI schema, fuzzed by schemathesis against a running server, with every check and
every phase: the schema's examples, the coverage phase (each boundary, each wrong type, each
missing field, each undeclared method), random valid and invalid input, and the stateful phase,
which follows the links schemathesis infers (an id a create answers, used by the next call).

The checks: no 500; nothing the schema does not allow (status codes, content types, headers,
bodies); valid input accepted and invalid input refused; undeclared methods refused with an
Allow header; no answer without credentials; a created resource is there to read
(ensure_resource_availability; nothing is deleted, so use_after_free has nothing to judge); and
one enterprise's objects are not served to another's entrepreneur, nor one district's to another
district's liaison (object_level_authorization).

Each operation is tried as the first of the cast it admits (schemathesis escalates from the
entrepreneur through the officials to the administrator on a 401 or 403). The run is the
`st run` command line, as an operator or a client would run it; its report is the failure
message.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from tests.conftest import drive
from tests.factories import ServiceRequestFactory

pytestmark = [
    # The server runs in another thread: what the test creates must be committed. The data
    # migrations' rows (categories, the calendar) are restored for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# In the order schemathesis tries them on an operation that answers 401 or 403.
IDENTITIES = ["alice", "liam", "hank", "leona", "ivan", "ada", "mallory", "olga"]
# Who must not see each other's objects: the two enterprises' people, and two liaisons of
# districts that do not overlap.
PEERS = ["alice", "mallory", "liam", "olga"]
# Ends the token it is called with, and so the rest of the run: tests/portal (tokens) cover it.
NOT_FUZZED = ["/api/v1/auth/token/revoke/"]
EXAMPLES = 6  # per operation and phase: about three minutes in all

# Input the schema allows but the API refuses by design, with a 400 per field (API.md), for what a
# JSON schema cannot say: that a referenced id or code exists, that a name is not taken, that a
# credit code's check digit holds, that a password is strong enough, that a file is not empty.
REFUSED_BY_DESIGN = {
    "POST /api/v1/auth/token/": "credentials that do not exist (API.md: wrong credentials → 400)",
    "POST /api/v1/enterprises/": "the credit code's check digit; a credit code already taken",
    "POST /api/v1/departments/": "the parent department and category codes must exist",
    "POST /api/v1/users/": "a username already taken; the password validators; the department",
    "POST /api/v1/requests/": "the enterprise and the category must exist",
    "GET /api/v1/requests/": "the category filter names a category that exists",
    "GET /api/v1/requests/{id}/eligible-handlers/": "the department must exist",
    "POST /api/v1/requests/{id}/assign/": "the department must exist",
    "POST /api/v1/requests/{id}/transfer/": "the department must exist",
    "POST /api/v1/requests/{id}/merge/": "the request merged into must exist",
    "POST /api/v1/requests/{id}/attachments/": "an empty file, a type the portal does not take",
    "POST /api/v1/reports/confidential/": "the enterprise and the department must exist",
    "POST /api/v1/reports/confidential/additions/": "the stamp must answer a live challenge "
    "(inspection/throttling.py)",
    "POST /api/v1/interactions/": "the enterprise must exist",
    "POST /api/v1/gifts/": "the enterprise must exist",
    "POST /api/v1/asset-uses/": "the enterprise must exist",
    "POST /api/v1/declarations/": "the enterprise must exist",
    "POST /api/v1/visit-filings/": "the enterprise must exist",
    "POST /api/v1/requests/{id}/review/": "accepting takes a rating, rejecting a comment, and a "
    "liaison's review a follow-up call (API.md): a rule across fields and roles",
    "PATCH /api/v1/me/": "a kind's e-mail and digest need its inbox, and a digest needs e-mail: "
    "a rule across a kind's flags, checked with the stored ones a partial change keeps",
}


def _config(identities: Path) -> str:
    operations = "".join(
        f"""
[[operations]]
include-name = {json.dumps(label)}
checks.positive_data_acceptance.expected-statuses = {EXPECTED}
"""
        for label in REFUSED_BY_DESIGN
    )
    return f"""
[auth.wfc]
path = {json.dumps(str(identities))}
peers = {json.dumps(PEERS)}
{operations}"""


EXPECTED = json.dumps(["2xx", "400", "401", "403", "404", "409", "429"])


@pytest.fixture
def fuzz_world(cast):
    """Requests of both enterprises in a few states, so generated ids hit something real."""
    for state in ("submitted", "rectifying", "feedback", "closed"):
        drive(cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), state)
    drive(cast, ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory), "submitted")
    return cast


@pytest.fixture(scope="module")
def live_server():
    """pytest-django's live server, started where Django's test server copes with the portal.

    Django's test server wraps the app in a media-files handler that fails every request when
    MEDIA_URL is None (the portal serves uploads only through a view that checks access); a URL
    on another host makes that handler step aside (as in tests/journeys/conftest.py).
    """
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    with override_settings(MEDIA_URL="http://uploads.invalid/"):
        server = LiveServer("localhost")
    yield server
    server.stop()


def _identities(cast) -> dict:
    """The Web Fuzzing Commons auth document: each persona by its API token."""
    auth = []
    for name in IDENTITIES:
        token, _ = Token.objects.get_or_create(user=getattr(cast, name))
        header = {"name": "Authorization", "value": f"Token {token.key}"}
        auth.append({"name": name, "fixedHeaders": [header]})
    return {"schemaVersion": "0.2.0", "auth": auth}


def test_the_api_keeps_to_its_schema(live_server, fuzz_world, tmp_path):
    identities = tmp_path / "identities.json"
    identities.write_text(json.dumps(_identities(fuzz_world)))
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(identities))
    command = [
        str(Path(sys.executable).with_name("st")),
        "--no-color",
        f"--config-file={config}",
        "run",
        f"{live_server.url}/api/schema/",
        "--checks=all",
        "--phases=examples,coverage,fuzzing,stateful",
        f"--max-examples={EXAMPLES}",
        "--generation-deterministic",  # the same cases on every run: CI does not flake
        "--seed=20261206",
        f"--report-dir={tmp_path / 'report'}",
        *(f"--exclude-path={path}" for path in NOT_FUZZED),
    ]
    cache.clear()  # throttles' counts: none left over, none left behind
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)
    finally:
        cache.clear()
    assert run.returncode == 0, run.stdout[-30000:] + run.stderr[-3000:]
    assert "API Operations:" in run.stdout  # the run did test the operations
