"""Scoped reads for inspectors: who reads which confidential report, case, finding and record.

Pages, API, admin and search all start here. Confidential reports are the inspectors' alone:
every other role, administrators included, gets an empty queryset, so a missing report and a
report that is not yours both answer 404.
"""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from compliance import receipts
from compliance.models import (
    AccountabilityCase,
    AssetUse,
    CaseStatus,
    ConfidentialReport,
    Declaration,
    Finding,
    Gift,
    Interaction,
    ReportAddition,
    ReportStatus,
    Severity,
)
from officials.models import Role, User
from officials.selectors import inspector_scope


def _is_active(user: User) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def is_inspector(user: User) -> bool:
    return _is_active(user) and user.role == Role.INSPECTOR


def region_scope(user: User) -> Q | None:
    """The regions an inspector answers for, as a filter on `region`; None = the whole portal.

    Records without a region (a report naming neither enterprise nor department) are city-wide:
    they belong to the inspectors at the top of the tree. The rule is officials' (the department
    tree), next to `inspectors_of`, which tells exactly the inspectors this scope shows a record.
    """
    return inspector_scope(user)


# "Not read yet": `region_scope` is read by `_scoped` then (it is one query).
_ASK = object()


def _scoped(queryset: QuerySet, user: User, scope=_ASK) -> QuerySet:
    """`queryset` in the user's regions; `scope`, when the caller already read it (a page of
    several lists reads it once, not once a list)."""
    if scope is _ASK:
        scope = region_scope(user)
    return queryset if scope is None else queryset.filter(scope)


# --- confidential reports ------------------------------------------------------------------------


def reports_visible_to(user: User, *, scope=_ASK) -> QuerySet:
    """Inspectors of the report's region, and nobody else (the reported official, admins too)."""
    reports = ConfidentialReport.objects.select_related("enterprise", "department")
    if not is_inspector(user):
        return reports.none()
    return _scoped(reports, user, scope)


def get_visible_report(user: User, pk) -> ConfidentialReport:
    try:
        return reports_visible_to(user).get(pk=pk)
    except (ConfidentialReport.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None


def reports_by_receipt(receipt: str) -> QuerySet[ConfidentialReport]:
    """The report a receipt opens (none, or one), however the person typed it: grouped or
    not, any case; an old-format receipt exactly as issued (compliance/receipts.py). Found by
    the receipt's keyed digest: the receipt itself is stored nowhere."""
    return ConfidentialReport.objects.filter(receipt_digest__in=receipts.candidate_digests(receipt))


def report_status(receipt: str) -> ConfidentialReport:
    """What a reporter may learn with their receipt: the status and its time, and what they
    added themselves later; nothing else."""
    report = reports_by_receipt(receipt).only("status", "updated_at").first()
    if report is None:
        raise Http404
    return report


def addition_with_evidence(pk: int) -> ReportAddition:
    """One addition with its files (to answer the reporter who just sent it)."""
    return ReportAddition.objects.prefetch_related("evidence").get(pk=pk)


def additions_for_reporter(report: ConfidentialReport) -> list[ReportAddition]:
    """The reporter's own additions to the report, oldest first, with their files."""
    return list(
        ReportAddition.objects.filter(report=report)
        .prefetch_related("evidence")
        .order_by("created_at", "id")
    )


# --- cases ---------------------------------------------------------------------------------------


def cases_visible_to(user: User, *, scope=_ASK) -> QuerySet:
    """Inspectors: the cases of their region; admins: every case; anyone else: none."""
    cases = AccountabilityCase.objects.select_related(
        "request", "department", "official", "inspector", "report", "finding"
    )
    if not _is_active(user):
        return cases.none()
    if user.role == Role.ADMIN:
        return cases
    if user.role != Role.INSPECTOR:
        return cases.none()
    return _scoped(cases, user, scope)


# What a list of cases shows of each beyond its own row (pages and API alike).
CASE_LIST_RELATIONS = ("request", "department", "official", "inspector")


def case_ids_in_order(cases: QuerySet) -> QuerySet:
    """The ids of `cases` in a list's order, newest first: what a list pages through.

    A list pages through the case table alone and joins only the rows of its page
    (`cases_in_order`). Paged with its joins, PostgreSQL joined every case in scope to its
    request, department and official before sorting them to keep 20: 250 ms for a city
    inspector's 8,575 cases at 1M requests, where sorting the ids alone takes 3 ms.
    """
    return cases.order_by("-opened_at", "-id").values_list("pk", flat=True)


def cases_in_order(ids) -> list[AccountabilityCase]:
    """The cases of `ids` (a page of `case_ids_in_order` of a scoped queryset: the scope was
    applied there) with what a list shows of them, in the order of `ids`: one query, whatever
    their number."""
    ids = list(ids)
    found = AccountabilityCase.objects.select_related(*CASE_LIST_RELATIONS).in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


def get_visible_case(user: User, pk) -> AccountabilityCase:
    try:
        return cases_visible_to(user).get(pk=pk)
    except (AccountabilityCase.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404 from None


def case_file(case: AccountabilityCase) -> dict:
    """Everything on a case's file besides the request history: notes and decisions, in order."""
    return {
        "notes": list(case.notes.select_related("author").order_by("created_at", "id")),
        "decisions": list(
            case.decisions.select_related("decided_by", "corrects").order_by("decided_at", "id")
        ),
    }


# --- findings and officials' records -------------------------------------------------------------


def findings_visible_to(user: User, *, scope=_ASK) -> QuerySet:
    findings = Finding.objects.select_related("official", "department", "enterprise")
    if not _is_active(user):
        return findings.none()
    if user.role == Role.ADMIN:
        return findings
    if user.role != Role.INSPECTOR:
        return findings.none()
    return _scoped(findings, user, scope)


@dataclass(frozen=True)
class Alerts:
    violations: list
    open_cases: list
    new_reports: list


def alerts_for(user: User, limit: int = 20) -> Alerts:
    """What needs an inspector now: violations, untaken cases, reports nobody has looked at.

    The inspector's regions are read once for the three lists."""
    scope = region_scope(user) if is_inspector(user) else None
    open_cases = cases_visible_to(user, scope=scope).filter(status=CaseStatus.OPEN)
    return Alerts(
        violations=list(
            findings_visible_to(user, scope=scope)
            .filter(severity=Severity.VIOLATION)
            .order_by("-created_at", "-id")[:limit]
        ),
        open_cases=cases_in_order(case_ids_in_order(open_cases)[:limit]),
        new_reports=list(
            reports_visible_to(user, scope=scope)
            .filter(status=ReportStatus.RECEIVED)
            .order_by("-created_at", "-id")[:limit]
        ),
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: object  # an aware datetime
    kind: str  # "interaction", "gift", "asset_use", "declaration", "finding", "case"
    item: object


def official_timeline(user: User, official: User, limit: int = 500) -> list[TimelineEntry]:
    """An official's records, findings and cases in the reader's jurisdiction, newest first."""
    entries: list[TimelineEntry] = []
    records = (
        ("interaction", Interaction, "occurred_at"),
        ("gift", Gift, "received_at"),
        ("asset_use", AssetUse, "created_at"),
        ("declaration", Declaration, "created_at"),
    )
    if user.role not in (Role.INSPECTOR, Role.ADMIN) or not _is_active(user):
        return entries
    for kind, model, moment in records:
        rows = _scoped(model.objects.filter(official=official), user).select_related("enterprise")
        entries += [
            TimelineEntry(getattr(row, moment), kind, row)
            for row in rows.order_by(f"-{moment}")[:limit]
        ]
    entries += [
        TimelineEntry(row.created_at, "finding", row)
        for row in findings_visible_to(user).filter(official=official)[:limit]
    ]
    entries += [
        TimelineEntry(row.opened_at, "case", row)
        for row in cases_visible_to(user).filter(official=official)[:limit]
    ]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def officials_in_scope(user: User) -> QuerySet:
    """Officials an inspector may look up: every official (the records themselves are scoped)."""
    return User.objects.filter(
        role__in=[Role.LIAISON, Role.HANDLER, Role.LEADER], is_active=True
    ).order_by("name", "username")
