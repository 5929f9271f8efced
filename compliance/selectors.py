"""Scoped reads of compliance data: who sees which record, filing and finding; who oversees what;
the items, versions and thresholds in force."""

from django.db.models import Q, QuerySet
from django.http import Http404

from compliance import rules
from compliance.models import (
    Declaration,
    Finding,
    Rule,
    RuleVersion,
    Threshold,
    ThresholdKey,
    VisitFiling,
)
from officials.models import Enterprise, EnterpriseLink, Role, User
from officials.selectors import jurisdiction_regions, linked_enterprise_ids

# The officials who serve enterprises and so keep records of their contacts and file visits.
RECORD_KEEPERS = frozenset({Role.LIAISON, Role.HANDLER, Role.LEADER})


def may_keep_records(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in RECORD_KEEPERS)


def enterprises_to_record(user: User) -> QuerySet:
    """The enterprises an official may name in a record: any of the portal (API.md), since what
    an official received from, used of or is tied to must never be refused for lying outside
    their jurisdiction. Visit filings follow the jurisdiction instead (`compliance.visits`)."""
    if not may_keep_records(user):
        return Enterprise.objects.none()
    return Enterprise.objects.all()


def _region_scope(user: User) -> Q | None:
    """The inspector's jurisdiction as a filter on `region` (None: the whole portal)."""
    regions = jurisdiction_regions(user)
    return None if regions is None else Q(region__in=regions)


def records_visible_to(user: User, model) -> QuerySet:
    """Records (interactions, gifts, …): officials their own, inspectors their region's."""
    qs = model.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role == Role.ADMIN:
        return qs
    if user.role == Role.INSPECTOR:
        scope = _region_scope(user)
        return qs if scope is None else qs.filter(scope | Q(official=user))
    if user.role in RECORD_KEEPERS:
        return qs.filter(official=user)
    return qs.none()


def get_visible_record(user: User, model, pk):
    try:
        return records_visible_to(user, model).select_related("enterprise", "official").get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def filings_visible_to(user: User) -> QuerySet:
    """Visit filings: the filer; the enterprise's liaison (who coordinates them); the enterprise
    itself (who is coming, when and why); inspectors of the region; admins."""
    qs = VisitFiling.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role == Role.ADMIN:
        return qs
    if user.role == Role.ENTREPRENEUR:
        return qs.filter(enterprise__members=user)
    if user.role == Role.INSPECTOR:
        scope = _region_scope(user)
        return qs if scope is None else qs.filter(scope | Q(official=user))
    if user.role in (Role.LIAISON, Role.LEADER):
        return qs.filter(Q(official=user) | Q(enterprise_id__in=linked_enterprise_ids(user)))
    if user.role == Role.HANDLER:
        return qs.filter(official=user)
    return qs.none()


def coordinated_filings(user: User) -> QuerySet:
    """The filings a liaison coordinates: those for the enterprises they are linked to."""
    return VisitFiling.objects.filter(enterprise_id__in=linked_enterprise_ids(user))


def findings_visible_to(user: User) -> QuerySet:
    qs = Finding.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role == Role.ADMIN:
        return qs
    if user.role == Role.INSPECTOR:
        scope = _region_scope(user)
        return qs if scope is None else qs.filter(scope)
    if user.role in RECORD_KEEPERS:
        return qs.filter(official=user)
    return qs.none()


def oversees(official: User, enterprise: Enterprise) -> bool:
    """The "management relation" of RULES.md: the official serves or oversees the enterprise,
    through a 包联 link or because it lies in their department's jurisdiction."""
    if EnterpriseLink.objects.active().filter(official=official, enterprise=enterprise).exists():
        return True
    regions = jurisdiction_regions(official)
    if regions is None:
        # Without a department only inspectors, leaders and admins cover the whole portal.
        return official.role in (Role.INSPECTOR, Role.LEADER, Role.ADMIN)
    return bool(enterprise.region) and enterprise.region in regions


def conflicts(enterprise_id: int, official_ids) -> dict[int, int]:
    """{official id: declaration id} of the officials with a tie to the enterprise in force."""
    rows = (
        Declaration.objects.filter(
            enterprise_id=enterprise_id, official_id__in=list(official_ids), ended_at__isnull=True
        )
        .order_by("official_id", "id")
        .values_list("official_id", "pk")
    )
    found: dict[int, int] = {}
    for official_id, pk in rows:
        found.setdefault(official_id, pk)
    return found


def active_rules() -> QuerySet:
    return Rule.objects.filter(retired_at__isnull=True).order_by("code")


def load_thresholds() -> rules.Thresholds:
    """The locality's settings; a missing row or an empty value is "not set"."""
    values = dict(Threshold.objects.values_list("key", "value"))
    return rules.Thresholds(**{key: values.get(key) for key in ThresholdKey.values})


def current_versions(codes=None) -> dict[str, RuleVersion]:
    """The newest version of each item (of `codes`, when given), by code."""
    qs = RuleVersion.objects.select_related("rule").order_by("rule__code", "number")
    if codes is not None:
        qs = qs.filter(rule__code__in=list(codes))
    return {version.rule.code: version for version in qs}  # the last (newest) one wins


def declared_official_ids(enterprise_id: int) -> QuerySet:
    """Officials with a declaration in force tied to the enterprise: they recuse (回避)."""
    return Declaration.objects.filter(enterprise_id=enterprise_id, ended_at__isnull=True).values(
        "official_id"
    )


def eligible_handlers(department_id: int, enterprise_id: int) -> QuerySet:
    """Active handlers of the department who may take a request of the enterprise."""
    return (
        User.objects.filter(role=Role.HANDLER, is_active=True, department_id=department_id)
        .exclude(pk__in=declared_official_ids(enterprise_id))
        .order_by("name", "username")
    )
