"""Scoped reads for reports: whose requests a user's reports count, and the quarterly report.

The scope starts from `requests_visible_to` (pages, API and exports alike) and narrows it per
role: a leader's and a liaison's reports count their linked enterprises only, an inspector's
their region, a handler's their department, an admin's the city.
"""

import datetime as dt
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from compliance.models import AccountabilityCase, Finding, Severity
from officials.models import Department, Enterprise, Role, User, department_name
from officials.selectors import jurisdiction_regions, linked_enterprise_ids
from reports import figures
from reports.figures import Period
from reports.forms import FigureQuery
from reports.models import ReportSettings
from reports.spans import cube_and_spans, postgres_day_table, span_figures
from requests_app.deadlines import DeadlinePolicy, calendar_for
from requests_app.selectors import requests_visible_to
from requests_app.working_time import local_zone


@dataclass
class Scope:
    """The requests a user's reports count, optionally narrowed to one department's subtree."""

    user: User
    requests: QuerySet
    city_wide: bool
    department: Department | None = None
    # An inspector's jurisdiction: the enterprise regions `requests` is limited to.
    regions: list[str] | None = None

    def counts_every_request(self) -> bool:
        """Whether the scope's requests are every request of the portal: city-wide, or a
        jurisdiction that every enterprise's region lies in (a city's inspector). Asked when
        it is needed, not for every scope: one small read of the enterprises."""
        if self.city_wide:
            return True
        if self.regions is None or self.department is not None:
            return False
        return not Enterprise.objects.exclude(region__in=self.regions).exists()

    def cases(self) -> QuerySet:
        cases = AccountabilityCase.objects.all()
        if not self.city_wide:
            cases = cases.filter(request__in=self.requests.values("pk"))
        if self.department is not None:
            cases = cases.filter(department=self.department)
        return cases

    def findings(self) -> QuerySet:
        found = Finding.objects.all()
        if not self.city_wide:
            found = found.filter(
                Q(request__in=self.requests.values("pk"))
                | Q(enterprise__in=self.requests.values("enterprise_id"))
            )
        if self.department is not None:
            found = found.filter(department=self.department)
        return found


def report_scope(user: User) -> Scope:
    """The requests the user's dashboard counts (a subset of what they may see)."""
    visible = requests_visible_to(user)
    if user.role == Role.ADMIN:
        return Scope(user, visible, city_wide=True)
    if user.role in (Role.LEADER, Role.LIAISON):
        linked = Q(enterprise_id__in=linked_enterprise_ids(user))
        if user.role == Role.LIAISON:
            linked |= Q(liaison=user)
        return Scope(user, visible.filter(linked), city_wide=False)
    if user.role == Role.INSPECTOR:
        regions = jurisdiction_regions(user)
        return Scope(user, visible, city_wide=regions is None, regions=regions)
    return Scope(user, visible, city_wide=False)


def departments_in_scope(scope: Scope, counted: Iterable[int] = ()) -> QuerySet:
    """Departments a user may narrow a report to: every one city-wide; else their subtree and
    `counted`, the departments the report at hand counts requests of.

    Not "every department any of their requests ever went to": that reads the whole scope
    (1.8 s for an inspector's region at 1M requests) to fill a drop-down.
    """
    if scope.city_wide:
        return Department.objects.all()
    allowed = Q(pk__in=list(counted))
    if scope.user.department is not None and scope.user.role != Role.HANDLER:
        allowed |= Q(path__startswith=scope.user.department.path)
    return Department.objects.filter(allowed)


def _may_narrow_to(scope: Scope, department: Department) -> bool:
    """Whether the scope covers the department: city-wide, its subtree, or a request of the
    scope went there (an index probe that stops at the first such request)."""
    user = scope.user
    if scope.city_wide:
        return True
    own = user.department
    if own is not None and user.role != Role.HANDLER and department.path.startswith(own.path):
        return True
    return scope.requests.filter(department_id=department.pk).exists()


def narrow_to_department(scope: Scope, department_id: int | None) -> Scope:
    """The scope for one department's requests; 404 when it is missing or not in scope."""
    if department_id is None:
        return scope
    department = Department.objects.filter(pk=department_id).first()
    if department is None or not _may_narrow_to(scope, department):
        raise Http404
    return Scope(
        scope.user,
        scope.requests.filter(department_id=department.pk),
        city_wide=scope.city_wide,
        department=department,
    )


# --- the quarterly report -----------------------------------------------------------------------

GROUPINGS = {
    # name in the report → the request column grouped on
    "by_department": "department_id",
    "by_category": "category__code",
    "by_region": "enterprise__region",
}


def headline(scope: Scope, period: Period, *, counts: dict, spans: dict) -> dict:
    """The headline figures of one period (no breakdowns): counts, rates, times, cases, from
    the period's totals and working-time spans (`counts_and_spans`)."""
    result = {"period": period.label, **figures.with_rates(counts)}
    result.update(spans.get((None, None)) or figures.time_figures({}))
    result.update(_cases_and_findings(scope, period))
    return result


def cube_query(received: QuerySet, period: Period, now, settings: ReportSettings) -> QuerySet:
    """Every count by (department, category, region, month): one pass over the quarter.

    The counts add up, so the totals, each breakdown, the months of the trend and the flags'
    department scores are sums of these few thousand rows at most, rather than one scan of the
    requests each.
    """
    aggregates = figures.count_aggregates(period, now, settings.count_three_as_satisfied)
    return (
        received.order_by()
        .annotate(month=_month())
        .values(*GROUPINGS.values(), "month")
        .annotate(**aggregates)
    )


def counts_and_spans(
    received: QuerySet, period: Period, now, settings: ReportSettings, clock, *, broken_down=True
) -> tuple[list[dict], dict]:
    """The quarter's cube of counts (as `cube_query`) and its time figures by every grouping (as
    `span_figures`): one read of the quarter's requests on PostgreSQL, two elsewhere.

    Each read of a quarter walks its ~250k rows' heap pages and joins; on PostgreSQL one
    statement feeds the counts and the spans from the same rows (reports.spans.cube_and_spans).
    Without `broken_down`, the time figures are the total's only.
    """
    keys = list(GROUPINGS.values())
    table = postgres_day_table(clock, period.end)
    if table is None:
        cube = list(cube_query(received, period, now, settings))
        span_keys = keys if broken_down else []
        return cube, span_figures(received, span_keys, clock, closed_before=period.end)
    return cube_and_spans(
        received,
        keys,
        _month(),
        figures.count_definitions(settings.count_three_as_satisfied),
        lambda definition: definition.condition(period, now),
        table,
        closed_before=period.end,
        broken_down=broken_down,
    )


def _month() -> TruncMonth:
    """A request's local month of submission: the cube's month."""
    return TruncMonth("submitted_at", tzinfo=local_zone())


def _roll_up(cube: list[dict], column: str | None) -> dict:
    """Sum the cube's counts by one column (None: the grand total)."""
    sums: dict = {}
    for row in cube:
        key = row[column] if column else None
        target = sums.setdefault(key, dict.fromkeys(figures.COUNT_NAMES, 0))
        for name in figures.COUNT_NAMES:
            target[name] += row[name]
    return sums


def _cases_and_findings(scope: Scope, period: Period) -> dict:
    cases = scope.cases()
    in_period = {"gte": period.start, "lt": period.end}
    opened = cases.filter(opened_at__gte=in_period["gte"], opened_at__lt=in_period["lt"]).count()
    decided = cases.filter(decided_at__gte=in_period["gte"], decided_at__lt=in_period["lt"]).count()
    by_severity = dict.fromkeys(Severity.values, 0)
    rows = (
        scope.findings()
        .filter(created_at__gte=period.start, created_at__lt=period.end)
        .order_by()
        .values("severity")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        by_severity[row["severity"]] = row["n"]
    return {
        "accountability_cases": opened,
        "accountability_cases_decided": decided,
        "findings": by_severity,
    }


def working_clock(period: Period):
    # The origin is well before any span of the period: a request submitted in it starts there.
    calendar = calendar_for(DeadlinePolicy.from_settings())
    return figures.WorkingClock(calendar, period.start.date() - dt.timedelta(days=1))


# The headline figures of a quarter: what `previous` holds, and what a card shows.
HEADLINE_KEYS = (
    "period",
    *figures.COUNT_NAMES,
    *figures.RATES,
    *(f"{kind}_hours_{name}" for name in figures.TIMES for kind in ("median", "p90")),
    "accountability_cases",
    "accountability_cases_decided",
    "findings",
)


def headline_of(quarter: dict) -> dict:
    """The headline figures of a quarter's figures (no breakdowns)."""
    return {key: quarter[key] for key in HEADLINE_KEYS}


def category_counts(quarter: dict) -> dict:
    """Received by category code, from a quarter's figures (what recurring problems compare)."""
    return {row["category"]: row["received"] for row in quarter["by_category"]}


def quarterly_report(scope: Scope, period: Period, *, now=None, with_previous=True) -> dict:
    """Everything the API, the dashboard and the exports show for one quarter and scope.

    Computed now, from the requests: one pass per quarter on PostgreSQL (the counts and the
    working-time spans together; two elsewhere), for this quarter and the one before.
    reports.snapshots keeps what this computes.
    """
    now = now or timezone.now()
    with figures.analytic_queries():
        previous = quarter_figures(scope, period.previous(), now=now, details=False)
        report = quarter_figures(
            scope, period, now=now, previous_categories=category_counts(previous)
        )
    if with_previous:
        report["previous"] = headline_of(previous)
    return report


def quarter_figures(
    scope: Scope, period: Period, *, now, previous_categories=None, details=True
) -> dict:
    """One quarter's figures for one scope: headline, breakdowns, months, and with `details`
    the recurring problems and flags. No `previous`: that is the quarter before's own figures.

    The counts come from one pass over the quarter's requests, grouped by department, category,
    region and month (every count adds up, so totals and breakdowns are sums of its rows), and
    on PostgreSQL the working-time spans from that same pass (`counts_and_spans`). It runs with
    an analytic plan.
    `previous_categories`: the quarter before's received by category, if the caller has them.
    """
    from reports import flags, recurring

    settings = ReportSettings.current()
    clock = working_clock(period.previous())
    received = figures.received_in(scope.requests, period)
    # Cutting the texts into words is Python's work and counting the quarter the database's: the
    # phrases are mined in a thread (no database in it) while the statements run, each on its own
    # core. One after the other, they took 260-440 ms more of a first view at 1M requests.
    mining = (
        _in_thread(recurring.phrases_of, *recurring.phrase_samples(scope.requests, period))
        if details
        else None
    )
    with figures.analytic_queries(), figures.analytic_plan():
        # Without details (the quarter before's headline, months and categories: what a
        # report's `previous` and trend read) the time figures of breakdowns are not shown.
        cube, spans = counts_and_spans(received, period, now, settings, clock, broken_down=details)
    totals = _roll_up(cube, None).get(None, dict.fromkeys(figures.COUNT_NAMES, 0))
    report = headline(scope, period, counts=totals, spans=spans)
    for position, (name, column) in enumerate(GROUPINGS.items()):
        report[name] = [
            {
                "key": key,
                **figures.with_rates(row),
                **(spans.get((position, key)) or figures.time_figures({})),
            }
            for key, row in _roll_up(cube, column).items()
        ]
    by_department = [
        {"department_id": row["key"], **row} for row in report["by_department"] if row["key"]
    ]
    _label_groups(report)
    report["by_month"] = [
        {"month": figures.month_label(month), "received": row["received"], "closed": row["closed"]}
        for month, row in sorted(_roll_up(cube, "month").items())
    ]
    if not details:
        return report
    if previous_categories is None:
        # The quarter before by category: a small grouped read when its figures are not at hand.
        previous_categories = {
            row["category__code"]: row["n"]
            for row in figures.received_in(scope.requests, period.previous())
            .order_by()
            .values("category__code")
            .annotate(n=Count("pk"))
        }
    report["recurring"] = recurring.recurring_problems(
        scope.requests,
        period,
        (category_counts(report), previous_categories),
        mining.result() if mining else None,
    )
    # The flags score the whole city's departments: a pass over every request has their counts
    # already. So has a jurisdiction's when every enterprise lies in it, checked after the pass.
    # (An enterprise moved into the jurisdiction between the pass and the check would be left
    # out of the provisional flags until the figures are next computed; awarding counts afresh.)
    whole_city = scope.department is None and scope.counts_every_request()
    report["flags"] = flags.flags_for(
        period, scope.department, now=now, rows=by_department if whole_city else None
    )
    return report


def _in_thread(function, *args) -> Future:
    """Run `function(*args)` in a thread of its own; its result (or exception) is the Future's."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(function, *args)
    finally:
        pool.shutdown(wait=False)  # the work submitted still runs; the thread ends after it


def _department_names(ids) -> dict[int, str]:
    """Department id → its name in the active language."""
    rows = Department.objects.filter(pk__in=ids).values_list("pk", "name", "name_en")
    return {pk: department_name(name, name_en) for pk, name, name_en in rows}


def in_reader_language(report: dict) -> dict:
    """Kept figures (a snapshot, the cache) named in the active language: they keep category
    codes and department ids, and the names they carry are in whichever language computed them.
    A copy: the kept dict is left as it is. Two small queries."""
    from officials.models import Category

    flags = report.get("flags") or {}
    ids = {row["department"]["id"] for row in report.get("by_department", [])}
    for color in ("red", "yellow"):
        ids |= {flag["department"]["id"] for flag in flags.get(color, [])}
    names = _department_names(ids)

    def named(department: dict) -> dict:
        return {**department, "name": names.get(department["id"], department.get("name", ""))}

    categories = {c.code: str(c) for c in Category.objects.all()}
    labelled = {**report}
    labelled["by_department"] = sorted(
        ({**row, "department": named(row["department"])} for row in report["by_department"]),
        key=lambda row: (row["department"]["name"], row["department"]["id"]),
    )
    labelled["by_category"] = [
        {**row, "category_name": categories.get(row["category"], row["category"])}
        for row in report["by_category"]
    ]
    if "recurring" in report:
        labelled["recurring"] = [
            {**item, "name": categories.get(item["category"], item["category"])}
            if item.get("kind") == "category"
            else item
            for item in report["recurring"]
        ]
    if flags:
        labelled["flags"] = {
            **flags,
            **{
                color: [{**flag, "department": named(flag["department"])} for flag in flags[color]]
                for color in ("red", "yellow")
                if color in flags
            },
        }
    return labelled


def _label_groups(report: dict) -> None:
    from officials.models import Category

    names = _department_names([row["key"] for row in report["by_department"] if row["key"]])
    # Requests not yet assigned to a department count in the totals, not in this breakdown.
    report["by_department"] = [row for row in report["by_department"] if row["key"]]
    for row in report["by_department"]:
        key = row.pop("key")
        row["department"] = {"id": key, "name": names.get(key, "")}
    report["by_department"].sort(
        key=lambda row: (row["department"]["name"], row["department"]["id"])
    )
    categories = {c.code: c for c in Category.objects.all()}
    for row in report["by_category"]:
        code = row.pop("key")
        row["category"] = code
        row["category_name"] = str(categories[code]) if code in categories else code
    report["by_category"].sort(
        key=lambda row: categories[row["category"]].position if row["category"] in categories else 0
    )
    for row in report["by_region"]:
        row["region"] = row.pop("key") or ""
    report["by_region"].sort(key=lambda row: row["region"])


class BadQuery(Exception):
    def __init__(self, errors):
        super().__init__("bad report query")
        self.errors = errors


def figure_queryset(user, params):
    """The requests behind one figure for `user`, and the parsed query (job and page share it)."""
    query = FigureQuery(params)
    if not query.is_valid():
        raise BadQuery(query.errors)
    data = query.cleaned_data
    scope = narrow_to_department(report_scope(user), data["department"])
    queryset = figures.members(
        scope.requests,
        data["figure"],
        query.period,
        three_counts=ReportSettings.current().count_three_as_satisfied,
    )
    if data["category"]:
        queryset = queryset.filter(category__code=data["category"])
    if data["region"]:
        queryset = queryset.filter(enterprise__region=data["region"])
    return queryset, {"query": query, "scope": scope, "period": query.period}
