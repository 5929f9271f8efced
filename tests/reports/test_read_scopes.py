"""Beat keeps the dashboards read lately (reports.snapshots.note_reader, keep_read_scopes): a
department's or a jurisdiction's current quarter is noted when read, computed again by beat
from a reader who counts exactly it, and forgotten when nobody reads it or its reader moved.
Every inspection jurisdiction is kept, read or not."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from officials.models import Role
from portal.celery import app
from reports import snapshots, tasks
from reports.figures import Period
from reports.models import ReadScope
from reports.selectors import narrow_to_department, report_scope
from tests.conftest import at
from tests.factories import RawServiceRequestFactory

Q3 = Period(2026, 3)
IN_Q3 = at("2026-09-20 12:00")
# Irene inspects Minhou: beat keeps her jurisdiction whether or not it was read, one scope in
# every run's number below.
JURISDICTIONS = 1


@pytest.fixture(autouse=True)
def _nothing_kept():
    """The figures and the once-an-hour flags live in the cache, which no test rolls back."""
    cache.clear()
    yield
    cache.clear()


def _roads_request(cast, submitted="2026-08-03 10:00"):
    return RawServiceRequestFactory(
        department=cast.roads, enterprise=cast.acme, submitted_at=at(submitted)
    )


def _noted() -> set[tuple]:
    return set(ReadScope.objects.values_list("scope_kind", "scope_id", "narrowed_to", "reader"))


def test_beat_keeps_a_departments_dashboard_once_read(cast, statutory):
    _roads_request(cast)
    later = IN_Q3 + dt.timedelta(minutes=4)
    with time_machine.travel(IN_Q3, tick=False):
        # Nobody read a department's dashboard yet.
        assert tasks.keep_read_quarters() == JURISDICTIONS
        assert snapshots.dashboard_report(report_scope(cast.hank), Q3)["received"] == 1
    _roads_request(cast, "2026-09-19 10:00")
    with time_machine.travel(later, tick=False):
        assert snapshots.dashboard_report(report_scope(cast.hank), Q3)["received"] == 1  # kept
        assert tasks.keep_read_quarters() == 1 + JURISDICTIONS
        # The handler's next view reads what beat computed, not a computation of its own.
        kept = cache.get(snapshots.scope_key(report_scope(cast.hank)).cache_key(Q3))
        assert kept["computed_at"] == later and kept["received"] == 2
        report = snapshots.dashboard_report(report_scope(cast.hilda), Q3)
    assert report["received"] == 2
    assert report["computed_at"] == later


def test_the_dashboard_page_notes_its_readers_scope(cast, statutory):
    client = Client()
    client.force_login(cast.irene)
    with time_machine.travel(IN_Q3, tick=False):
        response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    assert _noted() == {("region", cast.minhou.pk, 0, cast.irene.pk)}


def test_only_the_current_quarter_of_a_shared_scope_is_noted(cast, statutory):
    with time_machine.travel(IN_Q3, tick=False):
        for reader in (cast.ada, cast.ivan, cast.liam, cast.leona):
            snapshots.dashboard_report(report_scope(reader), Q3)
        # The whole portal is kept in any case; one official's links are not kept by beat.
        assert _noted() == set()
        snapshots.dashboard_report(report_scope(cast.hank), Q3.previous())  # a finished quarter
        assert _noted() == set()
        narrowed = narrow_to_department(report_scope(cast.ada), cast.roads.pk)
        snapshots.dashboard_report(narrowed, Q3)
        snapshots.dashboard_report(report_scope(cast.irene), Q3)
    assert _noted() == {
        ("portal", 0, cast.roads.pk, cast.ada.pk),
        ("region", cast.minhou.pk, 0, cast.irene.pk),
    }


def test_a_scope_is_noted_once_an_hour_with_its_last_reader(cast, statutory):
    scope_of = report_scope
    with time_machine.travel(IN_Q3, tick=False):
        snapshots.dashboard_report(scope_of(cast.hank), Q3)
    with time_machine.travel(IN_Q3 + dt.timedelta(minutes=30), tick=False):
        snapshots.dashboard_report(scope_of(cast.hilda), Q3)
    row = ReadScope.objects.get()
    assert (row.reader, row.read_at) == (cast.hank, IN_Q3)
    with time_machine.travel(IN_Q3 + dt.timedelta(minutes=61), tick=False):
        snapshots.dashboard_report(scope_of(cast.hilda), Q3)
    row = ReadScope.objects.get()
    assert (row.reader, row.read_at) == (cast.hilda, IN_Q3 + dt.timedelta(minutes=61))


def _moved(cast, hank):
    hank.department = cast.environment


def _left(cast, hank):
    hank.is_active = False


def _now_a_liaison(cast, hank):
    hank.role = Role.LIAISON


@pytest.mark.parametrize("change", [_moved, _left, _now_a_liaison])
def test_a_reader_who_no_longer_counts_the_scope_keeps_nothing_for_it(cast, statutory, change):
    """Beat builds a scope again from its reader only while the reader counts exactly it: a
    handler moved to another bureau must not have the roads' figures kept, nor theirs kept
    under the roads' name."""
    _roads_request(cast)
    roads = snapshots.scope_key(report_scope(cast.hank))
    with time_machine.travel(IN_Q3, tick=False):
        snapshots.dashboard_report(report_scope(cast.hank), Q3)
    change(cast, cast.hank)
    cast.hank.save()
    _roads_request(cast, "2026-09-19 10:00")
    with time_machine.travel(IN_Q3 + dt.timedelta(minutes=4), tick=False):
        assert tasks.keep_read_quarters() == JURISDICTIONS
        # (Read at that moment: the cache's expiry runs on the clock too.)
        assert cache.get(roads.cache_key(Q3))["computed_at"] == IN_Q3  # as the view left it
        environment = snapshots.ScopeKey("department", cast.environment.pk, 0)
        assert cache.get(environment.cache_key(Q3)) is None
    assert _noted() == set()


def test_a_scope_nobody_read_lately_is_forgotten(cast, statutory, settings):
    settings.REPORTS_KEEP_READ_DAYS = 7
    with time_machine.travel(IN_Q3, tick=False):
        snapshots.dashboard_report(report_scope(cast.hank), Q3)
    with time_machine.travel(IN_Q3 + dt.timedelta(days=6, hours=23), tick=False):
        assert tasks.keep_read_quarters() == 1 + JURISDICTIONS
    with time_machine.travel(IN_Q3 + dt.timedelta(days=7, minutes=1), tick=False):
        assert tasks.keep_read_quarters() == JURISDICTIONS
    assert _noted() == set()


def test_no_days_keeps_only_the_portal(cast, statutory, settings):
    settings.REPORTS_KEEP_READ_DAYS = 0
    with time_machine.travel(IN_Q3, tick=False):
        snapshots.dashboard_report(report_scope(cast.hank), Q3)
    with time_machine.travel(IN_Q3 + dt.timedelta(seconds=1), tick=False):
        assert tasks.keep_read_quarters() == 0
        assert cache.get(snapshots.scope_key(report_scope(cast.irene)).cache_key(Q3)) is None


def test_beat_keeps_every_jurisdiction_before_its_first_read(cast, statutory):
    """An inspector's first view finds their jurisdiction kept, though nobody read it: built
    from an inspector of that department who reads reports, and counting only its region."""
    RawServiceRequestFactory(
        department=cast.roads, enterprise=cast.globex, submitted_at=at("2026-08-03 10:00")
    )
    _roads_request(cast)  # a Gulou enterprise's: not Minhou's
    later = IN_Q3 + dt.timedelta(minutes=4)
    with time_machine.travel(later, tick=False):
        assert tasks.keep_read_quarters() == JURISDICTIONS
        assert _noted() == set()  # kept, not noted as read
        report = snapshots.dashboard_report(report_scope(cast.irene), Q3)
    assert report["computed_at"] == later  # beat's, not a computation of the view
    assert report["received"] == 1
    with time_machine.travel(later + dt.timedelta(minutes=4), tick=False):
        # Read now, and a jurisdiction still: one scope kept, not two.
        assert _noted() == {("region", cast.minhou.pk, 0, cast.irene.pk)}
        assert tasks.keep_read_quarters() == JURISDICTIONS


def test_a_jurisdiction_with_no_active_inspector_is_not_kept(cast, statutory):
    cast.irene.is_active = False
    cast.irene.save()
    with time_machine.travel(IN_Q3, tick=False):
        assert tasks.keep_read_quarters() == 0
        minhou = snapshots.ScopeKey("region", cast.minhou.pk, 0)
        assert cache.get(minhou.cache_key(Q3)) is None


def test_beat_runs_it_as_often_as_the_portals():
    entries = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    kept = entries["reports.tasks.keep_read_quarters"]
    assert kept["schedule"] == entries["reports.tasks.keep_current_quarter"]["schedule"]
    assert kept["options"]["expires"] < kept["schedule"]
