"""Scoped reads of people and places: what each user may see of enterprises and departments."""

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
