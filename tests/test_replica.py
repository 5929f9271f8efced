"""Reads on a streaming replica (core/replica.py), and the database settings around it.

The router's decisions are tested everywhere, with a replica pretended into being. With
DATABASE_REPLICA_URL set (`.ci/replica` starts a real standby), the rest runs against it: Django
creates the test database on the primary, streaming brings it to the standby, and the "replica"
alias is pointed there (settings make it a test mirror of the primary, so that nothing tries to
create or flush a database on a read-only standby; a mirror alone would read the primary).
"""

import datetime as dt
import importlib
import runpy

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.db import connections, transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import replica
from core.replica import (
    PIN_COOKIE,
    REPLICA,
    PinToPrimaryMiddleware,
    ReplicaRouter,
    pinned_to_primary,
    read_alias,
    reads_from_replica,
    wait_for_replica,
)
from officials.models import Department, User
from reports.figures import Period
from reports.models import ExportJob, ExportStatus
from reports.selectors import quarterly_report, report_scope
from requests_app.models import ServiceRequest
from tests.conftest import IN_THE_ANALYTIC_PASS, planner_settings
from tests.factories import ServiceRequestFactory, category

CATCH_UP_SECONDS = 30


@pytest.fixture
def a_replica(monkeypatch):
    """The router's view of a configured replica that answers, without any database."""
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    monkeypatch.setattr(replica, "_replica_answers", lambda: True)


# --- the router's decisions ----------------------------------------------------------------------


def test_without_a_replica_the_router_has_no_opinion(monkeypatch):
    monkeypatch.setattr(replica, "replica_configured", lambda: False)
    router = ReplicaRouter()
    with reads_from_replica():
        assert router.db_for_read(ServiceRequest) is None
        assert router.db_for_write(ServiceRequest) is None
    assert router.db_for_read(ServiceRequest) is None
    with pytest.raises(MiddlewareNotUsed):
        PinToPrimaryMiddleware(lambda request: HttpResponse())


def test_reads_go_to_the_replica_only_inside_replica_safe_code(a_replica):
    router = ReplicaRouter()
    assert router.db_for_read(ServiceRequest) == "default"
    with reads_from_replica():
        assert router.db_for_read(ServiceRequest) == REPLICA
    assert router.db_for_read(ServiceRequest) == "default"

    @reads_from_replica
    def view():
        return router.db_for_read(ServiceRequest)

    assert view() == REPLICA


def test_writes_go_to_the_primary_and_keep_that_models_reads_there(a_replica):
    router = ReplicaRouter()
    with reads_from_replica():
        assert router.db_for_write(ExportJob) == "default"
        assert router.db_for_read(ExportJob) == "default"
        # The export task's progress on its job does not move the requests it reads.
        assert router.db_for_read(ServiceRequest) == REPLICA
        with reads_from_replica():
            assert router.db_for_read(ExportJob) == "default"  # a nested block inherits
    with reads_from_replica():
        assert router.db_for_read(ExportJob) == REPLICA  # a new block starts afresh
    assert router.db_for_write(ServiceRequest) == "default"


def test_a_pinned_user_reads_from_the_primary(a_replica):
    with pinned_to_primary(), reads_from_replica():
        assert read_alias(ServiceRequest) == "default"
    with reads_from_replica(), pinned_to_primary():
        assert read_alias(ServiceRequest) == "default"


@pytest.mark.django_db
def test_code_called_inside_a_transaction_reads_from_the_primary(a_replica):
    """The caller may have written in its transaction (here, the test's own)."""
    assert connections["default"].in_atomic_block
    with reads_from_replica():
        assert read_alias(ServiceRequest) == "default"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_transaction_the_block_opens_keeps_only_what_it_wrote_on_the_primary(a_replica):
    with reads_from_replica(), transaction.atomic():
        assert read_alias(ServiceRequest) == REPLICA
        ReplicaRouter().db_for_write(Department)
        assert read_alias(Department) == "default"
        assert read_alias(ServiceRequest) == REPLICA


def test_a_replica_that_does_not_answer_leaves_reads_on_the_primary(monkeypatch):
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    monkeypatch.setattr(replica, "_replica_answers", lambda: False)
    with reads_from_replica():
        assert read_alias(ServiceRequest) == "default"


def test_a_task_waits_for_the_replica_or_reads_the_primary(a_replica, monkeypatch):
    monkeypatch.setattr(replica, "wait_for_replica", lambda timeout: False)
    with reads_from_replica(caught_up=True):
        assert read_alias(ServiceRequest) == "default"
    monkeypatch.setattr(replica, "wait_for_replica", lambda timeout: True)
    with reads_from_replica(caught_up=True):
        assert read_alias(ServiceRequest) == REPLICA


def test_the_replica_gets_no_migrations():
    router = ReplicaRouter()
    assert router.allow_migrate(REPLICA, "requests_app") is False
    assert router.allow_migrate("default", "requests_app") is None


# --- the pin after acting ------------------------------------------------------------------------


class _Signed:
    is_authenticated = True


class _Anonymous:
    is_authenticated = False


def _answer_with(seen: list):
    def view(request):
        seen.append(read_alias(ServiceRequest))
        return HttpResponse()

    def replica_safe(request):
        with reads_from_replica():
            return view(request)

    return replica_safe


def _request(method: str, user, cookies=None):
    request = getattr(RequestFactory(), method.lower())("/reports/")
    request.user = user
    request.COOKIES.update(cookies or {})
    return request


def test_a_user_who_acted_reads_from_the_primary_for_a_while(a_replica):
    seen: list[str] = []
    middleware = PinToPrimaryMiddleware(_answer_with(seen))
    start = dt.datetime(2026, 10, 15, 4, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as traveller:
        posted = middleware(_request("POST", _Signed()))
        assert seen == [REPLICA]  # the write itself is the view's business
        pin = {PIN_COOKIE: posted.cookies[PIN_COOKIE].value}
        assert posted.cookies[PIN_COOKIE]["max-age"] == settings.DATABASE_REPLICA_PIN_SECONDS
        assert posted.cookies[PIN_COOKIE]["httponly"]
        middleware(_request("GET", _Signed(), pin))
        assert seen[-1] == "default"
        traveller.shift(settings.DATABASE_REPLICA_PIN_SECONDS + 1)
        middleware(_request("GET", _Signed(), pin))
        assert seen[-1] == REPLICA


@pytest.mark.parametrize(
    ("method", "user"), [("GET", _Signed()), ("POST", _Anonymous()), ("HEAD", _Signed())]
)
def test_reading_or_acting_anonymously_sets_no_pin(a_replica, method, user):
    response = PinToPrimaryMiddleware(_answer_with([]))(_request(method, user))
    assert PIN_COOKIE not in response.cookies


def test_a_forged_pin_is_ignored(a_replica):
    seen: list[str] = []
    PinToPrimaryMiddleware(_answer_with(seen))(_request("GET", _Signed(), {PIN_COOKIE: "1"}))
    assert seen == [REPLICA]


# --- the settings --------------------------------------------------------------------------------


def _settings_with(monkeypatch, **environ) -> dict:
    for name in (
        "DATABASE_URL",
        "DATABASE_REPLICA_URL",
        "DATABASE_CONN_MAX_AGE",
        "QINQING_PRODUCTION",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(importlib.import_module("portal.settings").__file__)


PRODUCTION = {
    "QINQING_PRODUCTION": "true",
    "DJANGO_SECRET_KEY": "a-production-secret-for-this-test-only-0123456789abcdef",
    "QINQING_TIMELINE_KEY": "k1:" + "s" * 48,
    "QINQING_CHECKPOINT_KEY": "A" * 43 + "=",
    "DATABASE_URL": "postgres://qinqing@db:5432/qinqing",
}


def test_the_embedded_mode_opens_a_connection_per_request_and_has_no_replica(monkeypatch):
    values = _settings_with(monkeypatch)
    assert values["DATABASES"]["default"]["CONN_MAX_AGE"] == 0
    assert set(values["DATABASES"]) == {"default"}
    assert "DATABASE_ROUTERS" not in values


def test_production_keeps_checked_connections(monkeypatch):
    values = _settings_with(monkeypatch, **PRODUCTION)
    default = values["DATABASES"]["default"]
    assert (default["CONN_MAX_AGE"], default["CONN_HEALTH_CHECKS"]) == (60, True)
    values = _settings_with(monkeypatch, **PRODUCTION, DATABASE_CONN_MAX_AGE="0")
    assert values["DATABASES"]["default"]["CONN_MAX_AGE"] == 0


def test_a_replica_url_adds_the_alias_and_the_router(monkeypatch):
    values = _settings_with(
        monkeypatch,
        **PRODUCTION,
        DATABASE_REPLICA_URL="postgres://qinqing@db-replica:5432/qinqing",
    )
    copy = values["DATABASES"][REPLICA]
    assert (copy["HOST"], copy["CONN_MAX_AGE"], copy["CONN_HEALTH_CHECKS"]) == (
        "db-replica",
        60,
        True,
    )
    assert copy["OPTIONS"] == {"connect_timeout": 3, "options": "-c jit=off"}
    assert copy["TEST"] == {"MIRROR": "default"}
    assert values["DATABASE_ROUTERS"] == ["core.replica.ReplicaRouter"]


def test_a_replica_needs_postgresql(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_URL"):
        _settings_with(monkeypatch, DATABASE_REPLICA_URL="postgres://qinqing@db-replica/qinqing")


# --- against a real streaming replica ------------------------------------------------------------

needs_replica = pytest.mark.skipif(
    REPLICA not in settings.DATABASES,
    reason="no DATABASE_REPLICA_URL: .ci/replica starts a streaming replica and sets it",
)
on_the_replica = pytest.mark.django_db(
    transaction=True, serialized_rollback=True, databases=["default", REPLICA]
)


@pytest.fixture
def standby():
    """The "replica" alias on the real standby, reading the test database streamed there."""
    connection = connections[REPLICA]
    mirrored = connection.settings_dict
    connection.close()
    connection.settings_dict = {
        **connections.settings[REPLICA],
        "NAME": connections["default"].settings_dict["NAME"],
    }
    cache.clear()  # the dashboard keeps the current quarter's figures
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            assert cursor.fetchone() == (True,), "the replica alias is no standby"
        yield connection
    finally:
        connection.close()
        connection.settings_dict = mirrored


def _caught_up() -> None:
    assert wait_for_replica(CATCH_UP_SECONDS), "the replica did not catch up"


def _tables(queries) -> str:
    return " ".join(query["sql"] for query in queries)


@needs_replica
@on_the_replica
def test_a_row_committed_on_the_primary_is_read_on_the_replica(standby):
    department = Department.objects.create(name="Replicated Bureau", region="replicated")
    _caught_up()
    with reads_from_replica():
        copy = Department.objects.get(pk=department.pk)
    assert copy._state.db == REPLICA
    assert copy.name == "Replicated Bureau"


def _file_requests(cast, count: int) -> None:
    for _ in range(count):
        ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, category=category())


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@needs_replica
@on_the_replica
def test_the_dashboard_reads_the_replica(standby, cast):
    _file_requests(cast, 3)
    _caught_up()
    table = ServiceRequest._meta.db_table
    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(standby) as on_replica,
    ):
        response = _client(cast.ada).get(reverse("reports:dashboard"))
    assert response.status_code == 200
    assert response.context["report"]["received"] == 3
    assert table in _tables(on_replica.captured_queries)
    assert table not in _tables(on_primary.captured_queries)


@needs_replica
@on_the_replica
def test_a_departments_dashboard_read_on_the_replica_is_noted_on_the_primary(standby, cast):
    """The note that beat should keep the handler's scope (reports.snapshots.note_reader) is a
    write: it goes to the primary while the figures are read on the replica."""
    from reports.models import ReadScope

    _caught_up()
    table = ServiceRequest._meta.db_table
    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(standby) as on_replica,
    ):
        response = _client(cast.hank).get(reverse("reports:dashboard"))
    assert response.status_code == 200
    assert ReadScope._meta.db_table in _tables(on_primary.captured_queries)
    assert table in _tables(on_replica.captured_queries)
    assert table not in _tables(on_primary.captured_queries)
    assert ReadScope.objects.using("default").filter(reader=cast.hank).exists()


@needs_replica
@on_the_replica
def test_a_user_who_just_acted_reads_the_primary(standby, cast):
    client = _client(cast.ada)
    acted = client.post(reverse("set_language"), {"language": "en"})
    assert PIN_COOKIE in acted.cookies
    table = ServiceRequest._meta.db_table
    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(standby) as on_replica,
    ):
        response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    assert table in _tables(on_primary.captured_queries)
    assert on_replica.captured_queries == []


@needs_replica
@on_the_replica
def test_a_report_read_on_the_replica_shows_the_primarys_figures(standby, cast, api):
    now = timezone.now()
    period = Period.containing(now)
    _file_requests(cast, 2)
    _caught_up()

    def figures():
        return quarterly_report(report_scope(cast.ada), period, now=now)

    on_primary = figures()
    with reads_from_replica():
        on_replica = figures()
    assert on_primary["received"] == 2
    assert on_replica == on_primary

    _file_requests(cast, 1)
    _caught_up()
    with CaptureQueriesContext(standby) as on_replica_queries:
        answer = api(cast.ada).get(
            "/api/v1/reports/quarterly/", {"year": period.year, "quarter": period.quarter}
        )
    assert answer.status_code == 200
    assert answer.json()["received"] == figures()["received"] == 3
    assert on_replica_queries.captured_queries


@needs_replica
@on_the_replica
def test_an_export_reads_the_replica_and_writes_to_the_primary(standby, cast):
    from reports.tasks import run_export

    _file_requests(cast, 2)
    period = Period.containing(timezone.now())
    job = ExportJob.objects.create(
        requested_by=cast.ada,
        params={"year": period.year, "quarter": period.quarter, "figure": "received"},
        format="csv",
        total=2,
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    with CaptureQueriesContext(standby) as on_replica:
        run_export(job.pk)
    job.refresh_from_db()
    assert (job.status, job.done) == (ExportStatus.DONE, 2)
    assert ServiceRequest._meta.db_table in _tables(on_replica.captured_queries)
    assert not any(query["sql"].startswith("UPDATE") for query in on_replica.captured_queries)


def test_health_says_null_for_the_replica_without_one(client, monkeypatch, db):
    monkeypatch.setattr(replica, "replica_configured", lambda: False)
    assert client.get("/health/").json()["replica"] is None


def test_health_reports_a_replica_that_does_not_answer_without_failing(client, monkeypatch, db):
    """Reads fall back to the primary, so the portal stays healthy; monitoring sees why."""
    from django.db import OperationalError

    def refused():
        raise OperationalError("connection refused")

    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    monkeypatch.setattr(connections["default"], "vendor", "postgresql")
    monkeypatch.setattr(replica, "_replay_position", refused)
    body = replica.replica_lag()
    assert body == {"ok": False, "error": "OperationalError"}


@needs_replica
@on_the_replica
def test_health_reports_the_replicas_lag(standby, cast, settings):
    _file_requests(cast, 2)
    _caught_up()
    lag = _client(cast.ada).get("/health/").json()["replica"]
    assert lag["ok"] is True
    assert lag["behind_bytes"] == 0
    assert lag["stale"] is False
    # Behind by what the primary writes until the standby replays it: never negative, and a
    # threshold of one second says stale only when seconds are missing.
    settings.HEALTH_REPLICA_MAX_LAG = 1
    _file_requests(cast, 1)
    lag = replica.replica_lag()
    assert lag["behind_bytes"] >= 0
    assert lag["stale"] is (lag["behind_seconds"] > 1)


@needs_replica
@on_the_replica
def test_the_reports_analytic_settings_reach_the_replica(standby):
    """The quarter's pass reads the replica: its planner settings must be set there, not on the
    primary (where the replica's sorts kept their default 4 MB and spilled to disk)."""
    from reports import figures

    _caught_up()
    before = planner_settings(standby)
    assert before["work_mem"] != "64MB"
    with reads_from_replica(), figures.analytic_queries():
        assert planner_settings(standby) == {**before, "jit": "off", "work_mem": "64MB"}
        with figures.analytic_plan():
            assert planner_settings(standby) == IN_THE_ANALYTIC_PASS
    assert planner_settings(standby) == before
