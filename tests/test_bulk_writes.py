"""core.bulk's set-based update: on PostgreSQL one UPDATE over arrays, given to psycopg as single
literals for integer and string columns; whatever a string holds comes back as it was."""

import pytest
from django.db import connection

from core import bulk
from core.bulk import text_array, update_rows
from requests_app.models import TimelineHead
from tests.factories import ServiceRequestFactory

pytestmark = pytest.mark.django_db

AWKWARD = [
    'a "quoted" word',
    "back\\slash and \\\\ two",
    "comma, {braces}, and spaces",
    "NULL",
    "",
    "亲清 — 诉求",
    "trailing backslash \\",
]


def test_update_rows_writes_every_string_and_integer_as_given(cast):
    requests = [ServiceRequestFactory(enterprise=cast.acme) for _ in AWKWARD]
    rows = [
        (request.pk, 1000 + i, text) for i, (request, text) in enumerate(zip(requests, AWKWARD))
    ]

    update_rows(TimelineHead, "request_id", ("seq", "hash"), rows)

    stored = TimelineHead.objects.filter(request__in=requests).values_list(
        "request_id", "seq", "hash"
    )
    assert sorted(stored) == sorted(rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL array literal")
def test_a_text_array_literal_reads_back_as_the_strings_and_nulls_it_was_made_of():
    values = [*AWKWARD, None]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[]", [text_array(values)])
        assert cursor.fetchone()[0] == values


def test_integer_and_string_columns_go_to_psycopg_as_one_literal_each():
    """psycopg adapts a list element by element in Python: for a sweep's 5,000 heads a column,
    one string is far cheaper. Other columns (booleans, mixed) stay lists."""
    assert bulk._array([3, 1, 2]) == "{3,1,2}"
    assert bulk._array(["a,b", None]) == '{"a,b",NULL}'
    assert bulk._array([True, False]) == [True, False]
    assert bulk._array([1, None]) == [1, None]
