"""Scoped reads of service requests: the one place that says who sees which request.

Pages, API, exports and the admin all start from `requests_visible_to`; filters only narrow it.
"""

from django.db.models import F, Q, QuerySet
from django.http import Http404

from officials.models import Role, User
from officials.selectors import jurisdiction_regions, linked_enterprise_ids
from requests_app.models import NEXT_DUE, OPEN_STATUSES, ServiceRequest


def requests_visible_to(user: User) -> QuerySet:
    qs = ServiceRequest.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    role = user.role
    if role == Role.ADMIN:
        return qs
    if role == Role.ENTREPRENEUR:
        return qs.filter(enterprise__members=user)
    if role == Role.HANDLER:
        if user.department_id is None:
            return qs.none()
        return qs.filter(department_id=user.department_id)
    regions = jurisdiction_regions(user)
    if role == Role.INSPECTOR:
        return qs if regions is None else qs.filter(enterprise__region__in=regions)
    if role in (Role.LIAISON, Role.LEADER):
        if role == Role.LEADER and regions is None:
            return qs  # a leader without a department oversees the whole portal
        scope = Q(enterprise_id__in=linked_enterprise_ids(user)) | Q(liaison=user)
        if regions is not None:
            scope |= Q(enterprise__region__in=regions)
        return qs.filter(scope)
    return qs.none()


def get_visible_request(user: User, pk) -> ServiceRequest:
    """The request, or 404 whether it is missing or simply not the user's to see."""
    try:
        return requests_visible_to(user).with_related().get(pk=pk)
    except (ServiceRequest.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def queue_for(user: User) -> QuerySet:
    """The working queue of an official: open requests, nearest deadline first (no deadline
    last), the id breaking ties.

    The order is `NEXT_DUE` itself, the expression the indexes req_queue (every scope) and
    req_queue_department (a handler's) are built over: a page reads its rows off the index.
    """
    return (
        requests_visible_to(user)
        .filter(status__in=OPEN_STATUSES)
        .for_rows()
        .annotate(next_due=NEXT_DUE)
        .order_by(F("next_due").asc(nulls_last=True), "id")
    )
