"""Compliance writes: keeping records and judging them, storing findings, alerting inspectors.
Request history is judged in `compliance.history`, the lists edited in `compliance.lists`, and
the cases a violation opens are opened by `compliance.cases`.

Rules themselves live in `compliance.rules` (pure functions); this module loads their facts and
stores what they say, each finding with the version of the item it was judged by.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext as _

from compliance import cases, rules

# The admin's edits of the lists are services too; they live in compliance.lists.
from compliance.lists import reinstate_rule, retire_rule, revise_rule, set_threshold
from compliance.models import (
    AssetUse,
    Declaration,
    Finding,
    Gift,
    GiftDirection,
    GiftKind,
    Interaction,
    InteractionKind,
    Rule,
    VisitFiling,
)
from compliance.selectors import (
    active_rules,
    current_versions,
    load_thresholds,
    may_keep_records,
    oversees,
)
from notifications import messages
from officials.models import Enterprise, User, lazy_display_name
from officials.selectors import inspectors_by_region


@dataclass
class Judged:
    """A record just kept, and what the rules said about it."""

    record: object
    findings: list[Finding]


# --- keeping records -----------------------------------------------------------------------------


def _require_keeper(by: User) -> None:
    if not may_keep_records(by):
        raise PermissionDenied(_("Only officials who serve enterprises keep these records."))


def _keep(model, *, by: User, enterprise: Enterprise, now: dt.datetime, **fields):
    # Any enterprise of the portal (API.md): what an official received from, used of, or is
    # tied to is never refused for lying outside their jurisdiction; that would hide it.
    _require_keeper(by)
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
        return Judged(gift, judge_record(_gift_facts(gift, now), gift, "gift", now))


def _gift_facts(gift: Gift, now: dt.datetime) -> rules.GiftFacts:
    return rules.GiftFacts(
        direction=gift.direction,
        kind=gift.kind,
        value_cny=gift.value_cny,
        received_at=gift.received_at,
        now=now,
        refused=gift.refused,
        registered_at=gift.registered_at,
        surrendered_at=gift.surrendered_at,
    )


# As the input serializers allow: a time a few minutes ahead is a phone's clock, not a lie.
CLOCK_SKEW = dt.timedelta(minutes=5)


def record_gift_outcome(
    *,
    gift: Gift,
    by: User,
    registered_at: dt.datetime | None = None,
    surrendered_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> Judged:
    """The official says when a gift was registered or surrendered (after recording it): the
    time is set once, and the gift is judged again; only findings it does not have yet are
    stored (a registration after the deadline is the N01 violation)."""
    now = now or timezone.now()
    given = {"registered_at": registered_at, "surrendered_at": surrendered_at}
    given = {name: value for name, value in given.items() if value is not None}
    if not given:
        raise ValidationError(
            {"non_field_errors": [_("Give the registration or the surrender time.")]}
        )
    with transaction.atomic():
        # The row lock serialises this with another outcome and with the periodic judging.
        gift = Gift.objects.select_for_update().get(pk=gift.pk)
        if gift.official_id != by.pk:
            raise PermissionDenied(_("Only the official who recorded the gift may update it."))
        errors: dict[str, list[str]] = {}
        for name, value in given.items():
            if getattr(gift, name) is not None:
                errors[name] = [_("This time is already recorded and cannot be changed.")]
            elif value > now + CLOCK_SKEW:
                errors[name] = [_("This time cannot be in the future.")]
            elif value < gift.received_at:
                errors[name] = [_("This cannot be before the gift was received.")]
        if errors:
            raise ValidationError(errors)
        for name, value in given.items():
            setattr(gift, name, value)
        gift.save(update_fields=list(given))
        findings = judge_record(_gift_facts(gift, now), gift, "gift", now, only_new=True)
        return Judged(gift, findings)


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


def judge_record(
    facts, record, field_name: str, now: dt.datetime, *, only_new: bool = False
) -> list[Finding]:
    """Run the active rules on a record's facts; store, alert and open cases (in the caller's
    transaction). `only_new`: a record judged again stores only the findings (rule and message)
    it does not have yet."""
    codes = set(active_rules().values_list("code", flat=True))
    found = rules.judge(facts, load_thresholds(), codes=codes)
    if only_new:
        already = set(
            Finding.objects.filter(**{field_name: record}).values_list("rule_code", "message_id")
        )
        found = [item for item in found if (item.rule, item.message_id) not in already]
    versions = current_versions({item.rule for item in found})
    findings = [_finding(item, record, field_name, versions, now) for item in found]
    for finding in findings:
        finding.save()
    alert(findings, now)
    return findings


def _finding(item: rules.Finding, record, field_name: str, versions: dict, now) -> Finding:
    return Finding(
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


# The N01 causes a gift's deadline lapses into, and the threshold each needs.
LAPSES = {
    "n01.not_registered": ("registered_at", "gift_register_min"),
    "n01.not_surrendered": ("surrendered_at", "gift_surrender_min"),
}
LAPSE_BATCH = 500


def lapsed_gifts(now: dt.datetime, limits: rules.Thresholds):
    """Received, kept (not refused) goods whose deadline has passed while a registration or a
    surrender over its threshold is still missing, and which have no N01 violation for that
    cause yet: one query."""
    if limits.gift_register_days is None:
        return Gift.objects.none()
    cutoff = now - dt.timedelta(days=int(limits.gift_register_days))
    causes = Q(pk__in=[])
    for message_id, (done_field, minimum) in LAPSES.items():
        threshold = getattr(limits, minimum)
        if threshold is None:
            continue
        found = Finding.objects.filter(gift=OuterRef("pk"), rule_code="N01", message_id=message_id)
        causes |= Q(**{f"{done_field}__isnull": True, "value_cny__gt": threshold}) & ~Exists(found)
    return Gift.objects.filter(
        causes,
        direction=GiftDirection.RECEIVED,
        refused=False,
        received_at__lt=cutoff,
    ).exclude(kind__in=rules.MONETARY_GIFTS | {GiftKind.SOUVENIR})


def judge_lapsed_gifts(*, now: dt.datetime, batch: int = LAPSE_BATCH) -> int:
    """Judge again the gifts whose registration or surrender deadline passed unmet, and store
    the violations they do not have yet (alerts and cases as for any violation). Set-based, in
    batches, each gift locked while judged; safe to run any time: a second run finds nothing.
    Returns how many findings were stored."""
    if not active_rules().filter(code="N01").exists():
        return 0
    codes = set(active_rules().values_list("code", flat=True))
    limits = load_thresholds()
    stored, after = 0, 0
    while True:
        ids = list(
            lapsed_gifts(now, limits)
            .filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return stored
        after = ids[-1]
        with transaction.atomic():
            gifts = list(Gift.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
            already: dict[int, set] = {}
            for gift_id, code, message_id in Finding.objects.filter(gift_id__in=ids).values_list(
                "gift_id", "rule_code", "message_id"
            ):
                already.setdefault(gift_id, set()).add((code, message_id))
            items = [
                (gift, item)
                for gift in gifts
                for item in rules.judge(_gift_facts(gift, now), limits, codes=codes)
                if item.severity == rules.VIOLATION
                and (item.rule, item.message_id) not in already.get(gift.pk, set())
            ]
            versions = current_versions({item.rule for _gift, item in items})
            findings = [_finding(item, gift, "gift", versions, now) for gift, item in items]
            for finding in findings:
                finding.save()
            alert(findings, now)
            stored += len(findings)


def alert(findings: list[Finding], now: dt.datetime) -> None:
    """A violation tells the region's inspectors; where the admin set the item so, it opens an
    accountability case instead (`compliance.cases`), whose message tells them of both."""
    violations = [f for f in findings if f.severity == rules.VIOLATION]
    if not violations:
        return
    opening = set(
        Rule.objects.filter(
            code__in={f.rule_code for f in violations}, opens_case=True
        ).values_list("code", flat=True)
    )
    openings: list[cases.Opening] = []
    alerts: list[tuple[Finding, dict]] = []
    for finding in violations:
        words = {
            "rule": finding.rule_code,
            "official": _who(finding),
            "enterprise": finding.enterprise.name if finding.enterprise_id else "—",
            "message": _lazy_render(finding.message_id, finding.params),
        }
        if finding.rule_code in opening:
            openings.append(cases.from_finding(finding, words=words, link=finding_link(finding)))
        else:
            alerts.append((finding, {**words, "number": ""}))
    cases.open_cases(openings, now=now)
    if not alerts:
        return
    inspectors = inspectors_by_region({finding.region for finding, _words in alerts})
    items = [
        (inspectors[finding.region], words, finding_link(finding)) for finding, words in alerts
    ]
    messages.save_rows(messages.rows_for_many("finding_violation", items, now=now))


def _who(finding: Finding) -> str | Promise:
    if finding.official_id:
        return finding.official.display_name
    if finding.department_id:
        return lazy_display_name(finding.department)  # in each inspector's language
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


__all__ = [
    "Judged",
    "alert",
    "end_declaration",
    "judge_lapsed_gifts",
    "judge_record",
    "load_thresholds",
    "record_asset_use",
    "record_declaration",
    "record_gift",
    "record_gift_outcome",
    "record_interaction",
    "reinstate_rule",
    "retire_rule",
    "revise_rule",
    "set_threshold",
]
