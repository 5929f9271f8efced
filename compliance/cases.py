"""Accountability cases (追责问责) are opened here and nowhere else: from a deadline breach, a
finding, a confidential report or a run of yellow flags; each is told to the inspectors of its
region (`officials.selectors.inspectors_of`, the same rule as their console's scope).

Callers in other apps hand in plain facts; no other app writes the case table. Breaches come
many at once from the deadline sweep, inside its transaction: they are written with a fixed
number of statements per batch, whatever its size, each with its N11 finding.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.functional import lazy

from compliance import rules
from compliance.models import (
    AccountabilityCase,
    CaseSource,
    CaseStatus,
    CauseCode,
    ConfidentialReport,
    Finding,
    ReportKind,
    cause_text,
)
from compliance.selectors import active_rules, current_versions, load_thresholds
from core.bulk import insert_rows
from notifications import messages
from officials.models import Department, User, lazy_display_name
from officials.selectors import inspectors_by_region

# --- cases opened one by one (findings, reports, flags) -----------------------------------------


@dataclass(frozen=True)
class Opening:
    """A case to open, and what the inspectors of its region are told about it."""

    source: str
    region: str
    cause: str  # as stored (the admin searches it); pages read `cause_code` and `cause_params`
    cause_code: str = ""
    cause_params: dict = field(default_factory=dict)
    rule: str = ""
    request_id: int | None = None
    department_id: int | None = None
    official_id: int | None = None
    finding_id: int | None = None
    report_id: int | None = None
    kind: str = "case_opened"  # the message (notifications/messages.py)
    words: dict = field(default_factory=dict)  # its context, less the case's number
    link: str = ""  # where it points; empty: the case's page
    opened_by: int | None = None  # an inspector who opened it needs no message about it


def open_cases(openings: Sequence[Opening], *, now: dt.datetime) -> list[AccountabilityCase]:
    """Open the cases (one INSERT) and tell each the inspectors of its region, in the caller's
    transaction; the e-mails leave after it commits."""
    if not openings:
        return []
    cases = AccountabilityCase.objects.bulk_create(
        [
            AccountabilityCase(
                source=opening.source,
                status=CaseStatus.OPEN,
                request_id=opening.request_id,
                department_id=opening.department_id,
                official_id=opening.official_id,
                region=opening.region,
                cause=opening.cause[:300],
                cause_code=opening.cause_code,
                cause_params=opening.cause_params,
                rule=opening.rule[:100],
                finding_id=opening.finding_id,
                report_id=opening.report_id,
                opened_at=now,
            )
            for opening in openings
        ]
    )
    inspectors = inspectors_by_region({opening.region for opening in openings})
    items: dict[str, list] = defaultdict(list)
    for opening, case in zip(openings, cases, strict=True):
        readers = [user for user in inspectors[opening.region] if user.pk != opening.opened_by]
        link = opening.link or reverse("inspector:case", args=[case.pk])
        items[opening.kind].append((readers, {**opening.words, "number": case.pk}, link))
    for kind, kind_items in items.items():
        messages.save_rows(messages.rows_for_many(kind, kind_items, now=now))
    return cases


def from_finding(finding: Finding, *, words: dict, link: str) -> Opening:
    """A violation of an item the admin set to open cases; `words` name the rule, the official,
    the enterprise and the message, as the finding's own alert would."""
    return Opening(
        source=CaseSource.FINDING,
        region=finding.region,
        cause=f"{finding.rule_code}: {finding.message}",
        cause_code=CauseCode.FINDING,
        cause_params={
            "rule": finding.rule_code,
            "message_id": finding.message_id,
            "params": finding.params,
        },
        rule=finding.rule_code,
        request_id=finding.request_id,
        department_id=finding.department_id,
        official_id=finding.official_id,
        finding_id=finding.pk,
        words=words,
        link=link,
    )


def from_report(
    report: ConfidentialReport,
    *,
    by: User,
    official: User | None,
    department: Department | None,
) -> Opening:
    """A case an inspector opens from a report. The cause names the report's number and kind
    only: cases are read by administrators too, and the report's words and its reporter are for
    the region's inspectors alone."""
    params = {"number": report.pk, "kind": report.kind}
    cause = cause_text(CauseCode.REPORT, params)
    department = department or report.department
    return Opening(
        source=CaseSource.REPORT,
        region=report.region,
        cause=cause,
        cause_code=CauseCode.REPORT,
        cause_params=params,
        department_id=department.pk if department else None,
        official_id=official.pk if official else None,
        report_id=report.pk,
        words={
            "rule": ReportKind(report.kind).label,
            "official": official.display_name if official else "—",
            "enterprise": report.enterprise.name if report.enterprise is not None else "—",
            "message": _lazy_cause_text(CauseCode.REPORT, params),
        },
        opened_by=by.pk,
    )


def from_flags(department: Department, *, quarters: int, period: str) -> Opening:
    """A department whose yellow flag completes `quarters` consecutive quarters, up to `period`."""
    params = {"count": quarters, "period": period}
    return Opening(
        source=CaseSource.FLAG,
        region=department.region,
        cause=cause_text(CauseCode.FLAGS, params),
        cause_code=CauseCode.FLAGS,
        cause_params=params,
        rule="flags",
        department_id=department.pk,
        kind="flag_case_opened",
        # Lazy: each inspector reads the department's name in their own language.
        words={"department": lazy_display_name(department), "count": quarters, "period": period},
    )


# A cause as each recipient of a message reads it, in their own language
# (messages.rows_for_many translates lazy values per language).
_lazy_cause_text = lazy(cause_text, str)


# --- cases from the deadline sweep ---------------------------------------------------------------


class Breach(NamedTuple):
    """A clock the sweep found breached, as plain facts (compliance does not import the request
    app). A tuple: the sweep hands in up to 100,000 at once."""

    request_id: int
    reference: str
    enterprise_id: int
    department_id: int | None
    official_id: int | None  # who answers for it: the handler, or the liaison who held it
    region: str
    rule: str  # the escalation rule's name (Chinese)
    breach_at: dt.datetime
    rule_en: str = ""  # and its English name, if it has one


_CASE_COLUMNS = (
    "source",
    "status",
    "request_id",
    "department_id",
    "official_id",
    "region",
    "cause",
    "cause_code",
    "cause_params",
    "rule",
    "breach_at",
    "opened_at",
    "finding_id",
)
_FINDING_COLUMNS = (
    "rule_code",
    "rule_version_id",
    "severity",
    "message_id",
    "params",
    "message",
    "official_id",
    "department_id",
    "enterprise_id",
    "region",
    "request_id",
    "created_at",
)
BREACH_MESSAGE = "n11.answer_breach"
_REFERENCE = "\x00reference\x00"  # stands for each request's reference in the rendered text


def open_breach_cases(breaches: Sequence[Breach], *, now: dt.datetime) -> int:
    """One case per breach, each linked to its request's N11 finding, written in the sweep's
    transaction in a fixed number of statements.

    The inspectors are told by the sweep's own message about the breach (the escalation rule
    names them; `inspectors_of` decides who they are): one message per case and reader, which
    the database writes itself on PostgreSQL. A second message from here would tell them twice.
    """
    if not breaches:
        return 0
    findings = _breach_findings(breaches, now)
    source, status = CaseSource.BREACH.value, CaseStatus.OPEN.value
    rows = [
        (
            source,
            status,
            breach.request_id,
            breach.department_id,
            breach.official_id,
            breach.region,
            f"{breach.reference}: {breach.rule}"[:300],
            CauseCode.BREACH.value,
            {"reference": breach.reference, "rule": breach.rule, "rule_en": breach.rule_en},
            breach.rule[:100],
            breach.breach_at,
            now,
            findings.get(breach.request_id),
        )
        for breach in breaches
    ]
    insert_rows(AccountabilityCase, _CASE_COLUMNS, rows)
    return len(rows)


def _breach_findings(breaches: Sequence[Breach], now: dt.datetime) -> dict[int, int]:
    """{request id: its N11 breach finding}, storing those the requests lack (none while N11 is
    retired). A request has one whatever the clock or cycle: a later breach's case links to the
    finding the first one made. The sweep holds the requests' rows locked, so nobody else
    stores these findings meanwhile (the unique key would refuse a second one)."""
    codes = set(active_rules().filter(code="N11").values_list("code", flat=True))
    # What the rule says of a breach does not depend on the request: judged once per batch.
    facts = rules.RequestHistoryFacts(answer_breached=True)
    said = [
        item
        for item in rules.judge(facts, load_thresholds(), codes=codes)
        if item.message_id == BREACH_MESSAGE
    ]
    if not said:
        return {}
    verdict = said[0]
    version = current_versions([verdict.rule]).get(verdict.rule)
    # One probe of the unique index (request, rule, cause) per request; unordered.
    found = dict(
        Finding.objects.filter(
            request_id__any_of=[breach.request_id for breach in breaches],
            rule_code=verdict.rule,
            message_id=BREACH_MESSAGE,
        )
        .order_by()
        .values_list("request_id", "pk")
    )
    lacking: dict[int, Breach] = {}
    for breach in breaches:
        if breach.request_id not in found:
            lacking.setdefault(breach.request_id, breach)
    # The text as first rendered, in the portal's language, for exports and search. Rendered
    # once with a marker where the reference goes: per request, rendering cost more than the
    # row's insert.
    with translation.override(settings.LANGUAGE_CODE):
        text = rules.render(BREACH_MESSAGE, {**verdict.params, "reference": _REFERENCE})
    rows = []
    for breach in lacking.values():
        rows.append(
            (
                verdict.rule,
                version.pk if version else None,
                verdict.severity,
                BREACH_MESSAGE,
                {**verdict.params, "reference": breach.reference},
                text.replace(_REFERENCE, breach.reference),
                breach.official_id,
                breach.department_id,
                breach.enterprise_id,
                breach.region,
                breach.request_id,
                now,
            )
        )
    ids = insert_rows(Finding, _FINDING_COLUMNS, rows, with_ids=True)
    found.update(zip(lacking, ids, strict=True))
    return found
