"""Fixtures of the compliance tests: the inspectors' extra personas and throttles out of the way."""

import pytest

from officials.models import Role, User
from tests.compliance.inspection_helpers import NOT_READERS, READERS
from tests.factories import UserFactory


@pytest.fixture
def generous_throttles(settings):
    """Reports are throttled globally (inspection/throttling.py) and the counts live in a cache
    no test rolls back: lift the limits (the throttle's own tests set low rates)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}),
            "confidential_report": "100000/minute",
            "confidential_report_unstamped": "100000/minute",
            "confidential_status": "100000/minute",
        },
    }


@pytest.fixture
def people(cast) -> dict[str | None, User | None]:
    """The cast, plus gina (inspector of Gulou District) and root (a superuser); None: nobody."""
    extra = {
        "gina": UserFactory(
            username="gina", name="Gina", role=Role.INSPECTOR, department=cast.gulou
        ),
        "root": UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True),
    }
    names = [n for n in (*NOT_READERS, *READERS) if n and n not in extra]
    return {**{name: cast[name] for name in names}, **extra, None: None}
