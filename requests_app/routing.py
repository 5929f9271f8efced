"""Who takes a request (首接负责制), and who takes it over when its liaison recuses (回避).

A request always reaches someone who can assign it:
1. a liaison linked to its enterprise (the official filing it first, when they are a liaison);
2. when every linked liaison declared a tie, or none is linked, another eligible liaison: active,
   with the role liaison, whose department's jurisdiction covers the enterprise's region and who
   declared no tie to it. Of those, the one with the fewest open requests takes it, the lowest
   id on a tie, so the same state always routes the same way and the work spreads;
3. else nobody: the request waits without a liaison and the region's administrators are told.

Recusal details (who declared a tie) are for officials and inspectors: the enterprise reads only
that its request was reassigned (`as_seen_by`).
"""

import copy
import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.selectors import conflicts, declared_official_ids
from officials.models import Enterprise, EnterpriseLink, LinkKind, Role, User
from officials.selectors import departments_covering
from requests_app.models import OPEN_STATUSES, RequestEvent


@dataclass
class Route:
    liaison: User | None
    # Linked liaisons passed over because they declared a tie, each with their declaration.
    recused: list[tuple[User, int]] = field(default_factory=list)


def route(
    enterprise: Enterprise,
    *,
    on: dt.date,
    first: User | None = None,
    passed_over: frozenset[int] = frozenset(),
) -> Route:
    """The liaison for a request of `enterprise`: `first` (the liaison filing it) or a linked
    liaison without a tie, else the next eligible liaison of the region (see the module)."""
    linked = [first] if first is not None else []
    links = (
        EnterpriseLink.objects.active(on)
        .filter(enterprise=enterprise, kind=LinkKind.LIAISON, official__is_active=True)
        .select_related("official")
        .order_by("start", "id")
    )
    linked += [link.official for link in links if first is None or link.official_id != first.pk]
    linked = [official for official in linked if official.pk not in passed_over]
    declared = conflicts(enterprise.pk, [official.pk for official in linked])
    recused = [(official, declared[official.pk]) for official in linked if official.pk in declared]
    chosen = next((official for official in linked if official.pk not in declared), None)
    if chosen is None:
        chosen = next_eligible(enterprise, passed_over=passed_over)
    return Route(chosen, recused)


def eligible_liaisons(enterprise: Enterprise) -> QuerySet:
    """Active liaisons whose department covers the enterprise's region, without a tie to it."""
    return User.objects.filter(
        role=Role.LIAISON,
        is_active=True,
        department__in=departments_covering(enterprise.region),
    ).exclude(pk__in=declared_official_ids(enterprise.pk))


def next_eligible(enterprise: Enterprise, *, passed_over=frozenset()) -> User | None:
    """The eligible liaison with the fewest open requests (lowest id on a tie), or None."""
    open_requests = Count("liaison_requests", filter=Q(liaison_requests__status__in=OPEN_STATUSES))
    return (
        eligible_liaisons(enterprise)
        .exclude(pk__in=list(passed_over))
        .annotate(open_requests=open_requests)
        .order_by("open_requests", "pk")
        .first()
    )


def region_admins(enterprise: Enterprise) -> list[User]:
    """The administrators of the enterprise's region: those whose department covers it, else
    those without a department (who cover the whole portal)."""
    admins = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk")
    covering = list(admins.filter(department__in=departments_covering(enterprise.region)))
    return covering or list(admins.filter(department__isnull=True))


def today(now: dt.datetime) -> dt.date:
    return timezone.localtime(now).date()


# The action a recusal shows as to the enterprise.
REASSIGNED = "reassigned"


def sees_recusals(viewer: User | None) -> bool:
    """Officials and inspectors read who recused and why; the enterprise's people do not."""
    return bool(viewer and viewer.is_authenticated and viewer.role != Role.ENTREPRENEUR)


def as_seen_by(event: RequestEvent, viewer: User | None) -> RequestEvent:
    """The event as `viewer` may read it. To the enterprise a recusal is a neutral
    "reassigned": no actor, no name, no declaration (a copy: the stored event and its hash stay
    as they are)."""
    if event.action != "recusal" or sees_recusals(viewer):
        return event
    shown = copy.copy(event)
    shown.action = REASSIGNED
    shown.note = _("The request was passed to another official.")
    shown.data = {}
    shown.actor = None
    return shown
