"""Who decides an extension (挂账督办): the one rule, for the workflow, the pages and the messages.

The enterprise's linked leader (挂包领导, an active link of kind LEADER) decides; when the
enterprise has none, the head of the department handling the request does, whatever their role;
an administrator always may. Nobody else: not any leader of the region, not the handler.

Lists ask the rule for every row, so the linked leaders of a page's enterprises are read in one
query (`prefetch_linked_leaders`) and kept on each request; a single request reads them once,
on first use, and keeps them too.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from officials.models import EnterpriseLink, LinkKind, Role, User
from requests_app.models import ExtensionState, ServiceRequest, Status

# Where a request keeps the ids of its enterprise's linked leaders once they were read.
_CACHE = "_linked_leader_ids"


def _leader_links() -> QuerySet:
    """Active leader links (挂包) of active leaders: a leader who left no longer decides, and
    the department head then does, rather than nobody."""
    return EnterpriseLink.objects.active().filter(
        kind=LinkKind.LEADER, official__role=Role.LEADER, official__is_active=True
    )


def linked_leader_ids(request: ServiceRequest) -> frozenset[int]:
    """Ids of the enterprise's linked leaders: read once per request instance, or prefetched."""
    ids = getattr(request, _CACHE, None)
    if ids is None:
        ids = frozenset(
            _leader_links()
            .filter(enterprise_id=request.enterprise_id)
            .values_list("official_id", flat=True)
        )
        setattr(request, _CACHE, ids)
    return ids


def _may_need_leaders(request: ServiceRequest, user: User) -> bool:
    """Whether `may_decide_extension` would read the linked leaders for this row and user."""
    return (
        user.role != Role.ADMIN
        and request.status == Status.RECTIFYING
        and request.extension_state == ExtensionState.PENDING
        and (user.role == Role.LEADER or _heads_department(request, user))
    )


def prefetch_linked_leaders(requests: Iterable[ServiceRequest], user: User) -> None:
    """Read the linked leaders of a page of requests in one query (none when no row on it can
    need them for `user`), so that asking `allowed_actions` for each row asks nothing more."""
    rows = [row for row in requests if getattr(row, _CACHE, None) is None]
    wanted = [row for row in rows if _may_need_leaders(row, user)]
    if not wanted:
        return
    by_enterprise: dict[int, set[int]] = defaultdict(set)
    links = _leader_links().filter(enterprise_id__in={row.enterprise_id for row in wanted})
    for enterprise_id, official_id in links.values_list("enterprise_id", "official_id"):
        by_enterprise[enterprise_id].add(official_id)
    for row in wanted:
        setattr(row, _CACHE, frozenset(by_enterprise[row.enterprise_id]))


def _heads_department(request: ServiceRequest, user: User) -> bool:
    # `department` comes with the request (`with_related`): its head's id costs no query.
    return request.department_id is not None and request.department.head_id == user.pk


def may_decide_extension(request: ServiceRequest, user: User) -> bool:
    """Whether `user` approves or refuses the extension of `request` (the workflow's `may=`).

    No query for an administrator, nor for anyone who is neither a leader nor the head of the
    handling department; otherwise at most one, kept on the request.
    """
    if user.role == Role.ADMIN:
        return True
    if user.role != Role.LEADER and not _heads_department(request, user):
        return False
    leaders = linked_leader_ids(request)
    if leaders:
        return user.pk in leaders
    return _heads_department(request, user)


def extension_approvers(request: ServiceRequest) -> list[User]:
    """The people asked to decide an extension: the enterprise's linked leaders, else the head
    of the handling department (if active); empty when there is neither (administrators then
    decide, and the caller tells them as it sees fit)."""
    leaders = list(
        User.objects.filter(
            pk__in=_leader_links().filter(enterprise_id=request.enterprise_id).values("official")
        ).order_by("pk")
    )
    if leaders:
        return leaders
    if request.department_id is None or request.department.head_id is None:
        return []
    head = User.objects.filter(pk=request.department.head_id, is_active=True).first()
    return [head] if head is not None else []


def decidable_by(user: User) -> Q:
    """The requests whose extension `user` decides, as a filter (the extensions page, the
    ledger): the same rule as `may_decide_extension`, in SQL."""
    if user.role == Role.ADMIN:
        return Q()
    leads = Exists(_leader_links().filter(enterprise_id=OuterRef("enterprise_id"), official=user))
    has_leader = Exists(_leader_links().filter(enterprise_id=OuterRef("enterprise_id")))
    as_head = Q(department__head=user) & ~has_leader
    return (as_head | leads) if user.role == Role.LEADER else as_head
