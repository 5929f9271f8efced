"""Shared fixtures: the cast of named personas, API clients, and requests in every state.

The cast (one city, two districts, three enterprises' worth of people):

    Fuzhou (city, region "fuzhou")
    ├── Gulou District (region "gulou")
    │   ├── Roads Bureau        — hank, hilda (handlers): requests are assigned here
    │   └── Environment Bureau  — hugo (handler of another department: an outsider)
    └── Minhou County (region "minhou")
        └── Land Bureau

    acme   (region gulou)   — alice acts for it; liam (liaison) and leona (leader) are linked
    globex (region minhou)  — mallory acts for it (the outsider enterprise)

    olga   liaison of Minhou County, linked to nothing in Gulou (outsider)
    lars   leader of Minhou County, not linked to acme (outsider)
    ivan   inspector without a department: the whole portal
    irene  inspector of Minhou County (outsider for Gulou)
    ada    administrator
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test.utils import override_settings
from rest_framework.test import APIClient

from officials.models import Department, Enterprise, Role, User
from requests_app.models import ServiceRequest
from requests_app.workflow import transition
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    ServiceRequestFactory,
    UserFactory,
    category,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(moment: str | dt.datetime) -> dt.datetime:
    """'2026-10-08 03:00' in Asia/Shanghai (an aware datetime passes through)."""
    if isinstance(moment, dt.datetime):
        return moment
    return dt.datetime.fromisoformat(moment).replace(tzinfo=SHANGHAI)


@pytest.fixture
def statutory(db):
    """The working-day calendar as the portal uses it: the table the data migration filled."""
    from requests_app.deadlines import DeadlinePolicy, calendar_for

    return calendar_for(DeadlinePolicy(day_kind="working"))


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Each test reads the working-day calendar afresh: the copy is kept per process, and a
    calendar row a test added and rolled back must not be counted by the next test."""
    from requests_app.working_time import forget_calendars

    forget_calendars()


@pytest.fixture(scope="session", autouse=True)
def _test_settings(tmp_path_factory):
    """A cheap password hash (users are made by the hundred), uploads kept out of the repo, and
    tasks run in-process: no test publishes to a real broker unless it says so (the Redis round
    trip in test_celery_redis.py turns this off for itself)."""
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        MEDIA_ROOT=str(tmp_path_factory.mktemp("media")),
        CELERY_TASK_ALWAYS_EAGER=True,
        # Timeline checkpoints of the tests never mix with a real var/checkpoints.
        CHECKPOINT_DIR=tmp_path_factory.mktemp("checkpoints"),
        # Inspectors and admins log in without setting up two-factor; the requirement has its
        # own tests (tests/officials/test_mfa.py).
        MFA_REQUIRED_ROLES=[],
    ):
        yield


@pytest.fixture
def still_clock(time_machine):
    """The clock stands still at the moment the test starts. A rate counts hits in fixed
    windows (core.clients.hit: this minute, this hour); with the clock running, a test's
    requests could fall on both sides of a window's end and the count start again half-way
    (a loaded CI run saw it: the ninth of eight token logins a minute answered 400, not 429)."""
    time_machine.move_to(dt.datetime.now(dt.UTC), tick=False)


@pytest.fixture(scope="session", autouse=True)
def _a_redis_database_per_worker(request):
    """With REDIS_URL, each xdist worker caches in a Redis database of its own (1, 2, …).

    A test that empties the cache (FLUSHDB: the throttle and anonymity tests) would otherwise
    wipe the counters a test of the other worker is counting at that moment.
    """
    worker = getattr(request.config, "workerinput", {}).get("workerid", "")
    cache = settings.CACHES["default"]
    location = cache.get("LOCATION") or ""
    if not worker.startswith("gw") or not location.startswith("redis"):
        yield
        return
    parts = urlsplit(location)
    own = urlunsplit(parts._replace(path=f"/{1 + int(worker[2:])}"))
    with override_settings(CACHES={"default": {**cache, "LOCATION": own}}):
        yield


@dataclass
class Cast:
    city: Department
    gulou: Department
    roads: Department
    environment: Department
    minhou: Department
    land: Department
    acme: Enterprise
    globex: Enterprise
    alice: User
    mallory: User
    liam: User
    olga: User
    hank: User
    hilda: User
    hugo: User
    leona: User
    lars: User
    ivan: User
    irene: User
    ada: User

    def __getitem__(self, name: str):
        return getattr(self, name)


# The insider of each role for a request of acme assigned to the Roads Bureau.
INSIDERS = {
    Role.ENTREPRENEUR: "alice",
    Role.LIAISON: "liam",
    Role.HANDLER: "hank",
    Role.LEADER: "leona",
    Role.INSPECTOR: "ivan",
    Role.ADMIN: "ada",
}
# Someone of each (scoped) role who must not even learn that acme's request exists.
OUTSIDERS = {
    Role.ENTREPRENEUR: "mallory",
    Role.LIAISON: "olga",
    Role.HANDLER: "hugo",
    Role.LEADER: "lars",
    Role.INSPECTOR: "irene",
}


@pytest.fixture
def cast(db) -> Cast:
    city = DepartmentFactory(name="Fuzhou Municipal Government", region="fuzhou")
    gulou = DepartmentFactory(name="Gulou District", parent=city, region="gulou")
    roads = DepartmentFactory(name="Gulou Roads Bureau", parent=gulou)
    roads.categories.add(category("infrastructure"))
    environment = DepartmentFactory(name="Gulou Environment Bureau", parent=gulou)
    minhou = DepartmentFactory(name="Minhou County", parent=city, region="minhou")
    land = DepartmentFactory(name="Minhou Land Bureau", parent=minhou)
    acme = EnterpriseFactory(name="Acme Valves", region="gulou")
    globex = EnterpriseFactory(name="Globex Textiles", region="minhou")

    def person(username: str, role: str, **kwargs) -> User:
        return UserFactory(username=username, name=username.title(), role=role, **kwargs)

    return Cast(
        city=city,
        gulou=gulou,
        roads=roads,
        environment=environment,
        minhou=minhou,
        land=land,
        acme=acme,
        globex=globex,
        alice=person("alice", Role.ENTREPRENEUR, enterprises=[acme]),
        mallory=person("mallory", Role.ENTREPRENEUR, enterprises=[globex]),
        liam=person("liam", Role.LIAISON, enterprises=[acme]),
        olga=person("olga", Role.LIAISON, department=minhou, enterprises=[globex]),
        hank=person("hank", Role.HANDLER, department=roads),
        hilda=person("hilda", Role.HANDLER, department=roads),
        hugo=person("hugo", Role.HANDLER, department=environment),
        leona=person("leona", Role.LEADER, department=minhou, enterprises=[acme]),
        lars=person("lars", Role.LEADER, department=minhou),
        ivan=person("ivan", Role.INSPECTOR),
        irene=person("irene", Role.INSPECTOR, department=minhou),
        ada=person("ada", Role.ADMIN, is_staff=True),
    )


@pytest.fixture
def api() -> Callable[[User | None], APIClient]:
    """`api(user)`: an API client logged in as `user` (`api(None)`: anonymous)."""

    def client_for(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


# --- requests in every state -------------------------------------------------------------------
# Each state is reached by driving the real workflow, the way people would. The pending extension
# is a state of its own for the table: `extend` and `approve_extension` depend on it.

PENDING_EXTENSION = "rectifying+extension_pending"
# Closed on the liaison's follow-up call (回访), not by the enterprise: a close it may dispute.
CLOSED_ON_FOLLOW_UP = "closed+follow_up"


def follow_up_call(**overrides) -> dict:
    """A follow-up call as a liaison's review records it (made just now)."""
    from django.utils import timezone

    return {
        "channel": "phone",
        "contacted_at": timezone.now(),
        "contact_name": "Alice",
        "note": "She says the road is fine now.",
        **overrides,
    }


Step = tuple[str, str, Callable[[Cast, ServiceRequest], dict]]

_ASSIGN: Step = ("assign", "liam", lambda c, r: {"department": c.roads, "handler": c.hank})
_START: Step = ("start", "hank", lambda c, r: {})
_PATHS: dict[str, list[Step]] = {
    "submitted": [],
    "assigned": [_ASSIGN],
    "rectifying": [_ASSIGN, _START],
    PENDING_EXTENSION: [
        _ASSIGN,
        _START,
        (
            "extend",
            "hank",
            lambda c, r: {
                "until": r.answer_due_at + dt.timedelta(days=14),
                "plan": "Week 1: survey. Week 2: repave.",
            },
        ),
    ],
    "info_needed": [
        _ASSIGN,
        _START,
        ("request_info", "hank", lambda c, r: {"question": "Which gate?"}),
    ],
    "feedback": [_ASSIGN, _START, ("feedback", "hank", lambda c, r: {"message": "Repaved."})],
    "closed": [
        _ASSIGN,
        _START,
        ("feedback", "hank", lambda c, r: {"message": "Repaved."}),
        ("review", "alice", lambda c, r: {"accepted": True, "rating": 5}),
    ],
    CLOSED_ON_FOLLOW_UP: [
        _ASSIGN,
        _START,
        ("feedback", "hank", lambda c, r: {"message": "Repaved."}),
        (
            "review",
            "liam",
            lambda c, r: {"accepted": True, "rating": 4, "follow_up": follow_up_call()},
        ),
    ],
    "rejected": [("reject", "liam", lambda c, r: {"reason": "A private contract dispute."})],
    "merged": [
        _ASSIGN,
        (
            "merge",
            "liam",
            lambda c, r: {"into": ServiceRequestFactory(enterprise=c.acme, by=c.alice)},
        ),
    ],
    "withdrawn": [_ASSIGN, _START, ("withdraw", "alice", lambda c, r: {"reason": "Fixed."})],
}
STATES = tuple(_PATHS)


def status_of(state: str) -> str:
    return state.split("+")[0]


def drive(cast: Cast, request: ServiceRequest, state: str) -> ServiceRequest:
    """Take a freshly submitted request of acme to `state` through the workflow."""
    for action, actor, payload in _PATHS[state]:
        request = transition(request.pk, action, by=cast[actor], **payload(cast, request))
    return request


@pytest.fixture
def request_in(cast) -> Callable[[str], ServiceRequest]:
    """`request_in(state)`: a request of acme filed by alice and driven to `state`."""

    def make(state: str) -> ServiceRequest:
        return drive(cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), state)

    return make


@pytest.fixture
def eager_tasks(settings):
    """Celery tasks run in-process at once and e-mails land in `django.core.mail.outbox`.

    The app reads its configuration through Django's settings, so this also keeps a test that
    enqueues (an on-commit callback, the sweep's re-send of unsent e-mails) off any real broker.
    """
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


# The session settings the reports' analytic pass changes (reports.figures).
ANALYTIC_SETTINGS = ("jit", "work_mem", "enable_indexscan")
# Inside both analytic_queries and analytic_plan.
IN_THE_ANALYTIC_PASS = {"jit": "off", "work_mem": "64MB", "enable_indexscan": "off"}


def planner_settings(connection) -> dict[str, str]:
    """The settings the analytic pass changes, as the connection's session sees them now."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('jit'), current_setting('work_mem'), "
            "current_setting('enable_indexscan')"
        )
        return dict(zip(ANALYTIC_SETTINGS, cursor.fetchone(), strict=True))
