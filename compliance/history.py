"""Findings from request history (N11): repeated transfers and dissatisfaction, reported by the
request loop as plain counts. (A breached answer clock is N11 too: `compliance.cases` stores
that finding with the breach's case, as the sweep opens it.)

Compliance never imports the request app: the request loop calls in with facts.
"""

import datetime as dt

from django.utils import timezone

from compliance import rules
from compliance.models import Finding
from compliance.selectors import active_rules, current_versions, load_thresholds
from compliance.services import alert, stored_text


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
