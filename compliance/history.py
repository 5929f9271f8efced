"""Findings from request history (N11): repeated transfers and dissatisfaction, reported by the
request loop as plain counts, and the deadline sweep's breach cases linked to an N11 finding.

Compliance never imports the request app: the request loop calls in with facts, and breach
cases are read through their own relation to the request.
"""

import datetime as dt

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from compliance import rules
from compliance.models import AccountabilityCase, CaseSource, Finding
from compliance.selectors import active_rules, current_versions
from compliance.services import alert, load_thresholds, stored_text


def judge_request_history(
    *,
    request_id: int,
    reference: str,
    enterprise_id: int,
    region: str,
    department_id: int | None,
    official_id: int | None,
    transfers: int,
    rejected_reviews: int,
    now: dt.datetime | None = None,
) -> list[Finding]:
    """N11 from a request's counts, called by the request loop after a transfer or a review.

    Plain facts in, no request object: compliance does not import the request app. The caller
    holds the request's row lock, so the "already found" check cannot race; the unique key
    (request, rule, cause) backs it up.
    """
    now = now or timezone.now()
    codes = set(active_rules().values_list("code", flat=True))
    facts = rules.RequestHistoryFacts(
        transfers=transfers, rejected_reviews=rejected_reviews, reference=reference
    )
    found = rules.judge(facts, load_thresholds(), codes=codes)
    already = set(
        Finding.objects.filter(request_id=request_id).values_list("rule_code", "message_id")
    )
    versions = current_versions({item.rule for item in found})
    findings = []
    for item in found:
        if (item.rule, item.message_id) in already:
            continue
        finding = Finding.objects.create(
            rule_code=item.rule,
            rule_version=versions.get(item.rule),
            severity=item.severity,
            message_id=item.message_id,
            params=item.params,
            message=stored_text(item.message_id, item.params),
            official_id=official_id,
            department_id=department_id,
            enterprise_id=enterprise_id,
            region=region,
            request_id=request_id,
            created_at=now,
        )
        findings.append(finding)
    alert(findings, now)
    return findings


BREACH_BATCH = 1000


def link_breach_cases(now: dt.datetime | None = None, batch: int = BREACH_BATCH) -> int:
    """Give every breach case the sweep opened an N11 finding, and link the case to it.

    Set-based, in batches: one read of the unlinked cases, one bulk insert of the findings
    (ON CONFLICT DO NOTHING on the unique key), one UPDATE linking the cases. No second case
    is opened: the sweep's case is the case; its inspectors were told when it opened.
    """
    now = now or timezone.now()
    if not active_rules().filter(code="N11").exists():
        return 0
    version = current_versions(["N11"]).get("N11")
    limits = load_thresholds()
    linked, after = 0, 0
    while True:
        cases = list(
            AccountabilityCase.objects.filter(
                source=CaseSource.BREACH,
                finding__isnull=True,
                request__isnull=False,
                pk__gt=after,
            )
            .order_by("pk")
            .values(
                "pk",
                "request_id",
                "request__reference",
                "request__enterprise_id",
                "department_id",
                "official_id",
                "region",
            )[:batch]
        )
        if not cases:
            return linked
        after = cases[-1]["pk"]
        rows = []
        for case in cases:
            facts = rules.RequestHistoryFacts(
                answer_breached=True, reference=case["request__reference"]
            )
            for item in rules.judge(facts, limits, codes={"N11"}):
                if item.message_id != "n11.answer_breach":
                    continue
                rows.append(
                    Finding(
                        rule_code=item.rule,
                        rule_version=version,
                        severity=item.severity,
                        message_id=item.message_id,
                        params=item.params,
                        message=stored_text(item.message_id, item.params),
                        official_id=case["official_id"],
                        department_id=case["department_id"],
                        enterprise_id=case["request__enterprise_id"],
                        region=case["region"],
                        request_id=case["request_id"],
                        created_at=now,
                    )
                )
        with transaction.atomic():
            Finding.objects.bulk_create(rows, ignore_conflicts=True)
            breach_finding = Finding.objects.filter(
                request_id=OuterRef("request_id"),
                rule_code="N11",
                message_id="n11.answer_breach",
            ).order_by("pk")
            linked += AccountabilityCase.objects.filter(
                pk__in=[case["pk"] for case in cases], finding__isnull=True
            ).update(finding=Subquery(breach_finding.values("pk")[:1]))
