"""Every list page and API list: a constant number of queries, a stable order, a capped count.

- The queue, the request history, the ledger's two tabs, the extensions, the inbox and the API's
  request list run as many queries for a page of 100 rows as for a page of 20, for each role
  that reads them.
- Their order is total (the id breaks every tie, a missing due time sorts last ascending and
  first descending), so paging through a list shows each row once: no repeats, no gaps.
- Counts stop at a cap ("1,000+"); the tests lower the cap instead of writing 1,001 rows.
- On PostgreSQL, the pages' queries are read off the indexes built for them (migrations
  requests_app 0015 and notifications 0006).
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.db.models import F, OuterRef, Subquery
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import pagination
from core.api import Pagination
from core.pagination import CappedCount, CappedPaginator, capped_count
from notifications.models import Kind, Notification
from requests_app.filters import RequestFilter
from requests_app.models import (
    OPEN_STATUSES,
    ExtensionState,
    RequestEvent,
    ServiceRequest,
    Status,
)
from requests_app.selectors import queue_for, requests_visible_to
from requests_app.views import _pending_extensions
from tests.factories import RawServiceRequestFactory

pytestmark = pytest.mark.django_db

ROWS = 105  # more than the larger page size, so both pages are full
SMALL, LARGE = 20, 100
QUEUE_PERSONAS = ["liam", "hank", "leona", "ada"]  # those who work a queue
HISTORY_PERSONAS = ["alice", "ivan"]  # those who read histories, newest first
API_ORDERINGS = ["", "submitted_at", "-submitted_at", "answer_due_at", "-answer_due_at"]
OPEN = sorted(OPEN_STATUSES)


def page_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def raw_requests(cast, n: int = ROWS, **fields) -> list[ServiceRequest]:
    """`n` bare requests of acme, routed to the Roads Bureau (hank) with liam as liaison, in every
    open state; their times fall on three moments only, so that most rows tie, and every
    seventh has no answer due time."""
    base = timezone.now().replace(microsecond=0)
    rows = []
    for i in range(n):
        moment = base + dt.timedelta(hours=i % 3)
        values = {
            "enterprise": cast.acme,
            "department": cast.roads,
            "handler": cast.hank,
            "liaison": cast.liam,
            "status": OPEN[i % len(OPEN)],
            "submitted_at": base - dt.timedelta(hours=i % 3),
            "assign_due_at": moment,
            "answer_due_at": None if i % 7 == 0 else moment + dt.timedelta(hours=i % 2),
            **fields,
        }
        rows.append(RawServiceRequestFactory(**values))
    return rows


def count_queries(client, path: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(queries), response


def rows_of(response) -> list:
    """The rows a page or an API answer shows, as ids."""
    if hasattr(response, "json") and response["Content-Type"].startswith("application/json"):
        return [row["id"] for row in response.json()["results"]]
    return [row.pk for row in response.context["page"].object_list]


def same_queries_at_both_sizes(client, path: str, set_size) -> None:
    # A first view of the long page warms what a process loads once (the working calendar,
    # which a badge reads only for a row whose clock is still running).
    set_size(LARGE)
    client.get(path)
    sizes = {}
    for size in (SMALL, LARGE):
        set_size(size)
        sizes[size], response = count_queries(client, path)
        assert len(rows_of(response)) == size, (path, size)
    assert sizes[SMALL] == sizes[LARGE], (path, sizes)


# --- the expected orders, computed here in Python -------------------------------------------------


def _later_if_missing(value):
    return (value is None, value or dt.datetime.min.replace(tzinfo=dt.UTC))


def queue_order(rows) -> list[int]:
    def next_due(row):
        return row.assign_due_at if row.status == Status.SUBMITTED else row.answer_due_at

    return [r.pk for r in sorted(rows, key=lambda r: (*_later_if_missing(next_due(r)), r.pk))]


def field_order(rows, ordering: str) -> list[int]:
    field = ordering.lstrip("-")
    ascending = [
        r.pk for r in sorted(rows, key=lambda r: (*_later_if_missing(getattr(r, field)), r.pk))
    ]
    return ascending[::-1] if ordering.startswith("-") else ascending


# --- pages: the queue and the history ------------------------------------------------------------


@pytest.mark.parametrize("persona", QUEUE_PERSONAS + HISTORY_PERSONAS)
def test_the_request_list_runs_the_same_queries_for_20_and_100_rows(cast, monkeypatch, persona):
    raw_requests(cast)
    same_queries_at_both_sizes(
        page_client(cast[persona]),
        "/requests/",
        lambda size: monkeypatch.setattr("requests_app.views.PAGE_SIZE", size),
    )


@pytest.mark.parametrize("persona", QUEUE_PERSONAS + HISTORY_PERSONAS)
def test_paging_through_the_request_list_shows_every_row_once_in_order(cast, monkeypatch, persona):
    rows = raw_requests(cast)
    monkeypatch.setattr("requests_app.views.PAGE_SIZE", 8)  # 105 rows: 14 pages, the last short
    client = page_client(cast[persona])
    seen = []
    for number in range(1, 15):
        seen += rows_of(client.get(f"/requests/?page={number}"))
    if persona in QUEUE_PERSONAS:
        assert seen == queue_order(rows)
    else:
        assert seen == field_order(rows, "-submitted_at")


def test_the_queue_puts_the_nearest_deadline_first_and_breaks_ties_by_id(cast):
    rows = raw_requests(cast, 12)
    assert list(queue_for(cast.liam).values_list("pk", flat=True)) == queue_order(rows)
    assert queue_order(rows) != sorted(r.pk for r in rows)  # the order is not the ids' alone


# --- pages: the ledger, the extensions, the inbox ------------------------------------------------


def approved(cast, n: int = ROWS, *, closed: bool = False) -> list[ServiceRequest]:
    now = timezone.now()
    extra = {"status": Status.CLOSED, "closed_at": now} if closed else {"status": Status.RECTIFYING}
    rows = raw_requests(cast, n, extension_state=ExtensionState.APPROVED, **extra)
    for i, row in enumerate(rows):
        row.extension_until = row.answer_due_at = now + dt.timedelta(days=i % 2)
        row.closed_at = now - dt.timedelta(hours=i % 2) if closed else None
    ServiceRequest.objects.bulk_update(rows, ["extension_until", "answer_due_at", "closed_at"])
    return rows


@pytest.mark.parametrize("persona", ["leona", "ada"])
@pytest.mark.parametrize("tab", ["", "?show=closed"])
def test_the_ledger_runs_the_same_queries_for_20_and_100_rows(cast, monkeypatch, persona, tab):
    approved(cast, closed=bool(tab))
    same_queries_at_both_sizes(
        page_client(cast[persona]),
        "/ledger/" + tab,
        lambda size: monkeypatch.setattr("requests_app.views.PAGE_SIZE", size),
    )


@pytest.mark.parametrize("tab", ["", "?show=closed"])
def test_paging_through_the_ledger_shows_every_row_once_in_order(cast, monkeypatch, tab):
    rows = approved(cast, closed=bool(tab))
    monkeypatch.setattr("requests_app.views.PAGE_SIZE", 8)
    client = page_client(cast.leona)
    seen = []
    for number in range(1, 15):
        seen += rows_of(client.get(f"/ledger/{tab or '?'}&page={number}"))
    key = "-closed_at" if tab else "answer_due_at"
    assert seen == field_order(rows, key)


@pytest.mark.parametrize("persona", ["leona", "ada"])
@pytest.mark.parametrize("show", ["", "?show=all"])
def test_the_extensions_run_the_same_queries_for_20_and_100_rows(cast, monkeypatch, persona, show):
    rows = raw_requests(
        cast, status=Status.RECTIFYING, extension_state=ExtensionState.PENDING, extension_plan="x"
    )
    ServiceRequest.objects.filter(pk__in=[r.pk for r in rows]).update(
        extension_until=timezone.now() + dt.timedelta(days=5)
    )
    same_queries_at_both_sizes(
        page_client(cast[persona]),
        "/extensions/" + show,
        lambda size: monkeypatch.setattr("requests_app.views.PAGE_SIZE", size),
    )


def notifications_for(user, n: int = ROWS) -> list[Notification]:
    now = timezone.now()
    rows = [
        Notification(
            recipient=user,
            kind=Kind.REMINDER,
            subject=f"Reminder {i}",
            body="A clock is running out.",
            created_at=now - dt.timedelta(minutes=i % 3),  # most rows tie
            email_wanted=False,
        )
        for i in range(n)
    ]
    return Notification.objects.bulk_create(rows)


@pytest.mark.parametrize("persona", ["alice", "liam", "hank", "leona", "ivan", "ada"])
def test_the_inbox_runs_the_same_queries_for_20_and_100_rows(cast, monkeypatch, persona):
    notifications_for(cast[persona])
    notifications_for(cast.mallory, 3)  # someone else's inbox never shows
    same_queries_at_both_sizes(
        page_client(cast[persona]),
        "/inbox/",
        lambda size: monkeypatch.setattr("portal.views.INBOX_PAGE_SIZE", size),
    )


def test_paging_through_the_inbox_shows_every_message_once_newest_first(cast, monkeypatch):
    rows = notifications_for(cast.alice)
    monkeypatch.setattr("portal.views.INBOX_PAGE_SIZE", 8)
    client = page_client(cast.alice)
    seen = []
    for number in range(1, 15):
        seen += rows_of(client.get(f"/inbox/?page={number}"))
    assert seen == field_order(rows, "-created_at")


# --- the API list --------------------------------------------------------------------------------


@pytest.mark.parametrize("ordering", API_ORDERINGS)
@pytest.mark.parametrize("persona", ["alice", "liam", "hank", "leona", "ivan", "ada"])
def test_the_api_list_runs_the_same_queries_for_20_and_100_rows(cast, api, persona, ordering):
    raw_requests(cast)
    client = api(cast[persona])
    path = f"/api/v1/requests/?ordering={ordering}"
    client.get(f"{path}&page_size={LARGE}")  # warms what a process loads once
    counts = {}
    for size in (SMALL, LARGE):
        counts[size], response = count_queries(client, f"{path}&page_size={size}")
        assert len(rows_of(response)) == size
    assert counts[SMALL] == counts[LARGE]


@pytest.mark.parametrize("ordering", API_ORDERINGS)
@pytest.mark.parametrize("persona", ["liam", "ada"])
def test_paging_the_api_list_shows_every_row_once_in_order(cast, api, persona, ordering):
    rows = raw_requests(cast)
    client = api(cast[persona])
    seen, url = [], f"/api/v1/requests/?ordering={ordering}&page_size=8"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == field_order(rows, ordering or "-submitted_at")


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("submitted_at", '"submitted_at" ASC NULLS LAST, "{t}"."id" ASC'),
        ("-submitted_at", '"submitted_at" DESC NULLS FIRST, "{t}"."id" DESC'),
        ("answer_due_at", '"answer_due_at" ASC NULLS LAST, "{t}"."id" ASC'),
        ("-answer_due_at", '"answer_due_at" DESC NULLS FIRST, "{t}"."id" DESC'),
    ],
)
def test_every_ordering_ends_with_the_id_in_its_direction(ordering, expected):
    filtered = RequestFilter({"ordering": ordering}, queryset=ServiceRequest.objects.all()).qs
    order = str(filtered.query).split("ORDER BY")[1]
    assert order.endswith(expected.format(t=ServiceRequest._meta.db_table)), order


# --- capped counts -------------------------------------------------------------------------------


def test_a_capped_count_reads_one_row_past_the_cap(cast):
    raw_requests(cast, 12)
    rows = ServiceRequest.objects.order_by("id")
    with CaptureQueriesContext(connection) as queries:
        assert capped_count(rows, 5) == CappedCount(5, capped=True)
    assert re.search(r"LIMIT 6\b", queries[0]["sql"])
    assert capped_count(rows, 12) == CappedCount(12, capped=False)
    assert capped_count(rows, 11) == CappedCount(11, capped=True)
    assert capped_count(list(range(3)), 2) == CappedCount(2, capped=True)


def test_a_capped_count_selects_the_keys_alone(cast):
    """An annotation is not run for the rows counted (the ledger's latest event, two
    subqueries a row); a filter on one still counts; DISTINCT values count as values."""
    raw_requests(cast, 6)
    latest = RequestEvent.objects.filter(request=OuterRef("pk")).order_by("-seq")
    annotated = ServiceRequest.objects.select_related("enterprise").annotate(
        progress=Subquery(latest.values("action")[:1]), doubled=F("id") * 2
    )
    with CaptureQueriesContext(connection) as queries:
        assert capped_count(annotated, 10) == CappedCount(6, capped=False)
    counted = queries[0]["sql"]
    assert RequestEvent._meta.db_table not in counted and "enterprise" not in counted
    smallest = ServiceRequest.objects.order_by("id").values_list("id", flat=True)[:2]
    few = annotated.filter(doubled__lte=2 * max(smallest))
    assert capped_count(few, 10) == CappedCount(2, capped=False)
    categories = ServiceRequest.objects.values("category").distinct()
    assert categories.count() < 6  # counted as keys, they would be 6
    assert capped_count(categories, 10) == CappedCount(categories.count(), capped=False)


def test_the_label_of_a_capped_count():
    assert CappedCount(1000, capped=True).label == "1,000+"
    assert CappedCount(999, capped=False).label == "999"
    assert CappedCount(pagination.COUNT_CAP, capped=True).label == "1,000+"


def test_a_capped_paginator_pages_past_the_cap(cast):
    rows = raw_requests(cast, 23)
    ids = [r.pk for r in sorted(rows, key=lambda r: r.pk)]
    paginator = CappedPaginator(ServiceRequest.objects.order_by("id"), 5, cap=7)
    assert (paginator.count, paginator.count_capped, paginator.count_label) == (7, True, "7+")
    pages = [paginator.page(number) for number in range(1, 6)]
    assert [r.pk for page in pages for r in page] == ids
    assert [page.has_next() for page in pages] == [True, True, True, True, False]
    assert paginator.get_page(99).number == 5 == paginator.num_pages  # the exact count, asked
    assert paginator.get_page("junk").number == 1
    below = CappedPaginator(ServiceRequest.objects.order_by("id"), 5, cap=23)
    assert (below.count, below.count_capped, below.num_pages) == (23, False, 5)


def test_a_paginator_told_the_count_asks_the_database_none(cast):
    """A search that counted its matches already (requests_app.search.Matches) hands the number
    over: the count, the label and the last page come from it; a lower bound, only past the
    cap."""
    raw_requests(cast, 23)
    rows = ServiceRequest.objects.order_by("id")
    with CaptureQueriesContext(connection) as queries:
        above = CappedPaginator(rows, 5, cap=7, known=23)
        assert (above.count, above.count_label, above.num_pages) == (7, "7+", 5)
        below = CappedPaginator(rows, 5, cap=30, known=23)
        assert (below.count, below.count_capped, below.num_pages) == (23, False, 5)
    assert not queries.captured_queries
    assert [r.pk for r in above.get_page(99)] == [r.pk for r in rows[20:]]  # past the end: the last
    with CaptureQueriesContext(connection) as queries:
        past = CappedPaginator(rows, 5, cap=7, at_least=10)
        assert (past.count, past.count_label) == (7, "7+")
    assert not queries.captured_queries
    assert past.num_pages == 5  # the exact count, asked only for the end
    under = CappedPaginator(rows, 5, cap=30, at_least=10)
    with CaptureQueriesContext(connection) as queries:
        assert (under.count, under.count_capped) == (23, False)
    assert len(queries.captured_queries) == 1  # a lower bound under the cap says too little


@pytest.fixture
def small_cap(monkeypatch):
    """A cap of 50 instead of 1,000."""
    monkeypatch.setattr(pagination, "COUNT_CAP", 50)
    monkeypatch.setattr(Pagination, "count_cap", 50)
    return 50


@pytest.mark.parametrize("path", ["/requests/", "/ledger/"])
def test_a_long_list_page_says_1000_plus_and_still_pages_to_its_end(
    cast, monkeypatch, small_cap, path
):
    if path == "/ledger/":
        approved(cast)
    else:
        raw_requests(cast)
    monkeypatch.setattr("requests_app.views.PAGE_SIZE", 40)
    client = page_client(cast.leona)
    first = client.get(path).content.decode()
    assert "50+ requests" in first and "105 requests" not in first
    assert re.search(r"Page 1\s*<", first) and "Page 1 of" not in first
    last = client.get(path + "?page=3")
    assert len(rows_of(last)) == 25 and 'rel="next"' not in last.content.decode()


def test_a_short_list_page_gives_the_exact_count_and_pages(cast, monkeypatch):
    raw_requests(cast, 45)
    monkeypatch.setattr("requests_app.views.PAGE_SIZE", 40)
    html = page_client(cast.leona).get("/requests/").content.decode()
    assert "45 requests" in html and "Page 1 of 2" in html


def test_a_long_inbox_says_1000_plus_unread(cast, small_cap):
    notifications_for(cast.alice)
    html = page_client(cast.alice).get("/inbox/").content.decode()
    assert "50+ unread messages" in html and "105 unread" not in html


def test_a_long_api_list_caps_its_count_and_follows_next_to_the_end(cast, api, small_cap):
    rows = raw_requests(cast)
    client = api(cast.ada)
    first = client.get("/api/v1/requests/?page_size=40").json()
    assert (first["count"], first["count_capped"]) == (50, True)
    seen, url = [], "/api/v1/requests/?page_size=40"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(r.pk for r in rows) and len(seen) == ROWS
    last = client.get("/api/v1/requests/?page_size=40&page=last").json()
    assert len(last["results"]) == 25 and last["next"] is None
    assert client.get("/api/v1/requests/?page_size=40&page=4").status_code == 404


def test_a_short_api_list_gives_the_exact_count(cast, api):
    raw_requests(cast, 7)
    body = api(cast.ada).get("/api/v1/requests/?page_size=5").json()
    assert (body["count"], body["count_capped"]) == (7, False)


def test_the_schema_documents_count_capped(cast, api):
    schema = api(cast.ada).get("/api/schema/?format=json").json()
    page = schema["components"]["schemas"]["PaginatedServiceRequestList"]
    assert page["properties"]["count_capped"]["type"] == "boolean"
    assert "count_capped" in page["required"]


# --- PostgreSQL: the indexes serve the pages -----------------------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): the plans of its indexes",
)


def plan(queryset) -> str:
    """The plan of the first page of `queryset`, with sequential scans, bitmap scans and sorts
    priced out: with a few hundred rows PostgreSQL would rightly read the table and sort it; the
    question is whether an index can give the page in its order at all. If none can, the plan
    still sorts (a disabled step is only made costly), and the tests see it."""
    with connection.cursor() as cursor:
        for step in ("seqscan", "bitmapscan", "sort"):
            cursor.execute(f"SET LOCAL enable_{step} = off")
    return queryset[:20].explain()


def read_in_order_off(index: str, text: str) -> bool:
    """`text`, a plan, reads the rows off `index` (forwards or backwards), and sorts nothing."""
    return bool(re.search(rf"Index (Only )?Scan (Backward )?using {index} on", text)) and (
        "Sort" not in text
    )


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize("persona", ["liam", "leona", "ada", "hank"])
def test_the_queue_page_is_read_off_the_queue_index(cast, persona):
    raw_requests(cast, 300)
    raw_requests(cast, 300, status=Status.CLOSED)
    text = plan(queue_for(cast[persona]))
    index = "req_queue_department" if persona == "hank" else "req_queue"
    assert read_in_order_off(index, text), text


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("ordering", "index"),
    [
        ("submitted_at", "req_submitted_id"),
        ("-submitted_at", "req_submitted_id"),
        ("answer_due_at", "req_answer_due_id"),
        ("-answer_due_at", "req_answer_due_id"),
    ],
)
def test_every_api_ordering_is_read_off_its_index(cast, ordering, index):
    raw_requests(cast, 300)
    scoped = requests_visible_to(cast.ada).with_related()
    text = plan(RequestFilter({"ordering": ordering}, queryset=scoped).qs)
    assert read_in_order_off(index, text), text


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("status", "order", "index"),
    [
        (OPEN, ("answer_due_at", "id"), "req_ledger_open"),
        ([Status.CLOSED], ("-closed_at", "-id"), "req_ledger_closed"),
    ],
)
def test_the_ledger_is_read_off_its_indexes(cast, status, order, index):
    approved(cast, 300, closed=status == [Status.CLOSED])
    raw_requests(cast, 300)
    rows = ServiceRequest.objects.filter(
        extension_state=ExtensionState.APPROVED, status__in=status
    ).order_by(*order)
    assert read_in_order_off(index, plan(rows))


@postgres_only
@pytest.mark.postgres
def test_waiting_extensions_are_counted_off_their_index_alone(cast):
    """The count of extensions a leader decides (on the ledger and its list) checks each
    waiting one's enterprise, liaison and department: the index carries them, so the table is
    not read."""
    raw_requests(cast, 300, status=Status.RECTIFYING, extension_state=ExtensionState.PENDING)
    raw_requests(cast, 300)
    waiting = _pending_extensions(cast.leona, mine=True).order_by().values("pk")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    text = waiting.explain()
    assert "Index Only Scan using req_extension_pending" in text, text


@postgres_only
@pytest.mark.postgres
def test_the_inbox_is_read_off_its_index(cast):
    from notifications.inbox import notifications_of

    notifications_for(cast.alice, 300)
    notifications_for(cast.liam, 300)
    text = plan(notifications_of(cast.alice))
    assert read_in_order_off("notification_inbox_order", text), text


# --- the inspector's case list, page and API -----------------------------------------------------

CASE_PERSONAS = ["ivan", "irene", "ada"]  # the whole portal, one county's inspector, an admin


def cases(cast, n: int = ROWS) -> list:
    """`n` cases in Minhou County (irene's), each of its own request, department and official
    (a per-row query would show), opened at three moments only, so that most rows tie."""
    from compliance.models import AccountabilityCase, CaseSource, CaseStatus

    base = timezone.now().replace(microsecond=0)
    requests = raw_requests(cast, n)
    return [
        AccountabilityCase.objects.create(
            source=CaseSource.BREACH,
            status=CaseStatus.OPEN if i % 2 else CaseStatus.DECIDED,
            request=request,
            department=cast.roads,
            official=cast.hank,
            inspector=cast.ivan if i % 3 else None,
            region="minhou",
            cause="Answer deadline passed",
            rule="answer breach",
            opened_at=base - dt.timedelta(hours=i % 3),
        )
        for i, request in enumerate(requests)
    ]


def case_order(rows) -> list[int]:
    return [c.pk for c in sorted(rows, key=lambda c: (c.opened_at, c.pk), reverse=True)]


@pytest.mark.parametrize("persona", CASE_PERSONAS)
def test_the_case_list_runs_the_same_queries_for_20_and_100_rows(cast, monkeypatch, persona):
    cases(cast)
    same_queries_at_both_sizes(
        page_client(cast[persona]),
        "/inspector/cases/",
        lambda size: monkeypatch.setattr("inspection.views.PAGE_SIZE", size),
    )


@pytest.mark.parametrize("persona", CASE_PERSONAS)
def test_the_api_case_list_runs_the_same_queries_for_20_and_100_rows(cast, api, persona):
    cases(cast)
    client = api(cast[persona])
    path = "/api/v1/accountability-cases/?"
    client.get(f"{path}page_size={LARGE}")  # warms what a process loads once
    counts = {}
    for size in (SMALL, LARGE):
        counts[size], response = count_queries(client, f"{path}page_size={size}")
        assert len(rows_of(response)) == size
    assert counts[SMALL] == counts[LARGE]


def test_paging_through_the_case_list_shows_every_case_once_newest_first(cast, monkeypatch):
    rows = cases(cast)
    monkeypatch.setattr("inspection.views.PAGE_SIZE", 8)  # 105 rows: 14 pages, the last short
    client = page_client(cast.irene)
    seen = []
    for number in range(1, 15):
        seen += rows_of(client.get(f"/inspector/cases/?page={number}"))
    assert seen == case_order(rows)


def test_paging_the_api_case_list_shows_every_case_once_newest_first(cast, api):
    rows = cases(cast)
    client = api(cast.irene)
    seen, url = [], "/api/v1/accountability-cases/?page_size=8"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert seen == case_order(rows)


def test_a_long_case_list_says_1000_plus_and_still_pages_to_its_end(cast, monkeypatch, small_cap):
    rows = cases(cast, 60)
    monkeypatch.setattr("inspection.views.PAGE_SIZE", 20)
    client = page_client(cast.irene)
    first = client.get("/inspector/cases/").content.decode()
    assert re.search(r"Page 1\s*<", first) and "Page 1 of" not in first
    last = client.get("/inspector/cases/?page=3")
    assert rows_of(last) == case_order(rows)[40:] and 'rel="next"' not in last.content.decode()


def test_the_console_alerts_run_the_same_queries_for_few_and_many_cases(cast):
    client = page_client(cast.irene)
    cases(cast, 3)
    client.get("/inspector/")
    few, _ = count_queries(client, "/inspector/")
    cases(cast, 40)
    many, response = count_queries(client, "/inspector/")
    assert len(response.context["alerts"].open_cases) == 20
    assert few == many


# --- the page size a reader chooses ---------------------------------------------------------------


def test_a_request_list_shows_the_page_size_chosen_and_offers_the_others(cast):
    raw_requests(cast)
    client = page_client(cast.liam)
    response = client.get("/requests/?page=2")
    assert len(rows_of(response)) == pagination.PAGE_SIZES[0]  # none chosen: the first
    html = response.content.decode()
    sizes = re.search(r'<nav class="pager page-sizes"(.*?)</nav>', html, re.S).group(1)
    assert '<span class="current" aria-current="true">20</span>' in sizes
    # Another size starts again at page 1.
    assert 'href="?page_size=50"' in sizes and 'href="?page_size=100"' in sizes
    for size in pagination.PAGE_SIZES:  # each less than the 105 rows
        shown = rows_of(client.get(f"/requests/?page_size={size}"))
        following = rows_of(client.get(f"/requests/?page_size={size}&page=2"))
        assert len(shown) == size and following and not set(shown) & set(following)
    # Filters and the size go together; the size links keep the filters.
    html = client.get("/requests/?status=submitted&page_size=50").content.decode()
    assert 'href="?status=submitted&amp;page_size=20"' in html


@pytest.mark.parametrize("asked", ["7", "abc", "-20", "100000", "", "20.0", "1e2", " 50x"])
def test_a_page_size_not_offered_shows_the_default_size(cast, asked):
    raw_requests(cast)
    response = page_client(cast.liam).get("/requests/", {"page_size": asked})
    assert response.status_code == 200
    assert len(rows_of(response)) == pagination.PAGE_SIZES[0]


def test_a_short_list_offers_no_page_sizes(cast):
    raw_requests(cast, n=pagination.PAGE_SIZES[0])
    html = page_client(cast.liam).get("/requests/").content.decode()
    assert "page-sizes" not in html


@pytest.mark.parametrize(
    "path", ["/ledger/", "/ledger/?show=closed", "/extensions/?show=all"], ids=str
)
def test_the_ledger_and_the_extensions_take_the_page_size_chosen(cast, path):
    status = Status.CLOSED if "closed" in path else Status.RECTIFYING
    state = ExtensionState.PENDING if "extensions" in path else ExtensionState.APPROVED
    raw_requests(
        cast,
        n=60,
        status=status,
        extension_state=state,
        extension_until=timezone.now(),
        closed_at=timezone.now() if status == Status.CLOSED else None,
    )
    client = page_client(cast.ada)
    assert len(rows_of(client.get(path))) == 20
    assert len(rows_of(client.get(f"{path}{'&' if '?' in path else '?'}page_size=50"))) == 50
