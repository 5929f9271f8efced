"""The one search of requests (requests_app.search): the API, the queue and the inspector's
console find the same requests for the same text (Chinese, a reference, any case), never one
outside the searcher's scope, in a number of queries that does not grow with the page; on
PostgreSQL the bigram index serves it, and finds exactly what icontains finds."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inspection import histories
from inspection.histories import Criteria
from requests_app.models import ServiceRequest
from requests_app.search import contains, folds_case, matching
from tests.factories import RawServiceRequestFactory, ServiceRequestFactory, category

pytestmark = pytest.mark.django_db

# name: (enterprise, title, description)
TEXTS = {
    "social": ("acme", "企业职工社保缴费审批太慢", "希望尽快协调解决。"),
    "permit": ("acme", "施工许可审批", "Road works at the NORTH gate need a permit."),
    # Every bigram of 社保审批 (社保, 保审, 审批), and yet not the text.
    "split": ("acme", "社保", "保审批"),
    "loan": ("acme", "融资难", "中小企业融资难，贷款审批慢。"),
    "globex": ("globex", "社保补缴", "Mill workers' social insurance arrears."),
}


@pytest.fixture
def filed(cast) -> dict[str, ServiceRequest]:
    people = {"acme": cast.alice, "globex": cast.mallory}
    return {
        name: ServiceRequestFactory(
            enterprise=cast[enterprise],
            by=people[enterprise],
            title=title,
            description=description,
            category=category("infrastructure" if enterprise == "acme" else "labor"),
        )
        for name, (enterprise, title, description) in TEXTS.items()
    }


def reference_of(filed, name: str) -> str:
    return filed[name].reference


SEARCHES = [
    ("社保", {"social", "split", "globex"}),
    ("审批", {"social", "permit", "split", "loan"}),
    ("社", {"social", "split", "globex"}),
    ("社保缴费", {"social"}),
    ("贷款审批", {"loan"}),
    ("社保审批", set()),  # its bigrams are all in `split`, but not the text
    ("north GATE", {"permit"}),
    ("  nOrTh  ", {"permit"}),
    ("insurance ARREARS", {"globex"}),
    ("不存在的", set()),
]


def api_found(user, text: str) -> set[int]:
    client = Client()
    client.force_login(user)
    response = client.get("/api/v1/requests/", {"search": text, "page_size": 100})
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def queue_found(user, text: str) -> set[int]:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    response = client.get(reverse("requests:list"), {"search": text})
    assert response.status_code == 200
    return {row.pk for row, *_shown in response.context["rows"]}


def console_found(user, text: str) -> set[int]:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    response = client.get(reverse("inspector:search"), {"go": "1", "text": text})
    assert response.status_code == 200
    return {history.request_id for history, _cases in response.context["results"]}


def ids(filed, names) -> set[int]:
    return {filed[name].pk for name in names}


@pytest.mark.parametrize(("text", "expected"), SEARCHES)
def test_the_api_the_queue_and_the_console_find_the_same(cast, filed, text, expected):
    """Ivan, the city's inspector, sees both enterprises: each way of searching finds the same."""
    wanted = ids(filed, expected)
    assert api_found(cast.ivan, text) == wanted
    assert queue_found(cast.ivan, text) == wanted
    assert console_found(cast.ivan, text) == wanted


def test_a_reference_is_found_in_any_case_and_in_part(cast, filed):
    reference = reference_of(filed, "loan")
    for text in (reference, reference.lower(), reference[2:]):
        expected = {
            request.pk
            for request in ServiceRequest.objects.all()
            if text.upper() in (request.reference or "").upper()
        }
        assert filed["loan"].pk in expected
        assert api_found(cast.ivan, text) == expected
        assert queue_found(cast.ivan, text) == expected
        assert console_found(cast.ivan, text) == expected


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        ("alice", {"social", "split"}),  # acme's entrepreneur
        ("mallory", {"globex"}),  # globex's
        ("liam", {"social", "split"}),  # acme's liaison
        ("hugo", set()),  # a handler of a department none of them went to
        ("irene", {"globex"}),  # Minhou's inspector
    ],
)
def test_a_search_never_widens_the_scope(cast, filed, person, expected):
    user = cast[person]
    wanted = ids(filed, expected)
    assert api_found(user, "社保") == wanted
    assert queue_found(user, "社保") == wanted
    if user.has_perm("inspection.use_console"):
        assert console_found(user, "社保") == wanted


def test_blank_text_narrows_nothing(cast, filed):
    everything = ServiceRequest.objects.all()
    assert matching(everything, "  ").count() == len(TEXTS)
    assert api_found(cast.ivan, " ") == ids(filed, TEXTS)
    assert {h.request_id for h in histories.search(cast.ivan, Criteria(text=""))[0:10]} == ids(
        filed, TEXTS
    )


# Texts the index must treat as plain characters: quotes, backslashes, LIKE's wildcards, the
# tsquery syntax, spaces, emoji.
ODD_TEXTS = [
    "it's",
    "'",
    "x\\y",
    "\\",
    "100%",
    "%",
    "a_b",
    "_",
    "a & b",
    "!:*|",
    "a  b",
    "🚧",
    "路🚧",
    "“引号”",
    "Ωmega",
    "two\nlines",
]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_the_index_finds_exactly_what_icontains_finds(cast, text):
    """On PostgreSQL the bigrams choose the candidates (alone up to two characters); the
    result must be icontains' all the same, whatever the text holds."""
    bodies = [*ODD_TEXTS, "it is", "x/y", "100 percent", "ab", "a b", "路", "Ω", "OMEGA", ""]
    for n, body in enumerate(bodies):
        RawServiceRequestFactory(enterprise=cast.acme, title=f"T{n} {body}", description=body)
    everything = ServiceRequest.objects.all()
    expected = set(everything.filter(contains(text)).values_list("pk", flat=True))
    assert expected  # the text is in at least its own row
    assert set(matching(everything, text).values_list("pk", flat=True)) == expected


def test_the_api_search_costs_the_same_queries_at_20_and_100(cast):
    RawServiceRequestFactory.create_batch(
        110, enterprise=cast.acme, title="道路施工审批", description="社保"
    )
    client = Client()
    client.force_login(cast.ivan)

    def queries_of_page(page_size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/requests/", {"search": "审批", "page_size": page_size})
        assert len(response.json()["results"]) == page_size
        return len(queries)

    assert queries_of_page(100) == queries_of_page(20)


# --- PostgreSQL: the index ----------------------------------------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): the bigram index is PostgreSQL's",
)


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize("text", ["社保", "审批流程", "社", "QQRAW0001", "north gate"])
def test_postgresql_serves_the_search_from_the_bigram_index(cast, text):
    """A few thousand rows, sequential scans discouraged: the plan reads req_search_bigrams.
    Up to two characters the search is that condition; a longer text first reads the ids of
    its matches through it (requests_app.search.MANY says what follows)."""
    rows = [
        RawServiceRequestFactory.build(
            enterprise=cast.acme,
            category=category("infrastructure"),
            title=f"企业诉求 {n}",
            description="社保审批流程" if n % 50 == 0 else "道路 north gate 施工",
        )
        for n in range(3000)
    ]
    ServiceRequest.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE requests_app_servicerequest")
        cursor.execute("SET LOCAL enable_seqscan = off")
    with CaptureQueriesContext(connection) as queries:
        found = matching(ServiceRequest.objects.all(), text)
    if queries:
        (probe,) = queries.captured_queries
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {probe['sql']}")
            plan = "\n".join(line for (line,) in cursor.fetchall())
    else:
        # Unordered, as a count reads it: the index, or a scan of every row. (A page in order
        # may rightly read the newest rows by submission and check each, when many match.)
        plan = found.order_by().values("pk").explain()
    assert "req_search_bigrams" in plan, plan


@pytest.mark.parametrize(
    ("text", "folds"),
    [
        ("融资贷款", False),
        ("936", False),
        ("“引号”！", False),
        ("路🚧", False),
        ("b99999", True),
        ("QQ2026", True),
        ("社保ABC", True),
        ("Ωmega", True),
        ("ß", True),  # no upper case of its own, but a case-insensitive search folds it
    ],
)
def test_a_text_folds_case_when_a_character_of_it_has_another_case(text, folds):
    assert folds_case(text) is folds


@postgres_only
@pytest.mark.postgres
def test_what_upper_changes_in_the_database_folds_case_here():
    """A text that does not fold case is looked for without upper() (`_HeldIn`). That finds
    what icontains finds only if the database's upper() leaves its characters alone and turns
    no other character into one of them: every character upper() changes, and every character
    it changes it into, must fold case. Every code point, asked of this database's upper()."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i, upper(chr(i)) FROM generate_series(1, 1114111) AS i"
            " WHERE (i < 55296 OR i > 57343) AND upper(chr(i)) <> chr(i)"
        )
        changed = cursor.fetchall()
    assert len(changed) > 1000  # Latin, Greek, Cyrillic, …: upper() was asked
    wrong = [
        (hex(point), image)
        for point, image in changed
        if not folds_case(chr(point)) or not all(folds_case(character) for character in image)
    ]
    assert wrong == []


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize(("text", "upper"), [("融资贷款", False), ("9936", False), ("B1234", True)])
def test_only_a_text_that_folds_case_is_upper_cased_for_every_row(cast, filed, text, upper):
    with CaptureQueriesContext(connection) as queries:
        list(matching(ServiceRequest.objects.all(), text))
    probe = queries.captured_queries[0]["sql"]
    assert "strpos(" in probe, probe
    assert ("strpos(upper(" in probe) is upper, probe
