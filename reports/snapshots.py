"""Keeping a quarter's figures: a finished quarter as a stored snapshot, the current one cached.

Computing a quarter reads all its requests (reports.selectors.quarter_figures); a dashboard is
read far more often than its figures change. So:

- a **finished** quarter (its end has passed) is computed once per scope and stored as a
  `QuarterSnapshot`: its figures as of `computed_at`. Late events (a rating, a reopen) still
  change such a quarter a little; the nightly task recomputes the last finished quarter's
  snapshots, so they settle, and nothing older is recomputed unless its rows are deleted;
- the **current** quarter is kept in the cache for `REPORTS_FIGURES_SECONDS` and computed again
  by the first view after that.
  Beat computes it before then for the whole portal, for every department's and
  jurisdiction's scope read within `REPORTS_KEEP_READ_DAYS` (noted by `note_reader`), and for
  every inspection jurisdiction, read or not: their readers find it kept, as administrators
  do, except on a department's first read.

Every key names the scope it counts, so a kept result is only ever read for that same scope: a
department's reader never gets the portal's figures, whatever is in the cache. One official's
scope (a leader's, a liaison's: their links) is named by the official and by what it is made of
today, so a finished quarter stored for their old links is never shown for the new.
"""

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from officials.models import Role
from officials.selectors import (
    jurisdiction_regions,
    linked_enterprise_ids,
    one_inspector_per_department,
)
from reports import figures
from reports.figures import Period
from reports.models import FlagAward, QuarterSnapshot, ReadScope, ScopeKind
from reports.selectors import (
    Scope,
    category_counts,
    headline_of,
    in_reader_language,
    narrow_to_department,
    quarter_figures,
    report_scope,
)

USER_SCOPE = ScopeKind.USER  # one official's scope: their links, named by what it is made of
CACHE_VERSION = 2  # bump when the figures' shape changes: old entries are then never read


@dataclass(frozen=True)
class ScopeKey:
    """Which requests a scope counts, as a name: (kind, id, the department it is narrowed to,
    and for one official's scope what it is made of)."""

    kind: str
    id: int
    narrowed_to: int
    # One official's scope: a digest of their role, department, jurisdiction and the enterprises
    # linked to them now (`links_version`). Links change: another set is another scope, so a
    # figure kept for the old set is never read for the new. Empty for the shared scopes.
    version: str = ""

    @property
    def shared(self) -> bool:
        """Whether every official of a department (or of the portal) reads this scope, not one
        person alone: what beat keeps computed (keep_read_scopes)."""
        return self.kind != USER_SCOPE

    def cache_key(self, period: Period) -> str:
        return (
            f"reports:quarter:{CACHE_VERSION}:{period.label}:"
            f"{self.kind}:{self.id}:{self.narrowed_to}:{self.version}"
        )

    def fields(self, period: Period) -> dict:
        return {
            "year": period.year,
            "quarter": period.quarter,
            **self.names(),
            "scope_version": self.version,
        }

    def names(self) -> dict:
        """The scope's columns (QuarterSnapshot, ReadScope)."""
        return {"scope_kind": self.kind, "scope_id": self.id, "narrowed_to": self.narrowed_to}


# The whole portal, not narrowed: beat keeps its current quarter in any case (refresh_portal).
PORTAL = ScopeKey(ScopeKind.PORTAL, 0, 0)


def scope_key(scope: Scope) -> ScopeKey:
    """The name of the requests a Scope counts (reports.selectors.report_scope builds it).

    Two readers share a key only when report_scope gives them the same requests, cases and
    findings: the city-wide readers; a department's handlers; the inspectors of one department's
    jurisdiction. Everyone else (leaders, liaisons: their own links) gets a key of their own,
    which changes with what their scope is made of.
    """
    narrowed = scope.department.pk if scope.department is not None else 0
    user = scope.user
    if scope.city_wide:
        return ScopeKey(ScopeKind.PORTAL, 0, narrowed)
    if user.department_id is not None and user.role == Role.HANDLER:
        return ScopeKey(ScopeKind.DEPARTMENT, user.department_id, narrowed)
    if user.department_id is not None and user.role == Role.INSPECTOR:
        return ScopeKey(ScopeKind.REGION, user.department_id, narrowed)
    return ScopeKey(USER_SCOPE, user.pk, narrowed, links_version(user))


def links_version(user) -> str:
    """What one official's report scope is made of, as a digest (two small queries): their
    role and department, the regions of their jurisdiction, and the enterprises linked to them
    today (reports.selectors.report_scope)."""
    links = sorted(linked_enterprise_ids(user).values_list("enterprise_id", flat=True))
    regions = jurisdiction_regions(user)
    made_of = (user.role, user.department_id, regions, links)
    return hashlib.sha256(repr(made_of).encode()).hexdigest()[:32]


def dashboard_report(scope: Scope, period: Period, *, now=None) -> dict:
    """The quarterly report of the dashboard and its downloads, from kept figures.

    The same dict as selectors.quarterly_report, plus `computed_at` (when this quarter's figures
    were computed) and `trend` (received and closed by month, the quarter before and this one).
    """
    now = now or timezone.now()
    key = scope_key(scope)
    note_reader(scope, key, period, now=now)
    # The quarter before lends its headline, months and categories; finished, it is stored
    # whole (the snapshot is also what a view of that quarter shows).
    previous = kept_quarter(scope, period.previous(), now=now, key=key)
    report = kept_quarter(
        scope, period, now=now, previous_categories=category_counts(previous), key=key
    )
    report["previous"] = headline_of(previous)
    report["trend"] = [
        {**row, "period": quarter}
        for quarter, months in ((period.previous(), previous), (period, report))
        for row in months["by_month"]
    ]
    # Kept in the language of whoever computed it: named in the reader's.
    return in_reader_language(report)


def kept_quarter(
    scope: Scope, period: Period, *, now, previous_categories=None, key: ScopeKey | None = None
) -> dict:
    """One quarter's figures for the scope: stored, cached, or computed now and kept.
    `key`: the scope's name (scope_key), when the caller has it."""
    key = key or scope_key(scope)
    if period.end <= now:
        return _snapshot(scope, key, period, now, previous_categories)
    kept = cache.get(key.cache_key(period))
    if kept is None or not figures.kept_is_fresh(kept["computed_at"], now):
        kept = _compute_and_cache(scope, key, period, now, previous_categories)
    return kept


NOTE_READ_SECONDS = 3600  # a scope's readers are noted once in this long
NOTE_READ = dt.timedelta(seconds=NOTE_READ_SECONDS)


def note_reader(scope: Scope, key: ScopeKey, period: Period, *, now) -> None:
    """Note that a shared scope's current quarter was read, so that beat keeps it computed
    (keep_read_scopes). At most once an hour per scope: one cache read a view, a write an hour.

    One official's links are not noted: there are as many such scopes as liaisons and leaders,
    each cheaper, and beat's work would grow with the staff, not with the departments.
    """
    if not key.shared or key == PORTAL or period != Period.containing(now):
        return
    flag = f"reports:read:{CACHE_VERSION}:{key.kind}:{key.id}:{key.narrowed_to}"
    noted = cache.get(flag)
    # The hour runs on the portal's clock (as kept_is_fresh): the cache's expiry runs on its
    # server's, and only ends it for good.
    if noted is not None and dt.timedelta(0) <= now - noted < NOTE_READ:
        return
    cache.set(flag, now, NOTE_READ_SECONDS)
    # One statement (INSERT … ON CONFLICT DO UPDATE): two readers at once both succeed.
    ReadScope.objects.bulk_create(
        [ReadScope(**key.names(), reader=scope.user, read_at=now)],
        update_conflicts=True,
        unique_fields=["scope_kind", "scope_id", "narrowed_to"],
        update_fields=["reader", "read_at"],
    )


def keep_read_scopes(period: Period, *, now=None) -> int:
    """Compute again, now, the current quarter of every scope read within
    `REPORTS_KEEP_READ_DAYS`, most lately read first, then of every inspection jurisdiction
    not among them (the beat task, with the portal's).

    Rows older than that are dropped, as is a row whose reader no longer gives the same scope
    (moved to another department, left, lost the reports): a scope is always built again from a
    reader who counts exactly it, never from its name alone. Stops when a run has taken most of
    the interval, so runs do not pile up; the scopes not reached are computed on their next view.
    `REPORTS_KEEP_READ_DAYS=0` keeps none. The number of scopes kept.
    """
    now = now or timezone.now()
    if settings.REPORTS_KEEP_READ_DAYS == 0:
        ReadScope.objects.all().delete()
        return 0
    days = dt.timedelta(days=settings.REPORTS_KEEP_READ_DAYS)
    ReadScope.objects.filter(read_at__lt=now - days).delete()
    deadline = time.monotonic() + settings.REPORTS_FIGURES_SECONDS * 0.75
    kept: set[ScopeKey] = set()
    for scope in chain(_scopes_read(), _jurisdictions()):
        if time.monotonic() > deadline:
            break
        key = scope_key(scope)
        if key not in kept:
            keep_current(scope, period, now=now)
            kept.add(key)
    return len(kept)


def _scopes_read() -> Iterator[Scope]:
    """The scopes read lately, most lately first; a row whose reader counts another is dropped."""
    for row in ReadScope.objects.select_related("reader").order_by("-read_at", "-id"):
        scope = _scope_read(row)
        if scope is None:
            row.delete()
        else:
            yield scope


def _jurisdictions() -> Iterator[Scope]:
    """Every inspection jurisdiction's scope, read or not, built from one of its inspectors.

    Noting reads spares every reader but the first; for a jurisdiction that first view is the
    slowest of all, as it counts a district or the whole city (the city's: 1.2-1.4 s at 1M
    requests). There are as many as departments with inspectors, a handful, not one per
    official.
    """
    for reader in one_inspector_per_department():
        if reader.has_perm("reports.view"):
            yield report_scope(reader)


def _scope_read(row: ReadScope) -> Scope | None:
    """The scope a ReadScope row names, built from its reader; None when theirs is another."""
    reader = row.reader
    if not (reader.is_active and reader.has_perm("reports.view")):
        return None
    try:
        scope = narrow_to_department(report_scope(reader), row.narrowed_to or None)
    except Http404:
        return None
    named = ScopeKey(row.scope_kind, row.scope_id, row.narrowed_to)
    return scope if scope_key(scope) == named else None


def keep_current(scope: Scope, period: Period, *, now) -> dict:
    """Compute a scope's current quarter now and keep it, as its first view after the interval
    would (the quarter before is read from its snapshot, or stored now)."""
    key = scope_key(scope)
    previous = kept_quarter(scope, period.previous(), now=now, key=key)
    return _compute_and_cache(scope, key, period, now, category_counts(previous))


def _snapshot(scope, key: ScopeKey, period: Period, now, previous_categories) -> dict:
    row = QuarterSnapshot.objects.filter(**key.fields(period)).first()
    if row is None:
        kept = _compute(scope, period, now, previous_categories)
        try:
            with transaction.atomic():
                QuarterSnapshot.objects.create(
                    **key.fields(period), figures=_stored(kept), computed_at=kept["computed_at"]
                )
        except IntegrityError:
            pass  # another view stored the same quarter a moment ago: either will do
        return kept
    kept = {**row.figures, "computed_at": row.computed_at}
    if kept["flags"]["provisional"] and _flags_awarded(period):
        # The flags were awarded after the snapshot: show the awarded ones (a cheap read).
        from reports import flags

        kept["flags"] = flags.flags_for(period, scope.department)
    return kept


def _flags_awarded(period: Period) -> bool:
    return FlagAward.objects.filter(year=period.year, quarter=period.quarter).exists()


def _compute(scope: Scope, period: Period, now, previous_categories) -> dict:
    with figures.analytic_queries():
        kept = quarter_figures(scope, period, now=now, previous_categories=previous_categories)
    kept["computed_at"] = now
    return kept


def _compute_and_cache(scope, key: ScopeKey, period: Period, now, previous_categories) -> dict:
    """Compute a current quarter now and cache it for `REPORTS_FIGURES_SECONDS`."""
    kept = _compute(scope, period, now, previous_categories)
    cache.set(key.cache_key(period), kept, settings.REPORTS_FIGURES_SECONDS)
    return kept


def _stored(kept: dict) -> dict:
    return {name: value for name, value in kept.items() if name != "computed_at"}


def forget_finished(period: Period) -> int:
    """Drop a finished quarter's snapshots: the next view of each scope computes it afresh."""
    deleted, _kinds = QuarterSnapshot.objects.filter(
        year=period.year, quarter=period.quarter
    ).delete()
    return deleted


def recompute_finished(period: Period) -> tuple[int, dict]:
    """Compute a finished quarter again: the portal's figures now, every other scope's on its
    next view. (snapshots dropped, the portal's figures)"""
    dropped = forget_finished(period)
    return dropped, refresh_portal(period)


def refresh_portal(period: Period, *, now=None) -> dict:
    """Compute the whole portal's figures of a quarter now and keep them (the beat tasks)."""
    from officials.models import User

    now = now or timezone.now()
    # An administrator's scope is the whole portal: the one definition of who counts what.
    scope = report_scope(User(role=Role.ADMIN, is_active=True))
    key = scope_key(scope)
    if period.end > now:
        return _compute_and_cache(scope, key, period, now, None)
    kept = _compute(scope, period, now, None)
    QuarterSnapshot.objects.update_or_create(
        **key.fields(period),
        defaults={"figures": _stored(kept), "computed_at": kept["computed_at"]},
    )
    return kept
