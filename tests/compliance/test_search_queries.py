"""The console search loads a whole page of histories, their timelines and their chain checks
in a constant number of queries (issue 14: it was three per hit), and its verdicts stay
exactly those of `verify_chain`, tampered chains and checkpoints included."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import pagination
from inspection import histories, views
from inspection.histories import Criteria
from requests_app import checkpoints, search
from requests_app.checkpoints import verify_chain
from requests_app.models import ServiceRequest
from tests.compliance.inspection_helpers import breach_case, page_client
from tests.factories import ServiceRequestFactory

# The tamper matrix's direct changes, and its own checkpoint folder and English words per test.
from tests.requests_app.test_tamper import (  # noqa: F401 (an autouse fixture)
    EVENTS,
    HEADS,
    REQUESTS,
    _own_checkpoints,
    raw,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_throttles")]


@pytest.fixture
def many(cast, request_in):
    """110 of acme's requests about 社保 with their timelines, a few of them further along
    (more events, a department, a handler), and a case on one."""
    filed = [
        ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title=f"社保缴费 {n}")
        for n in range(107)
    ]
    # Filed last, so on the first page too (newest first).
    further = [request_in(state) for state in ("assigned", "rectifying", "closed")]
    for service_request in further:
        ServiceRequest.objects.filter(pk=service_request.pk).update(title="社保 further along")
    breach_case(cast, request=further[0])
    return [*further, *filed]


def console_queries(user, page_size: int, monkeypatch) -> tuple[int, int]:
    """(queries, histories shown) of the console's search page for 社保 at `page_size`."""
    monkeypatch.setattr(views, "SEARCH_PAGE_SIZE", page_size)
    client = page_client(user)
    client.get(reverse("inspector:search"))  # the session and the first look-ups, not counted
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("inspector:search"), {"go": "1", "text": "社保"})
    assert response.status_code == 200
    return len(queries), len(response.context["results"])


def test_the_console_page_costs_the_same_queries_at_20_and_100_hits(people, many, monkeypatch):
    small, shown_small = console_queries(people["gina"], 20, monkeypatch)
    large, shown_large = console_queries(people["gina"], 100, monkeypatch)
    assert (shown_small, shown_large) == (20, 100)
    assert large == small


def test_the_console_counts_hits_up_to_the_cap(people, many, monkeypatch):
    """A common word matches most of the table: the page says "50+" rather than count it all."""
    monkeypatch.setattr(pagination, "COUNT_CAP", 50)
    client = page_client(people["gina"])
    response = client.get(reverse("inspector:search"), {"go": "1", "text": "社保"})
    assert "50+ requests" in response.content.decode()
    following = client.get(reverse("inspector:search"), {"go": "1", "text": "社保", "page": 11})
    shown = {history.request_id for history, _cases in following.context["results"]}
    oldest = {service_request.pk for service_request in many[3:13]}  # filed first
    assert shown == oldest  # the last ten of 110, ten a page: pages go on past the cap


postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): the bigram index's probe counts the matches",
)


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("few", "most", "cap", "label"),
    [
        (200, 5000, 1000, "107 requests"),
        (10, 5000, 1000, "107 requests"),
        (0, 5, 4, "4+ requests"),
        # MANY under the cap: the console's probe still reads past it (search.many_for), so it
        # reads all 107 and the page counts nothing again.
        (0, 1, 1000, "107 requests"),
    ],
    ids=["read by ids", "found and sorted", "walked past the cap", "never walked under the cap"],
)
def test_the_console_takes_the_count_its_search_made(
    people, many, monkeypatch, few, most, cap, label
):
    """社保缴费 (107 requests) is longer than two characters: the search first reads the ids of
    up to MANY matches. When it read them all, the page shows their number without counting
    them again; when it stopped at MANY, past the page's cap, the count is the cap. It never
    stops under the cap, which would leave the page to count."""
    monkeypatch.setattr(search, "FEW", few)
    monkeypatch.setattr(search, "MANY", most)
    monkeypatch.setattr(pagination, "COUNT_CAP", cap)
    client = page_client(people["gina"])
    client.get(reverse("inspector:search"))  # the session and the first look-ups
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("inspector:search"), {"go": "1", "text": "社保缴费"})
    assert label in response.content.decode()
    counts = [
        q["sql"]
        for q in queries.captured_queries
        if "COUNT(" in q["sql"].upper() and "requests_app_servicerequest" in q["sql"]
    ]
    assert counts == []


def test_a_page_of_histories_costs_the_same_queries_at_20_and_100(people, many):
    found = histories.search(people["gina"], Criteria(text="社保"))
    counts = []
    for size in (20, 100):
        with CaptureQueriesContext(connection) as queries:
            page = found[0:size]
        assert len(page) == size
        assert sum(len(history.events) for history in page) > size  # timelines came along
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- the verdicts ---------------------------------------------------------------------------------


def _note_changed(request, events):
    raw(f"UPDATE {EVENTS} SET note = 'nothing happened' WHERE id = %s", [events[1].pk])


def _event_deleted(request, events):
    raw(f"DELETE FROM {EVENTS} WHERE id = %s", [events[1].pk])


def _head_moved_back(request, events):
    raw(f"UPDATE {HEADS} SET seq = seq - 1 WHERE request_id = %s", [request.pk])


def _head_missing(request, events):
    raw(f"DELETE FROM {HEADS} WHERE request_id = %s", [request.pk])


def _row_changed(request, events):
    raw(f"UPDATE {REQUESTS} SET reopen_count = 7 WHERE id = %s", [request.pk])


def _last_event_gone_after_checkpoint(request, events):
    checkpoints.create()
    raw(f"DELETE FROM {EVENTS} WHERE id = %s", [events[-1].pk])
    raw(
        f"UPDATE {HEADS} SET seq = %s, hash = %s WHERE request_id = %s",
        [events[-2].seq, events[-2].hash, request.pk],
    )


def _intact_after_checkpoint(request, events):
    checkpoints.create()


def _checkpoint_forged(request, events):
    checkpoints.create()
    log = checkpoints.folder() / checkpoints.LOG_NAME
    line = json.loads(log.read_text().splitlines()[-1])
    line["requests"] += 1
    log.write_text(json.dumps(line) + "\n")


TAMPERING = [
    None,
    _note_changed,
    _event_deleted,
    _head_moved_back,
    _head_missing,
    _row_changed,
    _last_event_gone_after_checkpoint,
    _intact_after_checkpoint,
    _checkpoint_forged,
]


@pytest.mark.parametrize(
    "tamper", TAMPERING, ids=lambda t: t.__name__.strip("_") if t else "intact"
)
def test_the_console_says_what_verify_chain_says(people, request_in, tamper):
    """Each request of the page checked in the batch gets the verdict `verify_chain` gives it
    alone, word for word; the untouched neighbour stays intact."""
    touched, neighbour = request_in("closed"), request_in("assigned")
    if tamper is not None:
        tamper(touched, list(touched.events.order_by("seq")))
    found = histories.search(people["gina"], Criteria())
    page = {history.request_id: history for history in found[0 : found.count()]}
    for service_request in (touched, neighbour):
        alone = verify_chain(service_request)
        chain = page[service_request.pk].chain
        assert (chain.ok, chain.events, chain.first_bad_event) == (
            alone.ok,
            alone.events,
            alone.first_bad_event,
        )
        assert list(chain.messages) == alone.messages
        single = histories.history(people["gina"], service_request.pk).chain
        assert single == chain
    assert page[neighbour.pk].chain.ok or tamper in (_checkpoint_forged,)
    assert page[touched.pk].chain.ok == (tamper in (None, _intact_after_checkpoint))
