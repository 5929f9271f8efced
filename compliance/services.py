"""Compliance writes: keeping records and judging them, storing findings, alerting inspectors,
opening cases. Request history is judged in `compliance.history`, the lists edited in
`compliance.lists`.

Rules themselves live in `compliance.rules` (pure functions); this module loads their facts and
stores what they say, each finding with the version of the item it was judged by.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from compliance import rules

# The admin's edits of the lists are services too; they live in compliance.lists.
from compliance.lists import reinstate_rule, retire_rule, revise_rule, set_threshold
from compliance.models import (
    AccountabilityCase,
    AssetUse,
    CaseSource,
    Declaration,
    Finding,
    Gift,
    Interaction,
    InteractionKind,
    Rule,
    Threshold,
    ThresholdKey,
    VisitFiling,
)
from compliance.selectors import (
    active_rules,
    current_versions,
    inspectors_of,
    may_keep_records,
    oversees,
)
from officials.models import Enterprise, User
from officials.selectors import enterprises_visible_to
from portal import notifications


@dataclass
class Judged:
    """A record just kept, and what the rules said about it."""

    record: object
    findings: list[Finding]


def load_thresholds() -> rules.Thresholds:
    """The locality's settings; a missing row or an empty value is "not set"."""
    values = dict(Threshold.objects.values_list("key", "value"))
    return rules.Thresholds(**{key: values.get(key) for key in ThresholdKey.values})


# --- keeping records -----------------------------------------------------------------------------


def _require_keeper(by: User) -> None:
    if not may_keep_records(by):
        raise PermissionDenied(_("Only officials who serve enterprises keep these records."))


def _require_enterprise(by: User, enterprise: Enterprise) -> None:
    # The officials' own selector decides: a handler's department region, a liaison's links.
    if not enterprises_visible_to(by).filter(pk=enterprise.pk).exists():
        raise ValidationError({"enterprise": [_("This enterprise is outside your jurisdiction.")]})


def _keep(model, *, by: User, enterprise: Enterprise, now: dt.datetime, **fields):
    _require_keeper(by)
    _require_enterprise(by, enterprise)
    return model.objects.create(
        official=by,
        department_id=by.department_id,
        enterprise=enterprise,
        region=enterprise.region,
        created_at=now,
        **fields,
    )


def matching_filing(by: User, enterprise: Enterprise, moment: dt.datetime) -> VisitFiling | None:
    """The filing that covers a site visit: same enterprise, the official's or their
    department's, not cancelled, its window containing the moment."""
    mine = Q(official=by)
    if by.department_id:
        mine |= Q(department_id=by.department_id)
    return (
        VisitFiling.objects.filter(
            mine,
            enterprise=enterprise,
            cancelled_at__isnull=True,
            planned_start__lte=moment,
            planned_end__gte=moment,
        )
        .order_by("created_at", "pk")
        .first()
    )


def record_interaction(
    *,
    by: User,
    enterprise: Enterprise,
    kind: str,
    occurred_at: dt.datetime,
    description: str = "",
    public: bool = False,
    approval_ref: str = "",
    payer: str = "",
    amount_total: Decimal | None = None,
    headcount: int | None = None,
    alcohol: bool = False,
    venue_type: str = "",
    now: dt.datetime | None = None,
) -> Judged:
    """Log a contact with an enterprise (政商交往登记) and judge it."""
    now = now or timezone.now()
    with transaction.atomic():
        filing = (
            matching_filing(by, enterprise, occurred_at)
            if kind == InteractionKind.SITE_VISIT
            else None
        )
        interaction = _keep(
            Interaction,
            by=by,
            enterprise=enterprise,
            now=now,
            kind=kind,
            occurred_at=occurred_at,
            description=description,
            public=public,
            approval_ref=approval_ref,
            payer=payer,
            amount_total=amount_total,
            headcount=headcount,
            alcohol=alcohol,
            venue_type=venue_type,
            visit_filing=filing,
        )
        if filing is None:
            filing_state = "none"
        else:
            filing_state = "on_time" if filing.created_at <= occurred_at else "late"
        facts = rules.InteractionFacts(
            kind=kind,
            occurred_at=occurred_at,
            public=public,
            approval_ref=approval_ref,
            payer=payer,
            amount_total=amount_total,
            headcount=headcount,
            alcohol=alcohol,
            venue_type=venue_type,
            managed=oversees(by, enterprise),
            filing=filing_state,
        )
        return Judged(interaction, judge_record(facts, interaction, "interaction", now))


def record_gift(
    *,
    by: User,
    enterprise: Enterprise,
    direction: str,
    kind: str,
    value_cny: Decimal,
    received_at: dt.datetime,
    refused: bool = False,
    registered_at: dt.datetime | None = None,
    surrendered_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Judged:
    """Record a gift given or received (礼品礼金) and judge it."""
    now = now or timezone.now()
    with transaction.atomic():
        gift = _keep(
            Gift,
            by=by,
            enterprise=enterprise,
            now=now,
            direction=direction,
            kind=kind,
            value_cny=value_cny,
            received_at=received_at,
            refused=refused,
            registered_at=registered_at,
            surrendered_at=surrendered_at,
        )
        facts = rules.GiftFacts(
            direction=direction,
            kind=kind,
            value_cny=value_cny,
            received_at=received_at,
            now=now,
            refused=refused,
            registered_at=registered_at,
            surrendered_at=surrendered_at,
        )
        return Judged(gift, judge_record(facts, gift, "gift", now))


def _activity(by: User, enterprise: Enterprise, start: dt.date, interaction: Interaction | None):
    """The official activity a use of an asset belongs to: the one named, or the official's own
    interaction with the enterprise on the day the use began."""
    if interaction is not None:
        if interaction.official_id != by.pk or interaction.enterprise_id != enterprise.pk:
            raise ValidationError(
                {"interaction": [_("Choose one of your own records with this enterprise.")]}
            )
        return interaction
    day_start = timezone.make_aware(dt.datetime.combine(start, dt.time.min))
    return (
        Interaction.objects.filter(
            official=by,
            enterprise=enterprise,
            occurred_at__gte=day_start,
            occurred_at__lt=day_start + dt.timedelta(days=1),
        )
        .order_by("occurred_at", "pk")
        .first()
    )


def record_asset_use(
    *,
    by: User,
    enterprise: Enterprise,
    asset: str,
    start: dt.date,
    end: dt.date | None = None,
    dedicated: bool = False,
    returned: bool = False,
    interaction: Interaction | None = None,
    now: dt.datetime | None = None,
) -> Judged:
    """Record the use of an enterprise's car, housing, money or equipment and judge it."""
    now = now or timezone.now()
    with transaction.atomic():
        _require_keeper(by)
        activity = _activity(by, enterprise, start, interaction)
        use = _keep(
            AssetUse,
            by=by,
            enterprise=enterprise,
            now=now,
            asset=asset,
            start=start,
            end=end,
            dedicated=dedicated,
            returned=returned,
            interaction=activity,
        )
        facts = rules.AssetUseFacts(
            asset=asset,
            start=start,
            end=end,
            today=timezone.localtime(now).date(),
            dedicated=dedicated,
            returned=returned,
            has_activity=activity is not None,
        )
        return Judged(use, judge_record(facts, use, "asset_use", now))


def record_declaration(
    *,
    by: User,
    enterprise: Enterprise,
    relation: str,
    remunerated: bool = False,
    approved: bool = False,
    note: str = "",
    now: dt.datetime | None = None,
) -> Judged:
    """Declare a tie to an enterprise (个人事项申报). While it is in force, the enterprise's
    requests are kept away from the official (回避)."""
    now = now or timezone.now()
    with transaction.atomic():
        declaration = _keep(
            Declaration,
            by=by,
            enterprise=enterprise,
            now=now,
            relation=relation,
            remunerated=remunerated,
            approved=approved,
            note=note,
        )
        facts = rules.DeclarationFacts(
            relation=relation,
            remunerated=remunerated,
            approved=approved,
            managed=oversees(by, enterprise),
        )
        return Judged(declaration, judge_record(facts, declaration, "declaration", now))


def end_declaration(declaration: Declaration, *, by: User, now: dt.datetime | None = None) -> None:
    """The tie has ended (the official says so): the recusal no longer applies."""
    if declaration.official_id != by.pk:
        raise PermissionDenied(_("Only the official who declared it may end a declaration."))
    Declaration.objects.filter(pk=declaration.pk, ended_at__isnull=True).update(
        ended_at=now or timezone.now()
    )


# --- judging and storing -------------------------------------------------------------------------


def stored_text(message_id: str, params: dict) -> str:
    # The text as first rendered, in the portal's language, for exports and search.
    with translation.override(settings.LANGUAGE_CODE):
        return rules.render(message_id, params)


# Rendered in each recipient's language when the notification rows are built.
_lazy_render = lazy(rules.render, str)


def judge_record(facts, record, field_name: str, now: dt.datetime) -> list[Finding]:
    """Run the active rules on a record's facts; store, alert and open cases (in the caller's
    transaction)."""
    codes = set(active_rules().values_list("code", flat=True))
    found = rules.judge(facts, load_thresholds(), codes=codes)
    versions = current_versions({item.rule for item in found})
    findings = [
        Finding(
            rule_code=item.rule,
            rule_version=versions.get(item.rule),
            severity=item.severity,
            message_id=item.message_id,
            params=item.params,
            message=stored_text(item.message_id, item.params),
            official_id=record.official_id,
            department_id=record.department_id,
            enterprise_id=record.enterprise_id,
            region=record.region,
            created_at=now,
            **{field_name: record},
        )
        for item in found
    ]
    for finding in findings:
        finding.save()
    alert(findings, now)
    return findings


def alert(findings: list[Finding], now: dt.datetime) -> None:
    """A violation tells the region's inspectors; where the admin set the item so, it also opens
    an accountability case (and the message says so)."""
    violations = [f for f in findings if f.severity == rules.VIOLATION]
    if not violations:
        return
    opening = set(
        Rule.objects.filter(
            code__in={f.rule_code for f in violations}, opens_case=True
        ).values_list("code", flat=True)
    )
    inspectors: dict[str, list[User]] = {}
    for finding in violations:
        case = open_case(finding, now) if finding.rule_code in opening else None
        if finding.region not in inspectors:
            inspectors[finding.region] = inspectors_of(finding.region)
        context = {
            "rule": finding.rule_code,
            "official": _who(finding),
            "enterprise": finding.enterprise.name if finding.enterprise_id else "—",
            "message": _lazy_render(finding.message_id, finding.params),
            "number": case.pk if case else "",
        }
        kind = "case_opened" if case else "finding_violation"
        rows = notifications.build(
            inspectors[finding.region], kind, context, finding_link(finding), now=now
        )
        notifications.save_and_send(rows)


def _who(finding: Finding) -> str:
    if finding.official_id:
        return finding.official.display_name
    if finding.department_id:
        return finding.department.name
    return "—"


def finding_link(finding: Finding) -> str:
    """Where a finding is read: its record's page, or the request it was found on."""
    for field_name, kind in RECORD_PAGES.items():
        record_id = getattr(finding, f"{field_name}_id")
        if record_id:
            return reverse("compliance:record-detail", args=[kind, record_id])
    if finding.request_id:
        return reverse("requests:detail", args=[finding.request_id])
    return ""


# Finding field → the kind segment of the record pages' URLs.
RECORD_PAGES = {
    "interaction": "interactions",
    "gift": "gifts",
    "asset_use": "asset-uses",
    "declaration": "declarations",
}


def open_case(finding: Finding, now: dt.datetime) -> AccountabilityCase:
    return AccountabilityCase.objects.create(
        source=CaseSource.FINDING,
        finding=finding,
        request_id=finding.request_id,
        department_id=finding.department_id,
        official_id=finding.official_id,
        region=finding.region,
        cause=f"{finding.rule_code}: {finding.message}"[:300],
        rule=finding.rule_code,
        opened_at=now,
    )


__all__ = [
    "Judged",
    "alert",
    "end_declaration",
    "judge_record",
    "load_thresholds",
    "record_asset_use",
    "record_declaration",
    "record_gift",
    "record_interaction",
    "reinstate_rule",
    "retire_rule",
    "revise_rule",
    "set_threshold",
]
