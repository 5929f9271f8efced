"""The OpenAPI schema, fuzzed with schemathesis against a running server: no 500, nothing the
schema does not allow (status codes, content types, bodies).

Every operation is tried as the administrator (who sees everything) and as an entrepreneur (who
sees little), with a bounded number of generated cases each, so the whole run stays short.
"""

import pytest
import schemathesis
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
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
]
EXAMPLES = 6  # per operation and persona: ~50 operations × 2 personas in about two minutes


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
    yield schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    cache.clear()


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same cases on every run: CI does not flake on a lucky draw
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _fuzz(schema, user) -> dict[str, str]:
    """Every operation with its own bounded run; what went wrong, by operation."""
    token, _ = Token.objects.get_or_create(user=user)
    headers = {"Authorization": f"Token {token.key}"}
    problems = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @FUZZ
        @given(case=operation.as_strategy())
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as error:  # every operation's, not the first
            problems[operation.label] = str(error)[:2000]
    return problems


@pytest.mark.parametrize("persona", ["ada", "alice"])
def test_the_api_keeps_to_its_schema(api_schema, fuzz_world, persona):
    problems = _fuzz(api_schema, fuzz_world[persona])
    assert problems == {}, "\n\n".join(f"{label}:\n{text}" for label, text in problems.items())
