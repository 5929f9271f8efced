"""Red and yellow flags (流动红黄旗): departmental scores, awards per peer group, and the cases
proposed for departments that keep getting yellow flags.

A department's score is a weighted mean (weights in the admin, `ReportSettings`) of its on-time
rate (the mean of the assign and answer rates), resolution rate, satisfaction, 1 − reopen rate,
and compliance (1 − violations per request received, floored at 0). A component with nothing
measured is left out and the weights of the others carry the score. Peers are the departments
under the same parent that received requests in the quarter; a group of fewer than
`peer_group_min` (at least four) gets no flags, so red and yellow never meet.
"""

from dataclasses import dataclass

from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from compliance import cases
from compliance.models import Finding, Severity
from officials.models import Department
from reports import figures
from reports.figures import Period
from reports.models import FlagAward, FlagColor, ReportSettings

FLAGS_PER_END = 2  # the two best get red, the two worst yellow


@dataclass(frozen=True)
class Score:
    department_id: int
    parent_id: int | None
    score: float


def component_values(row: dict, violations: int) -> dict[str, float | None]:
    """The five components of a department's score from its figures (None: nothing measured)."""
    on_time = [r for r in (row["assign_on_time_rate"], row["answer_on_time_rate"]) if r is not None]
    received = row["received"]
    return {
        "on_time": sum(on_time) / len(on_time) if on_time else None,
        "resolution": row["resolution_rate"],
        "satisfaction": row["satisfaction"],
        "reopen": None if row["reopen_rate"] is None else 1 - row["reopen_rate"],
        "compliance": max(0.0, 1 - violations / received) if received else None,
    }


def weighted_score(components: dict[str, float | None], weights: dict[str, float]) -> float | None:
    present = {k: v for k, v in components.items() if v is not None and weights.get(k, 0) > 0}
    total = sum(weights[k] for k in present)
    if not total:
        return None
    return round(sum(weights[k] * v for k, v in present.items()) / total, 4)


def department_scores(period: Period, *, now=None, rows=None, kept=True) -> list[Score]:
    """Scores of every department that received requests in the period (city-wide).

    `rows`: the city's counts by department_id, when the caller's pass has them already.
    `kept`: the counts may come from the cache (a dashboard's provisional flags); awarding
    counts afresh.
    """
    now = now or timezone.now()
    settings = ReportSettings.current()
    if rows is not None:
        rows = _keep_city_rows(period, now, rows)
    else:
        rows = _city_rows(period, now, settings, kept=kept)
    violations = dict(
        Finding.objects.filter(
            severity=Severity.VIOLATION,
            created_at__gte=period.start,
            created_at__lt=period.end,
            department__isnull=False,
        )
        .order_by()
        .values("department_id")
        .annotate(n=Count("pk"))
        .values_list("department_id", "n")
    )
    parents = dict(Department.objects.values_list("pk", "parent_id"))
    scores = []
    for row in rows:
        department_id = row["department_id"]
        value = weighted_score(
            component_values(figures.with_rates(row), violations.get(department_id, 0)),
            settings.weights,
        )
        if value is not None:
            scores.append(Score(department_id, parents.get(department_id), value))
    return scores


# The city's counts by department, kept as the dashboards keep their figures: every narrower
# dashboard's provisional flags score the whole city, and would otherwise count it every view.
CITY_ROWS_VERSION = 1


def _city_rows_key(period: Period) -> str:
    return f"reports:city-departments:{CITY_ROWS_VERSION}:{period.label}"


def _keep_city_rows(period: Period, now, rows: list[dict]) -> list[dict]:
    kept = {"rows": rows, "computed_at": now}
    cache.set(_city_rows_key(period), kept, django_settings.REPORTS_FIGURES_SECONDS)
    return rows


def _city_rows(period: Period, now, settings: ReportSettings, *, kept: bool) -> list[dict]:
    held = cache.get(_city_rows_key(period)) if kept else None
    if held is not None and figures.kept_is_fresh(held["computed_at"], now):
        return held["rows"]
    received = figures.received_in(figures.requests_table(), period).exclude(
        department_id__isnull=True
    )
    aggregates = figures.count_aggregates(period, now, settings.count_three_as_satisfied)
    with figures.analytic_queries(), figures.analytic_plan():
        rows = list(received.order_by().values("department_id").annotate(**aggregates))
    return _keep_city_rows(period, now, rows)


def award(scores: list[Score], peer_group_min: int) -> dict[int, tuple[str, Score]]:
    """Red for the two best and yellow for the two worst of each large-enough peer group."""
    groups: dict[int | None, list[Score]] = {}
    for score in scores:
        groups.setdefault(score.parent_id, []).append(score)
    awarded: dict[int, tuple[str, Score]] = {}
    for members in groups.values():
        if len(members) < max(peer_group_min, 2 * FLAGS_PER_END):
            continue
        # Ties are broken by id so the same data always gives the same flags.
        ranked = sorted(members, key=lambda s: (-s.score, s.department_id))
        for score in ranked[:FLAGS_PER_END]:
            awarded[score.department_id] = (FlagColor.RED, score)
        for score in ranked[-FLAGS_PER_END:]:
            awarded[score.department_id] = (FlagColor.YELLOW, score)
    return awarded


def flags_for(period: Period, department: Department | None = None, *, now=None, rows=None) -> dict:
    """The flags of a quarter: the awarded ones if awarded, else computed now (provisional).

    `rows`: as for department_scores."""
    stored = list(
        FlagAward.objects.filter(year=period.year, quarter=period.quarter).select_related(
            "department"
        )
    )
    if stored:
        entries = [
            (a.color, a.department_id, a.department.display_name, float(a.score)) for a in stored
        ]
        provisional = False
    else:
        settings = ReportSettings.current()
        awarded = award(department_scores(period, now=now, rows=rows), settings.peer_group_min)
        names = {d.pk: d.display_name for d in Department.objects.filter(pk__in=awarded)}
        entries = [(c, pk, names[pk], s.score) for pk, (c, s) in awarded.items()]
        provisional = True
    if department is not None:
        entries = [entry for entry in entries if entry[1] == department.pk]
    result: dict = {"red": [], "yellow": [], "provisional": provisional}
    for color, pk, name, score in sorted(entries, key=lambda e: (-e[3], e[1])):
        result[color].append({"department": {"id": pk, "name": name}, "score": score})
    return result


@transaction.atomic
def award_flags(period: Period, *, by=None, now=None) -> list[FlagAward]:
    """Store the quarter's flags (again, replacing earlier ones) and propose the cases due.

    A department whose yellow flag this quarter completes `yellow_flags_for_case` consecutive
    quarters gets one accountability case proposal (source "flag") for this quarter.
    """
    now = now or timezone.now()
    settings = ReportSettings.current()
    awarded = award(department_scores(period, now=now, kept=False), settings.peer_group_min)
    kept_cases = dict(
        FlagAward.objects.filter(
            year=period.year, quarter=period.quarter, case__isnull=False
        ).values_list("department_id", "case_id")
    )
    FlagAward.objects.filter(year=period.year, quarter=period.quarter).delete()
    rows = [
        FlagAward(
            department_id=pk,
            year=period.year,
            quarter=period.quarter,
            color=color,
            score=round(score.score, 4),
            peer_group_id=score.parent_id,
            case_id=kept_cases.get(pk),
            awarded_at=now,
        )
        for pk, (color, score) in awarded.items()
    ]
    FlagAward.objects.bulk_create(rows)
    due = [
        row
        for row in rows
        if row.color == FlagColor.YELLOW
        and row.case_id is None
        and _yellow_before(row, period, settings.yellow_flags_for_case)
    ]
    departments = Department.objects.in_bulk([row.department_id for row in due])
    # compliance.cases opens them and tells the inspectors of each department's region.
    opened = cases.open_cases(
        [
            cases.from_flags(
                departments[row.department_id],
                quarters=settings.yellow_flags_for_case,
                period=period.label,
            )
            for row in due
        ],
        now=now,
    )
    for row, case in zip(due, opened, strict=True):
        FlagAward.objects.filter(pk=row.pk).update(case=case)
        row.case = case
    return rows


def _yellow_before(row: FlagAward, period: Period, needed: int) -> bool:
    """Whether the department's yellow flag this quarter completes `needed` in a row."""
    quarters, current = [], period
    for _step in range(needed - 1):
        current = current.previous()
        quarters.append(current)
    earlier_yellow = sum(
        FlagAward.objects.filter(
            department_id=row.department_id, year=q.year, quarter=q.quarter, color=FlagColor.YELLOW
        ).exists()
        for q in quarters
    )
    return earlier_yellow == len(quarters)
