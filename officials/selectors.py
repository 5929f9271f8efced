"""Scoped reads of people and places: what each user may see of enterprises and departments,
and which inspectors answer for a region."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from officials.models import Department, Enterprise, EnterpriseLink, Role, User


def jurisdiction_regions(user: User) -> QuerySet | None:
    """Regions the user's department covers (it and every department below it).

    None means no department: an inspector, leader or admin then covers the whole portal
    (API.md); a liaison or handler covers no region at all.
    """
    if user.department_id is None:
        return None
    return (
        Department.objects.filter(path__startswith=user.department.path)
        .exclude(region="")
        .values("region")
    )


# The region of a record that names no place (a report naming neither enterprise nor department).
CITY_WIDE = ""


def inspector_scope(user: User) -> Q | None:
    """The regions an inspector answers for, as a filter on `region`; None = the whole portal.

    Records without a region (city-wide) belong to the inspectors at the top of the tree: those
    with no department or with a department that has no parent. `inspectors_by_region` reads
    the same rule the other way round; both live here so that whoever is told of a record is
    exactly whoever's console shows it.
    """
    regions = jurisdiction_regions(user)
    if regions is None:
        return None
    scope = Q(region__in=regions)
    if user.department.parent_id is None:
        scope |= Q(region=CITY_WIDE)
    return scope


def inspectors_by_region(regions: Iterable[str]) -> dict[str, list[User]]:
    """{region: the active inspectors whose `inspector_scope` covers it}, in two queries however
    many regions are asked for (the deadline sweep asks once per batch, not once per request)."""
    wanted = set(regions)
    inspectors = list(
        User.objects.filter(role=Role.INSPECTOR, is_active=True)
        .select_related("department")
        .order_by("pk")
    )
    # A department covers a region when it or a department below it has that region: the
    # departments whose path is a prefix of the path of a department of the region.
    covering: dict[str, set[str]] = defaultdict(set)
    places = Department.objects.filter(region__in=wanted - {CITY_WIDE})
    for region, path in places.values_list("region", "path"):
        ids = path.strip("/").split("/")
        covering[region].update("/" + "/".join(ids[:n]) + "/" for n in range(1, len(ids) + 1))
    return {
        region: [user for user in inspectors if _answers_for(user, region, covering[region])]
        for region in wanted
    }


def _answers_for(inspector: User, region: str, covering: set[str]) -> bool:
    department = inspector.department
    if department is None:
        return True
    if region == CITY_WIDE:
        return department.parent_id is None
    return department.path in covering


def inspectors_of(region: str) -> list[User]:
    """The active inspectors who answer for `region` (see `inspectors_by_region`)."""
    return inspectors_by_region([region])[region]


def linked_enterprise_ids(user: User) -> QuerySet:
    return EnterpriseLink.objects.active().filter(official=user).values("enterprise_id")


def enterprises_visible_to(user: User) -> QuerySet:
    qs = Enterprise.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role == Role.ENTREPRENEUR:
        return qs.filter(members=user)
    if user.role == Role.ADMIN:
        return qs
    regions = jurisdiction_regions(user)
    if regions is None and user.role in (Role.INSPECTOR, Role.LEADER):
        return qs  # API.md: only these (and admins) cover the whole portal without a department
    # A liaison or handler without a department covers no region: just their links, if any.
    scope = Q(region__in=regions) if regions is not None else Q(pk__in=[])
    if user.role in (Role.LIAISON, Role.LEADER):
        scope |= Q(pk__in=linked_enterprise_ids(user))
    return qs.filter(scope)


def departments_visible_to(user: User) -> QuerySet:
    """Departments are public reference data: everyone logged in may route or read them."""
    if not user.is_authenticated:
        return Department.objects.none()
    return Department.objects.all()
