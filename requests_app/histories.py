"""The request app's side of the inspector console's port (compliance/inspection/histories.py).

Compliance cannot import the request app, so it asks through this source for what its case
files and search show: a request's facts, its readable timeline and its chain verification,
always through `requests_visible_to`.
"""

from django.db.models import Q
from django.utils import timezone

from compliance.inspection.histories import ChainCheck, Criteria, History, HistoryEvent
from requests_app.filters import _local_midnight
from requests_app.presenters import event_rows, status_label
from requests_app.selectors import requests_visible_to
from requests_app.timeline import verify_chain


def _history(service_request, now) -> History:
    check = verify_chain(service_request)
    return History(
        request_id=service_request.pk,
        reference=service_request.reference,
        title=service_request.title,
        enterprise=service_request.enterprise.name,
        category=service_request.category.name if service_request.category_id else "",
        department=service_request.department.name if service_request.department_id else "",
        handler=service_request.handler.display_name if service_request.handler_id else "",
        status=status_label(service_request.status),
        submitted_at=service_request.submitted_at,
        overdue=service_request.is_overdue(now),
        reopen_count=service_request.reopen_count,
        transfer_count=service_request.transfer_count,
        events=[
            HistoryEvent(
                seq=row.event.seq,
                at=row.event.created_at,
                actor=row.event.actor.display_name if row.event.actor_id else "",
                label=str(row.label),
                from_label=row.from_label,
                to_label=row.to_label,
                note=row.event.note,
                hash=row.event.hash,
                details=row.details,
            )
            for row in event_rows(service_request)
        ],
        chain=ChainCheck(ok=check.ok, events=check.events, first_bad_event=check.first_bad_event),
    )


class _Results:
    """Histories built only for the page the paginator slices out."""

    def __init__(self, queryset):
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, page: slice) -> list[History]:
        now = timezone.now()
        return [_history(row, now) for row in self.queryset[page]]


class RequestHistories:
    """The `HistorySource` the portal registers at start-up."""

    def history(self, user, request_id: int) -> History | None:
        found = requests_visible_to(user).with_related().filter(pk=request_id).first()
        return _history(found, timezone.now()) if found else None

    def search(self, user, criteria: Criteria) -> _Results:
        queryset = requests_visible_to(user).with_related()
        if criteria.enterprise:
            queryset = queryset.filter(enterprise_id=criteria.enterprise)
        if criteria.department:
            queryset = queryset.filter(department_id=criteria.department)
        if criteria.official:
            queryset = queryset.filter(
                Q(handler_id=criteria.official) | Q(liaison_id=criteria.official)
            )
        if criteria.category:
            queryset = queryset.filter(category__code=criteria.category)
        if criteria.submitted_after:
            queryset = queryset.filter(submitted_at__gte=_local_midnight(criteria.submitted_after))
        if criteria.submitted_before:
            end = _local_midnight(criteria.submitted_before) + timezone.timedelta(days=1)
            queryset = queryset.filter(submitted_at__lt=end)
        if criteria.overdue is not None:
            overdue = queryset.model.objects.overdue(timezone.now()).values("pk")
            queryset = (
                queryset.filter(pk__in=overdue)
                if criteria.overdue
                else queryset.exclude(pk__in=overdue)
            )
        if criteria.reopened is not None:
            queryset = (
                queryset.filter(reopen_count__gt=0)
                if criteria.reopened
                else queryset.filter(reopen_count=0)
            )
        if criteria.text:
            queryset = queryset.filter(
                Q(title__icontains=criteria.text)
                | Q(description__icontains=criteria.text)
                | Q(reference__icontains=criteria.text)
            )
        return _Results(queryset.order_by("-submitted_at", "-id"))
