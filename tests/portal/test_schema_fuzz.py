"""The OpenAPI schema, fuzzed with schemathesis against a running server: no 500, nothing the
schema does not allow (status codes, content types, bodies), valid input accepted and invalid
input refused, undeclared methods refused with an Allow header, no answer without credentials.

Every operation is tried as the administrator (who sees everything) and as an entrepreneur (who
sees little), with a bounded number of generated cases each (valid and invalid), so the whole
run stays short.
"""

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.generation.meta import CoverageScenario
from schemathesis.specs.openapi import checks as openapi_checks

from tests.conftest import drive
from tests.factories import ServiceRequestFactory

pytestmark = [
    # The server runs in another thread: what the test creates must be committed. The data
    # migrations' rows (categories, the calendar) are restored for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.positive_data_acceptance,
    openapi_checks.negative_data_rejection,
    openapi_checks.missing_required_header,
    openapi_checks.unsupported_method,
    openapi_checks.allow_header_conformance,
    openapi_checks.ignored_auth,
]
# Not here: use_after_free, ensure_resource_availability and object_level_authorization are
# stateful — they judge a request by an earlier one (a DELETE, a create, another identity's
# create), which schemathesis chains only in its stateful phase, along OpenAPI links; the schema
# declares none (and the API deletes nothing, so use_after_free would have nothing to judge).

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
    "GET /api/v1/requests/{id}/events/": "the category filter names a category that exists",
    "GET /api/v1/requests/{id}/eligible-handlers/": "the department must exist",
    "POST /api/v1/requests/{id}/assign/": "the department must exist",
    "POST /api/v1/requests/{id}/transfer/": "the department must exist",
    "POST /api/v1/requests/{id}/merge/": "the request merged into must exist",
    "POST /api/v1/requests/{id}/attachments/": "an empty file, a type the portal does not take",
    "POST /api/v1/reports/confidential/": "the enterprise and the department must exist",
}
CONFIG = schemathesis.Config.from_dict(
    {
        "operations": [
            {
                "include-name": label,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]
                    }
                },
            }
            for label in REFUSED_BY_DESIGN
        ]
    }
)
EXAMPLES = 12  # per operation, persona and mode (valid, invalid): about two minutes in all


@pytest.fixture
def fuzz_world(cast):
    """Requests of acme in a few states, so generated ids sometimes hit something real."""
    for state in ("submitted", "rectifying", "feedback", "closed"):
        drive(cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), state)
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


@pytest.fixture
def api_schema(live_server, fuzz_world):
    cache.clear()  # the token endpoint's throttle counts: none left over, none left behind
    yield schemathesis.openapi.from_url(f"{live_server.url}/api/schema/", config=CONFIG)
    cache.clear()


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI does not flake on a lucky draw
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _fuzz(schema, user) -> dict[str, str]:
    """Every operation with its own bounded runs; what went wrong, by operation."""
    problems = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        # A fresh token for each operation: the revoke endpoint ends the one it is called with.
        token, _ = Token.objects.get_or_create(user=user)
        headers = {"Authorization": f"Token {token.key}"}
        for mode in _modes(operation):

            @FUZZ
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            _collect(problems, f"{operation.label} ({mode.value})", run)
        _collect(
            problems, f"{operation.label} (methods, headers)", _probe, schema, operation, headers
        )
    return problems


def _modes(operation):
    """Valid input, and invalid input where the operation takes any (else there is none)."""
    # Credentials show up as parameters too; they are no input of the operation's own.
    inputs = [p for p in operation.iter_parameters() if p.location.name in ("PATH", "QUERY")]
    if inputs or operation.body:
        return (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    return (GenerationMode.POSITIVE,)


def _collect(problems, label, function, *args):
    try:
        function(*args)
    except (Exception, BaseExceptionGroup) as error:  # every operation's, not the first
        problems[label] = str(error)[:2000]


def _probe(schema, operation, headers):
    for case in _probes(schema, operation):
        case.call_and_validate(headers=headers, checks=CHECKS)


def _probes(schema, operation):
    """The coverage phase's requests that the method and header checks judge (few, cheap):
    each undeclared method on the operation's path (OPTIONS too, whose Allow is checked) and
    each required header left out."""
    config = schema.config.generation_for(operation=operation, phase="coverage")
    modes = [GenerationMode.NEGATIVE]
    for case in schema.iter_coverage_cases(
        operation, generation_modes=modes, generation_config=config
    ):
        data = case.meta.phase.data
        missing_header = (
            data.scenario == CoverageScenario.MISSING_PARAMETER
            and data.parameter_location is not None
            and data.parameter_location.name == "HEADER"
        )
        if data.scenario == CoverageScenario.UNSPECIFIED_HTTP_METHOD or missing_header:
            yield case


@pytest.mark.parametrize("persona", ["ada", "alice"])
def test_the_api_keeps_to_its_schema(api_schema, fuzz_world, persona):
    problems = _fuzz(api_schema, fuzz_world[persona])
    assert problems == {}, "\n\n".join(f"{label}:\n{text}" for label, text in problems.items())
