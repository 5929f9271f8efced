"""How `matching` searches a text longer than two characters on PostgreSQL: it first reads the
ids of up to `search.MANY` matches in the caller's scope; up to `search.FEW`, they are the
answer; fewer than MANY, the index finds them and the page sorts them; as many, the page walks
the list's order checking each row. Every way finds exactly what icontains finds, on SQLite
too, in a number of queries that does not grow with the page. The tests lower FEW and MANY
instead of writing thousands of rows."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import pagination
from inspection import histories
from inspection.views import SEARCH_PAGE_SIZE
from requests_app import search
from requests_app.models import ServiceRequest
from requests_app.search import contains, many_for, matches, matching
from tests.factories import RawServiceRequestFactory, category

pytestmark = pytest.mark.django_db

DENSE = 30  # requests that hold 融资贷款
LOTS = 100_000  # more than any test writes
# (FEW, MANY): every text read by its ids; found and sorted; walked in order
WAYS = {"ids": (LOTS, LOTS + 1), "sorted": (0, LOTS), "walked": (0, 1)}


def choose(monkeypatch, few: int, many: int) -> None:
    monkeypatch.setattr(search, "FEW", few)
    monkeypatch.setattr(search, "MANY", many)


# (title, description, how many)
BODIES = [
    ("关于融资贷款的诉求", "企业反映融资贷款方面的问题。", DENSE),
    # All the bigrams of 融资贷款 (融资, 资贷, 贷款), not the text: only the check tells.
    ("融资", "资贷款", 10),
    ("社保审批太慢", "希望尽快协调解决。", 2),
    ("施工许可", "Road works at the NORTH gate need a permit.", 3),
    ("两行", "two\nlines of text", 2),
]
TEXTS = [
    "融资贷款",  # dense
    "社保审批",  # rare
    "资贷款",  # in the split rows as well as the dense
    "north GATE",  # Latin, mixed case
    "qqraw",  # a reference's start: every row
    "融",  # one character
    "融资",  # two
    "two\nlines",  # a newline
    "不存在的",  # nothing
]


@pytest.fixture
def requests(cast) -> list[ServiceRequest]:
    rows = [
        RawServiceRequestFactory.build(
            enterprise=cast.acme if n % 2 else cast.globex,
            category=category("infrastructure"),
            title=title,
            description=description,
        )
        for title, description, count in BODIES
        for n in range(count)
    ]
    return ServiceRequest.objects.bulk_create(rows)


def found(queryset, text: str) -> set[int]:
    return set(matching(queryset, text).values_list("pk", flat=True))


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("text", TEXTS)
def test_the_search_finds_what_icontains_finds_every_way(requests, monkeypatch, way, text):
    choose(monkeypatch, *WAYS[way])
    everything = ServiceRequest.objects.all()
    expected = set(everything.filter(contains(text.strip())).values_list("pk", flat=True))
    assert found(everything, text) == expected


@pytest.mark.parametrize("way", WAYS)
def test_a_full_reference_is_found_in_any_case(requests, monkeypatch, way):
    choose(monkeypatch, *WAYS[way])
    wanted = requests[7]
    for text in (wanted.reference, wanted.reference.lower()):
        assert found(ServiceRequest.objects.all(), text) == {wanted.pk}


@pytest.mark.parametrize(("few", "many"), [(10, 20), (20, 25)])
def test_the_search_stays_in_the_scope(cast, requests, monkeypatch, few, many):
    """acme holds half of the 30 requests with 融资贷款: the whole table and acme's part of it
    go different ways, and each finds exactly its own."""
    choose(monkeypatch, few, many)
    for enterprise in (cast.acme, None):
        scope = ServiceRequest.objects.all()
        if enterprise is not None:
            scope = scope.filter(enterprise=enterprise)
        expected = set(scope.filter(contains("融资贷款")).values_list("pk", flat=True))
        assert expected and found(scope, "融资贷款") == expected


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("text", ["施工审批", "社保审批流程"])
def test_the_api_search_costs_the_same_queries_at_20_and_100(cast, api, monkeypatch, way, text):
    RawServiceRequestFactory.create_batch(
        110, enterprise=cast.acme, title="道路施工审批", description="社保审批流程"
    )
    choose(monkeypatch, *WAYS[way])
    client = api(cast.ivan)
    client.get("/api/v1/requests/", {"search": text, "page_size": 100})  # warms once-loads

    def queries_of_page(page_size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/requests/", {"search": text, "page_size": page_size})
        assert len(response.json()["results"]) == page_size
        return len(queries)

    assert queries_of_page(100) == queries_of_page(20)


# --- PostgreSQL: which way ----------------------------------------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): the bigram index is PostgreSQL's",
)


def way_of(text: str) -> str:
    """The way `matching` went for `text` over every request, FEW and MANY set low, read off
    the SQL of what it returns; it asks the database once, whichever way."""
    with CaptureQueriesContext(connection) as queries:
        result = matching(ServiceRequest.objects.all(), text)
    (probe,) = queries.captured_queries  # the ids, up to MANY
    assert "search_bigram_query" in probe["sql"] and "LIMIT 5" in probe["sql"], probe["sql"]
    expected = set(ServiceRequest.objects.filter(contains(text)).values_list("pk", flat=True))
    assert set(result.values_list("pk", flat=True)) == expected
    sql = str(result.query)
    if '"id" IN (' in sql:
        assert "search_bigrams" not in sql, sql
        return "ids"
    assert "strpos(" in sql, sql
    return "walked" if f"search_bigram_query({text[-2:]})" in sql else "sorted"


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("text", "way"),
    [
        ("社保审批", "ids"),  # 2 matches
        ("north GATE", "sorted"),  # 3
        ("融资贷款", "walked"),  # 30
        ("qqraw", "walked"),  # all 47
    ],
)
def test_the_number_of_matches_chooses_the_way(requests, monkeypatch, text, way):
    choose(monkeypatch, 2, 5)
    assert way_of(text) == way


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("text", "known", "at_least"),
    [
        ("社保审批", 2, None),  # read by its ids
        ("north GATE", 3, None),  # found and sorted
        ("不存在的", 0, None),
        ("融资贷款", None, 5),  # 30: MANY or more, walked; the probe stopped at MANY
        ("融资", None, None),  # two characters: no probe
        ("  ", None, None),  # blank: nothing searched
    ],
)
def test_the_probe_counts_the_matches_it_read(requests, monkeypatch, text, known, at_least):
    choose(monkeypatch, 2, 5)
    found = matches(ServiceRequest.objects.all(), text)
    assert (found.known, found.at_least) == (known, at_least)
    if known is not None:
        assert found.queryset.count() == known
    if at_least is not None:
        assert found.queryset.count() >= at_least


def test_without_the_index_the_search_counts_nothing_ahead(requests):
    """SQLite has no probe: a page counts the matches itself."""
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL probes: the test above")
    found = matches(ServiceRequest.objects.all(), "融资贷款")
    assert (found.known, found.at_least) == (None, None)


@postgres_only
@pytest.mark.postgres
def test_nothing_found_asks_nothing_more(requests, monkeypatch):
    choose(monkeypatch, 2, 5)
    with CaptureQueriesContext(connection) as queries:
        assert list(matching(ServiceRequest.objects.all(), "不存在的")) == []
    assert len(queries) == 1


@postgres_only
@pytest.mark.postgres
def test_a_dense_search_walks_the_lists_order(cast, monkeypatch):
    """3,000 requests, a third of them hold the text. Its seven bigrams always together, the
    planner would take their AND for 1 row in 3^7 and sort the thousand (as it did with
    融资贷款 at 1M); left to choose between the index of bigrams and the list's order (the
    table itself priced out, as a few thousand rows would rightly be read whole), it reads
    the newest in order and checks each."""
    rows = [
        RawServiceRequestFactory.build(
            enterprise=cast.acme,
            category=category("infrastructure"),
            title=f"企业诉求 {n}",
            description="融资贷款难题待解" if n % 3 == 0 else "道路施工审批",
        )
        for n in range(3000)
    ]
    ServiceRequest.objects.bulk_create(rows)
    choose(monkeypatch, 10, 100)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE requests_app_servicerequest")
        cursor.execute("SET LOCAL enable_seqscan = off")
    page = matching(ServiceRequest.objects.all(), "融资贷款难题待解")
    plan = page.order_by("-submitted_at", "-id")[:101].explain()
    assert "Index Scan Backward using req_submitted_id" in plan and "Sort" not in plan, plan


# --- the page's size ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page_size", "many"),
    [
        (None, 5000),  # not known: the largest page's
        (100, 5000),
        (500, 5000),  # no page walks more than the largest
        (50, 3536),
        (20, 2236),
        (10, 1581),  # the console's
        (2, 1001),  # never as few as a count's cap: a text walked is not counted
        (0, 1001),
    ],
)
def test_a_smaller_page_is_walked_from_fewer_matches(page_size, many):
    assert many_for(page_size) == many


def small_numbers(monkeypatch) -> None:
    """MANY 40 and a count's cap of 5: pages of 10 walk from 13 matches (40 × √(10/100))."""
    choose(monkeypatch, 2, 40)
    monkeypatch.setattr(pagination, "COUNT_CAP", 5)
    assert many_for(10) == 13


@postgres_only
@pytest.mark.postgres
def test_the_same_matches_are_sorted_for_large_pages_and_walked_for_small(requests, monkeypatch):
    """30 requests hold 融资贷款: fewer than MANY, as many as pages of 10 walk from."""
    small_numbers(monkeypatch)
    everything = ServiceRequest.objects.all()
    expected = set(everything.filter(contains("融资贷款")).values_list("pk", flat=True))
    large, small = matches(everything, "融资贷款"), matches(everything, "融资贷款", page_size=10)
    assert (large.known, large.at_least) == (30, None)
    assert (small.known, small.at_least) == (None, 13)
    assert "search_bigram_query(贷款)" not in str(large.queryset.query)
    assert "search_bigram_query(贷款)" in str(small.queryset.query)  # the last bigram: walked
    assert set(small.queryset.values_list("pk", flat=True)) == expected
    assert set(large.queryset.values_list("pk", flat=True)) == expected


@postgres_only
@pytest.mark.postgres
def test_the_console_probes_for_its_own_pages(cast, requests, monkeypatch):
    """The console's search chooses its plan by its pages of SEARCH_PAGE_SIZE: its probe stops
    at many_for(SEARCH_PAGE_SIZE), and the page is the newest of every match all the same."""
    small_numbers(monkeypatch)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(cast.ivan)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("inspector:search"), {"go": "1", "text": "融资贷款"})
    assert response.status_code == 200
    probes = [q["sql"] for q in queries.captured_queries if "search_bigram_query" in q["sql"]]
    probe = probes[0]  # the ids, then the page (13 is past the cap of 5: no count)
    assert probe.startswith('SELECT "requests_app_servicerequest"."id" AS "pk"'), probe
    assert probe.endswith(f"LIMIT {many_for(SEARCH_PAGE_SIZE)}"), probe
    assert len(probes) == 2, probes
    newest = ServiceRequest.objects.filter(contains("融资贷款")).order_by("-submitted_at", "-id")
    shown = [history.request_id for history, _cases in response.context["results"]]
    assert shown == list(newest.values_list("pk", flat=True)[:SEARCH_PAGE_SIZE])
    found = histories.search(cast.ivan, histories.Criteria(text="融资贷款"), page_size=10)
    assert (found.known, found.at_least) == (None, 13)
