"""The request histories the inspector's console shows: a case file's whole timeline with the
verification of its hash chain, and the search over every request history in the region.

Scoping stays where it belongs: every read goes through `requests_visible_to`, so an inspector
never sees a request outside their jurisdiction here either.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from requests_app.checkpoints import anchors_of
from requests_app.filters import _local_midnight
from requests_app.models import RequestEvent
from requests_app.presenters import EventRow, rows_of_events, status_label
from requests_app.search import matches
from requests_app.selectors import requests_visible_to
from requests_app.timeline import check_chain, heads_of


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_event: int | None
    messages: tuple[str, ...] = ()  # what verification found, each exactly (timeline.Finding)


@dataclass(frozen=True)
class HistoryEvent:
    seq: int
    at: dt.datetime
    actor: str  # the actor's display name; empty for the system
    label: str
    from_label: str
    to_label: str
    note: str
    hash: str
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class History:
    """One request's case history: its facts, its whole timeline and whether the chain holds."""

    request_id: int
    reference: str
    title: str
    enterprise: str
    category: str
    department: str
    handler: str
    status: str  # label
    submitted_at: dt.datetime
    overdue: bool
    reopen_count: int
    transfer_count: int
    events: list[HistoryEvent]
    chain: ChainCheck


@dataclass(frozen=True)
class Criteria:
    """What an inspector searches by; every field narrows, none widens the scope."""

    enterprise: int | None = None
    department: int | None = None
    official: int | None = None  # handler or liaison of the request
    category: str = ""
    submitted_after: dt.date | None = None
    submitted_before: dt.date | None = None
    overdue: bool | None = None
    reopened: bool | None = None
    text: str = ""


def _history(service_request, rows: list[EventRow], check, now) -> History:
    return History(
        request_id=service_request.pk,
        reference=service_request.reference,
        title=service_request.title,
        enterprise=service_request.enterprise.name,
        category=service_request.category.name if service_request.category_id else "",
        department=(
            service_request.department.display_name if service_request.department_id else ""
        ),
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
                note=row.note,
                hash=row.event.hash,
                details=row.details,
            )
            for row in rows
        ],
        chain=ChainCheck(
            ok=check.ok,
            events=check.events,
            first_bad_event=check.first_bad_event,
            messages=tuple(check.messages),
        ),
    )


def of_requests(requests: list) -> list[History]:
    """The histories of a page of requests (loaded `with_related`) in a constant number of
    queries, however long the page: the heads, the events with their actors, the names the
    events mention. Each chain is checked as `checkpoints.verify_chain` checks it (the same
    `check_chain`, against the row as the page read it), from the events the page shows.
    """
    if not requests:
        return []
    ids = [service_request.pk for service_request in requests]
    heads = heads_of(ids)
    events = (
        RequestEvent.objects.filter(request_id__in=ids)
        .select_related("actor")
        .order_by("request_id", "seq", "id")
    )
    rows_by_request: dict[int, list[EventRow]] = {pk: [] for pk in ids}
    for row in rows_of_events(list(events)):
        rows_by_request[row.event.request_id].append(row)
    anchors = anchors_of(ids)
    now = timezone.now()
    return [
        _history(
            service_request,
            rows_by_request[service_request.pk],
            check_chain(
                (row.event for row in rows_by_request[service_request.pk]),
                heads.get(service_request.pk),
                service_request,
                anchors.get(service_request.pk),
            ),
            now,
        )
        for service_request in requests
    ]


class _Results:
    """Histories built only for the slice taken; `queryset`: the requests they are of (a page
    can count them up to a cap, then build the histories of its rows with `of_requests`)."""

    def __init__(self, queryset, known: int | None = None, at_least: int | None = None):
        self.queryset = queryset
        # What the text search learnt of how many match (requests_app.search.Matches).
        self.known, self.at_least = known, at_least

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, page: slice) -> list[History]:
        return of_requests(list(self.queryset[page]))


def history(user, request_id: int) -> History | None:
    """The request's history if `user` may see the request, else None."""
    found = requests_visible_to(user).with_related().filter(pk=request_id).first()
    return of_requests([found])[0] if found else None


def search(user, criteria: Criteria, *, page_size: int | None = None) -> _Results:
    """The histories of the requests `user` may see that match, newest first, for pages of
    `page_size` (the text search chooses its plan by it: requests_app.search.many_for)."""
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
    found = matches(queryset, criteria.text, page_size=page_size)
    return _Results(found.queryset.order_by("-submitted_at", "-id"), found.known, found.at_least)
