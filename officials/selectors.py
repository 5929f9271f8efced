"""Scoped reads of people and places: what each user may see of enterprises and departments,
and which inspectors answer for a region."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy

from officials.models import (
    Department,
    Enterprise,
    EnterpriseClaim,
    EnterpriseLink,
    Role,
    User,
)

# --- regions as a tree ---------------------------------------------------------------------------
# Regions are the `region` strings of the departments; the department tree makes them a tree
# (a district's departments sit below the city's). A department's jurisdiction is its region and
# every region below it: a city bureau, a child of the city government, covers the districts
# too, not only the departments below the bureau itself.


def _tops(regions: Iterable[str]) -> QuerySet:
    """The highest departments of each region: those whose parent has another region (or none).

    Every other department of a region lies below one of them, so the tree queries start from
    these few rather than from all of a region's departments (a city has dozens of bureaus).
    """
    return Department.objects.filter(region__in=list(regions)).exclude(parent__region=F("region"))


def _above(places: QuerySet) -> QuerySet:
    """Departments at or above any of `places` (a path-prefix match, in SQL)."""
    return Department.objects.filter(Exists(places.filter(path__startswith=OuterRef("path"))))


# The jurisdiction of one department (`jurisdiction_regions`), in one statement from its id: the
# regions of every department at or below the department itself or any department of its
# region ("at or below": a prefix of the materialised path). Every scoped page asks it. Built
# by the ORM (the department row read first for its region, then a subquery with an OR, a join
# and a path prefix) it cost 2.4 ms a page at 1M requests on PostgreSQL, 1.6 ms of that building
# and compiling the query; the statement runs in 0.3 ms. Plain SQL, read alike by PostgreSQL and
# SQLite. Of the region's departments only its tops anchor the prefix match (as in `_tops`: a
# parent of another region, or none): every other one lies below a top, so the answer is the
# same, and each department is matched against a few anchors, not against a city's hundreds.
_JURISDICTION_SQL = """
SELECT DISTINCT below.region FROM {table} below
WHERE below.region <> '' AND EXISTS (
    SELECT 1 FROM {table} anchor
    JOIN {table} own ON own.id = %s
    LEFT JOIN {table} parent ON parent.id = anchor.parent_id
    WHERE (
        anchor.id = own.id
        OR (own.region <> '' AND anchor.region = own.region
            AND (parent.id IS NULL OR parent.region <> anchor.region))
    )
    AND anchor.path = SUBSTR(below.path, 1, LENGTH(anchor.path))
)
"""


def department_regions(department_id: int) -> list[str]:
    """The jurisdiction of the department with this id, as sorted region names: the regions of
    every department at or below it or at or below any other department of its region."""
    database = connections[router.db_for_read(Department) or DEFAULT_DB_ALIAS]
    sql = _JURISDICTION_SQL.format(table=database.ops.quote_name(Department._meta.db_table))
    with database.cursor() as cursor:
        cursor.execute(sql, [department_id])
        return sorted(region for (region,) in cursor.fetchall())


def departments_covering(region: str) -> QuerySet:
    """The departments whose jurisdiction (`department_regions`) includes `region`: those at or
    above one of its departments, and every other department of those departments' regions."""
    if not region:
        return Department.objects.none()
    above = _above(_tops([region]))
    return Department.objects.filter(
        Q(pk__in=above.values("pk")) | Q(region__in=above.exclude(region="").values("region"))
    )


def jurisdiction_regions(user: User) -> list[str] | None:
    """Regions the user's department covers (`department_regions`), as a list of names.

    None means no department: an inspector, leader or admin then covers the whole portal
    (API.md); a liaison or handler covers no region at all.

    A list, read with one small query over the departments, not a subquery: PostgreSQL
    estimates `region IN (subquery)` at one row, and at 1M requests planned a region's reports
    as a thousand index probes, one per enterprise (4–6 s), where the literal regions give a
    hash join over one scan.
    """
    if user.department_id is None:
        return None
    # Kept on the user object for its department: a page asks up to three times (the requests',
    # the enterprises' and the cases' scopes), and a request's user is loaded anew each request.
    kept = user.__dict__.get("_jurisdiction_regions")
    if kept is not None and kept[0] == user.department_id:
        return list(kept[1])
    regions = department_regions(user.department_id)
    user.__dict__["_jurisdiction_regions"] = (user.department_id, tuple(regions))
    return regions


# What a region that is not one of the tree's is told, in the API and on every form.
REGION_NOT_IN_TREE = gettext_lazy(
    "This is not a region of the department tree: choose one of the regions offered."
)


def is_region(value: str) -> bool:
    """Whether `value` is a region of the department tree (the only regions an enterprise has)."""
    return bool(value) and Department.objects.filter(region=value).exists()


@dataclass(frozen=True)
class Region:
    name: str
    depth: int  # 0 at the top of the tree


def region_tree() -> list[Region]:
    """Every region once, parents before their children (siblings by name), with its depth.

    A region's parent is the nearest different region above its highest department; one query
    over the departments, the tree is put together here.
    """
    rows = list(Department.objects.order_by().values_list("pk", "path", "region"))
    region_of = {pk: region for pk, _path, region in rows}
    parent: dict[str, str | None] = {}
    # Highest departments first, so a region's parent is read where the region begins.
    for _pk, path, region in sorted(rows, key=lambda row: (row[1].count("/"), row[1])):
        if not region or region in parent:
            continue
        ancestors = [int(part) for part in path.strip("/").split("/")[:-1]]
        above = [region_of.get(pk, "") for pk in reversed(ancestors)]
        parent[region] = next((name for name in above if name and name != region), None)
    children: dict[str | None, list[str]] = defaultdict(list)
    for region, up in parent.items():
        children[up].append(region)
    tree: list[Region] = []
    seen: set[str] = set()

    def walk(region: str, depth: int) -> None:
        if region in seen:  # a loop in the data: show each region once
            return
        seen.add(region)
        tree.append(Region(region, depth))
        for child in sorted(children[region]):
            walk(child, depth + 1)

    for root in sorted(children[None]):
        walk(root, 0)
    for region in sorted(set(parent) - seen):  # only in a loop: shown at the top
        walk(region, 0)
    return tree


# Indentation of one level in a select box: non-breaking, so browsers keep it.
INDENT = "\u00a0" * 4


def region_choices() -> list[tuple[str, str]]:
    """The regions an enterprise may have, as (value, label) for a select box, indented by depth."""
    return [(region.name, INDENT * region.depth + region.name) for region in region_tree()]


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
    covering = _covering(wanted - {CITY_WIDE})
    return {
        region: [user for user in inspectors if _answers_for(user, region, covering[region])]
        for region in wanted
    }


def _covering(regions: set[str]) -> dict[str, tuple[set[str], set[str]]]:
    """{region: (paths, regions)} of the departments at or above a department of the region, in
    one query: a department covers the region (`departments_covering`) when its path is one of
    those paths or its region one of those regions."""
    if not regions:
        return defaultdict(lambda: (set(), set()))
    rows = list(_above(_tops(regions)).values_list("pk", "path", "region"))
    region_of = {pk: region for pk, _path, region in rows}
    covering: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for _pk, path, region in rows:
        if region not in regions:
            continue
        ids = path.strip("/").split("/")
        paths, names = covering[region]
        paths.update("/" + "/".join(ids[:n]) + "/" for n in range(1, len(ids) + 1))
        names.update(region_of.get(int(pk), "") for pk in ids)
        names.discard("")
    return covering


def _answers_for(inspector: User, region: str, covering: tuple[set[str], set[str]]) -> bool:
    department = inspector.department
    if department is None:
        return True
    if region == CITY_WIDE:
        return department.parent_id is None
    paths, names = covering
    return department.path in paths or (bool(department.region) and department.region in names)


def inspectors_of(region: str) -> list[User]:
    """The active inspectors who answer for `region` (see `inspectors_by_region`)."""
    return inspectors_by_region([region])[region]


def one_inspector_per_department() -> list[User]:
    """For every department with active inspectors, the first of them (by id): one reader per
    jurisdiction (`jurisdiction_regions`), for work done once per jurisdiction, not per person.
    Inspectors without a department (the whole portal) are not among them."""
    firsts: dict[int, User] = {}
    inspectors = User.objects.filter(
        role=Role.INSPECTOR, is_active=True, department__isnull=False
    ).order_by("department_id", "pk")
    for user in inspectors:
        firsts.setdefault(user.department_id, user)
    return list(firsts.values())


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


def claims_visible_to(user: User) -> QuerySet:
    """Claims to act for an enterprise: a claimant sees their own; a liaison or administrator
    those whose enterprise (or, for an enterprise not yet registered, whose typed region) is in
    their jurisdiction, and a liaison those of their linked enterprises too. An administrator
    without a department covers the whole portal."""
    qs = EnterpriseClaim.objects.select_related("enterprise", "user", "decided_by")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role == Role.ENTREPRENEUR:
        return qs.filter(user=user)
    if user.role not in (Role.LIAISON, Role.ADMIN):
        return qs.none()
    regions = jurisdiction_regions(user)
    if regions is None and user.role == Role.ADMIN:
        return qs
    regions = regions or []
    scope = Q(enterprise__region__in=regions) | Q(enterprise__isnull=True, region__in=regions)
    if user.role == Role.LIAISON:
        scope |= Q(enterprise__in=linked_enterprise_ids(user))
    return qs.filter(scope)
