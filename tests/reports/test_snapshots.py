"""Kept figures (reports.snapshots): the one-pass figures equal the per-figure definitions, a
finished quarter is stored and the current one cached, scopes never share what they keep, and
the dashboard costs the same number of queries whatever the data."""

import datetime as dt
import itertools

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from officials.models import Role
from reports import figures, flags, recurring, snapshots
from reports.figures import Period
from reports.models import QuarterSnapshot
from reports.selectors import narrow_to_department, report_scope, working_clock
from requests_app.models import ServiceRequest, Status
from tests.conftest import at
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    RawServiceRequestFactory,
    UserFactory,
    category,
)

Q3 = Period(2026, 3)
AFTER_Q3 = "2026-10-15 12:00"  # Q3 finished, Q4 current
IN_Q3 = "2026-09-20 12:00"  # Q3 current
CODES = ("infrastructure", "environment", "land", "legal")


def _request(*, department, enterprise, code, submitted, n: int):
    """One request of a varied life, chosen by `n`: every status, late assigns and rounds,
    reopens, ratings the enterprise gave and ratings taken on a follow-up call."""
    status = list(Status)[n % len(Status)]
    assigned = None if status == Status.SUBMITTED else submitted + dt.timedelta(hours=3 + n % 40)
    answered = (
        submitted + dt.timedelta(hours=20 + 7 * (n % 13))
        if status in (Status.FEEDBACK, Status.CLOSED, Status.INFO_NEEDED)
        else None
    )
    closed = submitted + dt.timedelta(days=4 + n % 9) if status == Status.CLOSED else None
    return RawServiceRequestFactory(
        enterprise=enterprise,
        department=department if status != Status.SUBMITTED else None,
        category=category(code),
        status=status,
        submitted_at=submitted,
        assigned_at=assigned,
        answered_at=answered,
        closed_at=closed,
        answer_paused_at=submitted + dt.timedelta(days=5) if status == Status.INFO_NEEDED else None,
        rating=(1 + n % 5) if closed else None,
        rated_on_follow_up=bool(closed) and n % 3 == 0,
        reopen_count=1 if n % 4 == 0 else 0,
        late_rounds=(n % 3) if answered else 0,
    )


def _fill(requests: int, departments: int, *, codes=CODES, parent=None):
    """`requests` requests in Q3 2026 and as many in Q2, over `departments` sibling bureaus."""
    parent = parent or DepartmentFactory(name="Bureaus", region="city")
    bureaus = [DepartmentFactory(name=f"Bureau {k}", parent=parent) for k in range(departments)]
    enterprises = [EnterpriseFactory(region=region) for region in ("gulou", "minhou")]
    for quarter_start in (at("2026-04-01 08:00"), at("2026-07-01 08:00")):
        for n in range(requests):
            _request(
                department=bureaus[n % departments],
                enterprise=enterprises[n % 2],
                code=codes[n % len(codes)],
                submitted=quarter_start + dt.timedelta(days=n * 89 // requests, hours=n % 9),
                n=n,
            )
    return bureaus


def _old_counts(requests, period: Period, now) -> dict:
    """Every count by its own query: figures.members, one figure at a time (the old path)."""
    counts = {}
    for name in figures.COUNT_NAMES:
        members = figures.members(requests, name, period, now=now)
        if name == "late_answer_rounds":
            counts[name] = sum(members.values_list("late_rounds", flat=True))
        else:
            counts[name] = members.count()
    return figures.with_rates(counts)


def _old_times(requests, period: Period) -> dict:
    rows = (
        figures.received_in(requests, period)
        .order_by()
        .values_list("submitted_at", "assigned_at", "answered_at", "closed_at")
    )
    spans = figures.working_spans(rows, working_clock(period), 0, closed_before=period.end)
    return figures.time_figures(spans.get((None, None), {}))


def _only(row: dict, names) -> dict:
    return {name: row[name] for name in names}


FIGURES = (*figures.COUNT_NAMES, *figures.RATES)


@pytest.mark.parametrize("moment", [AFTER_Q3, IN_Q3], ids=["snapshot", "cached"])
@pytest.mark.parametrize("narrowed", [False, True], ids=["portal", "one-department"])
def test_one_pass_equals_every_figure_counted_on_its_own(cast, statutory, moment, narrowed):
    bureaus = _fill(60, 3)
    now = at(moment)
    scope = report_scope(cast.ada)
    if narrowed:
        scope = narrow_to_department(scope, bureaus[1].pk)
    requests = scope.requests
    with time_machine.travel(now, tick=False):
        first = snapshots.dashboard_report(scope, Q3, now=now)
        again = snapshots.dashboard_report(scope, Q3, now=now)

    assert first["received"] > 0
    for report in (first, again):  # computed, then read back from where it was kept
        assert _only(report, FIGURES) == _old_counts(requests, Q3, now)
        assert _only(report["previous"], FIGURES) == _old_counts(requests, Q3.previous(), now)
        time_names = list(figures.time_figures({}))
        assert _only(report, time_names) == _old_times(requests, Q3)
        assert _only(report["previous"], time_names) == _old_times(requests, Q3.previous())
        for row in report["by_department"]:
            of = requests.filter(department_id=row["department"]["id"])
            assert _only(row, FIGURES) == _old_counts(of, Q3, now)
        assert {row["department"]["id"] for row in report["by_department"]} == {
            b.pk for b in (bureaus if not narrowed else bureaus[1:2])
        }
        for row in report["by_category"]:
            of = requests.filter(category__code=row["category"])
            assert _only(row, FIGURES) == _old_counts(of, Q3, now)
        for row in report["by_region"]:
            of = requests.filter(enterprise__region=row["region"])
            assert _only(row, FIGURES) == _old_counts(of, Q3, now)
        trend = [
            {**row, "period": quarter}
            for quarter in (Q3.previous(), Q3)
            for row in figures.month_trend(figures.received_in(requests, quarter), quarter, now)
        ]
        assert report["trend"] == trend
        growing = [item for item in report["recurring"] if item["kind"] == "category"]
        old_growing = recurring.growing_categories(requests, Q3)
        assert [_only(i, ("category", "count", "previous")) for i in growing] == [
            _only(i, ("category", "count", "previous")) for i in old_growing
        ]
        old_flags = flags.flags_for(Q3, scope.department, now=now)
        assert report["flags"] == old_flags


def test_a_finished_quarter_is_stored_and_the_current_one_cached(cast, statutory):
    _fill(12, 2)
    scope = report_scope(cast.ada)
    with time_machine.travel(at(AFTER_Q3), tick=False):
        report = snapshots.dashboard_report(scope, Q3)
    stored = QuarterSnapshot.objects.get(year=2026, quarter=3)
    assert (stored.scope_kind, stored.scope_id, stored.narrowed_to) == ("portal", 0, 0)
    assert stored.computed_at == report["computed_at"] == at(AFTER_Q3)
    assert stored.figures["received"] == report["received"] == 12
    # Q4 (the current quarter) is cached, never stored.
    assert not QuarterSnapshot.objects.filter(quarter=4).exists()

    # A late request of Q3 does not change the stored snapshot until it is recomputed.
    RawServiceRequestFactory(submitted_at=at("2026-09-30 10:00"))
    with time_machine.travel(at("2026-10-16 12:00"), tick=False):
        assert snapshots.dashboard_report(scope, Q3)["received"] == 12
        snapshots.forget_finished(Q3)
        recomputed = snapshots.dashboard_report(scope, Q3)
    assert recomputed["received"] == 13
    assert recomputed["computed_at"] == at("2026-10-16 12:00")


def test_the_current_quarter_is_computed_again_after_the_interval(cast, statutory, settings):
    settings.REPORTS_FIGURES_SECONDS = 300
    _fill(12, 2)
    scope = report_scope(cast.ada)
    with time_machine.travel(at(IN_Q3), tick=False):
        assert snapshots.dashboard_report(scope, Q3)["received"] == 12
        RawServiceRequestFactory(submitted_at=at("2026-09-19 10:00"))
        assert snapshots.dashboard_report(scope, Q3)["received"] == 12  # kept
    with time_machine.travel(at(IN_Q3) + dt.timedelta(seconds=301), tick=False):
        report = snapshots.dashboard_report(scope, Q3)
    assert report["received"] == 13
    assert report["computed_at"] == at(IN_Q3) + dt.timedelta(seconds=301)


def test_beat_keeps_the_portals_current_quarter(cast, statutory):
    from reports import tasks

    _fill(12, 2)
    with time_machine.travel(at(IN_Q3), tick=False):
        tasks.keep_current_quarter()
        RawServiceRequestFactory(submitted_at=at("2026-09-19 10:00"))
        # The view reads what beat kept; the next beat run counts the new request.
        assert snapshots.dashboard_report(report_scope(cast.ada), Q3)["received"] == 12
        tasks.keep_current_quarter()
        assert snapshots.dashboard_report(report_scope(cast.ada), Q3)["received"] == 13


@pytest.mark.parametrize("moment", [AFTER_Q3, IN_Q3], ids=["snapshot", "cached"])
def test_no_reader_gets_figures_kept_for_a_wider_scope(cast, statutory, moment):
    """Every kept figure is keyed by its scope: portal first or department first, each reader
    gets their own counts."""
    bureaus = _fill(20, 2)
    RawServiceRequestFactory(
        department=cast.roads, enterprise=cast.acme, submitted_at=at("2026-08-03 10:00")
    )
    handler = UserFactory(username="bo", role=Role.HANDLER, department=bureaus[0])
    readers = [cast.ada, handler, cast.hank, cast.irene, cast.liam, cast.leona]
    expected = {
        reader.pk: figures.received_in(report_scope(reader).requests, Q3).count()
        for reader in readers
    }
    assert expected[cast.ada.pk] > expected[handler.pk] > expected[cast.hank.pk] == 1
    with time_machine.travel(at(moment), tick=False):
        for order in (readers, readers[::-1]):
            for reader in order:
                report = snapshots.dashboard_report(report_scope(reader), Q3)
                assert report["received"] == expected[reader.pk], reader.username


def test_scope_keys_name_what_each_reader_counts(cast):
    keys = {
        name: snapshots.scope_key(report_scope(cast[name]))
        for name in ("ada", "ivan", "hank", "hilda", "hugo", "irene", "liam", "olga", "leona")
    }
    assert keys["ada"] == keys["ivan"] == snapshots.ScopeKey("portal", 0, 0)
    assert keys["hank"] == keys["hilda"] == snapshots.ScopeKey("department", cast.roads.pk, 0)
    assert keys["hugo"] != keys["hank"]
    assert keys["irene"] == snapshots.ScopeKey("region", cast.minhou.pk, 0)
    # Linked enterprises are one official's own: a key per person, named by what it is made of.
    assert len({keys["liam"], keys["olga"], keys["leona"]}) == 3
    for name in ("liam", "olga", "leona"):
        assert (keys[name].kind, keys[name].id) == ("user", cast[name].pk)
        assert len(keys[name].version) == 32 and not keys[name].shared
    assert all(keys[name].version == "" and keys[name].shared for name in ("ada", "hank", "irene"))
    narrowed = narrow_to_department(report_scope(cast.ada), cast.roads.pk)
    assert snapshots.scope_key(narrowed) == snapshots.ScopeKey("portal", 0, cast.roads.pk)
    assert len({keys[n].cache_key(Q3) for n in keys} | {keys["ada"].cache_key(Q3.previous())}) == 8


def _dashboard_queries(user, moment) -> tuple[int, int]:
    """Queries of the dashboard's first view (computing) and of the next (kept)."""
    client = Client()
    client.force_login(user)
    counts = []
    with time_machine.travel(at(moment), tick=False):
        for _view in range(2):
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("reports:dashboard"), {"year": 2026, "quarter": 3})
            assert response.status_code == 200
            counts.append(len(queries))
    return counts[0], counts[1]


@pytest.mark.parametrize("moment", [AFTER_Q3, IN_Q3], ids=["snapshot", "cached"])
def test_the_dashboard_costs_the_same_queries_whatever_the_data(cast, statutory, moment):
    """10 or 100 requests a quarter, over 2 or 10 departments, beside a fixed peer group of four
    (so that every run has flags to name: Django skips a lookup of no names at all)."""
    _fill(8, 4, codes=("infrastructure",))
    _dashboard_queries(cast.ada, moment)  # the settings row and the calendar, made once
    measured = {}
    for requests, departments in itertools.product((10, 100), (2, 10)):
        ServiceRequest.objects.exclude(department__parent__name="Bureaus").delete()
        QuarterSnapshot.objects.all().delete()
        cache.clear()
        parent = DepartmentFactory(name=f"Parent {requests}-{departments}", region="city")
        _fill(requests, departments, codes=("infrastructure",), parent=parent)
        measured[requests, departments] = _dashboard_queries(cast.ada, moment)
    first, kept = zip(*measured.values(), strict=True)
    assert len(set(first)) == 1, measured
    assert len(set(kept)) == 1, measured
    assert kept[0] < first[0]


@pytest.mark.parametrize(
    "moment, words",
    [(AFTER_Q3, "Figures of a finished quarter, computed at"), (IN_Q3, "Figures computed at")],
)
def test_the_page_says_when_its_figures_were_computed(cast, statutory, moment, words):
    _fill(6, 2)
    client = Client()
    client.force_login(cast.ada)
    with time_machine.travel(at(moment), tick=False):
        page = client.get(
            reverse("reports:dashboard"), {"year": 2026, "quarter": 3}, HTTP_ACCEPT_LANGUAGE="en"
        )
    text = page.content.decode()
    assert words in text
    assert "Asia/Shanghai" in text
    # In the reader's time zone (Shanghai), not UTC: 12:00 there is 04:00 UTC.
    assert "noon" in text or "12:00" in text
    assert page.context["report"]["computed_at"] == at(moment)


def test_a_liaisons_finished_quarter_is_stored_under_what_their_scope_is_made_of(cast, statutory):
    """One official's finished quarter is stored whole, like a department's; linked to another
    enterprise, theirs is another scope: counted afresh, never read from the old links' row."""
    from officials.models import EnterpriseLink, LinkKind

    _fill(12, 2)
    RawServiceRequestFactory(enterprise=cast.acme, submitted_at=at("2026-09-03 10:00"))
    RawServiceRequestFactory(enterprise=cast.globex, submitted_at=at("2026-09-04 10:00"))
    RawServiceRequestFactory(enterprise=cast.acme, submitted_at=at("2026-10-03 10:00"))
    with time_machine.travel(at("2026-10-15 12:00"), tick=False):
        current = snapshots.dashboard_report(report_scope(cast.liam), Period(2026, 4))
        assert current["previous"]["received"] == 1
        stored = QuarterSnapshot.objects.get(scope_kind="user", scope_id=cast.liam.pk)
        assert "recurring" in stored.figures and "flags" in stored.figures
        assert snapshots.dashboard_report(report_scope(cast.liam), Q3)["received"] == 1
        EnterpriseLink.objects.create(
            official=cast.liam, enterprise=cast.globex, kind=LinkKind.LIAISON
        )
        current = snapshots.dashboard_report(report_scope(cast.liam), Period(2026, 4))
    assert current["previous"]["received"] == 2
    q3 = QuarterSnapshot.objects.filter(scope_kind="user", scope_id=cast.liam.pk, quarter=3)
    assert len(set(q3.values_list("scope_version", flat=True))) == 2


def test_the_command_recomputes_a_finished_quarter(cast, statutory):
    from io import StringIO

    from django.core.management import CommandError, call_command

    _fill(12, 2)
    with time_machine.travel(at(AFTER_Q3), tick=False):
        snapshots.dashboard_report(report_scope(cast.ada), Q3)
        RawServiceRequestFactory(submitted_at=at("2026-09-30 10:00"))
        out = StringIO()
        call_command("recompute_snapshots", "--year", "2026", "--quarter", "3", stdout=out)
        assert "2026-Q3: 1 snapshot(s) dropped" in out.getvalue()
        assert snapshots.dashboard_report(report_scope(cast.ada), Q3)["received"] == 13
        # The current quarter is not stored: nothing to recompute.
        with pytest.raises(CommandError, match="has not ended"):
            call_command("recompute_snapshots", "--year", "2026", "--quarter", "4")
        with pytest.raises(CommandError, match="both"):
            call_command("recompute_snapshots", "--year", "2026")
