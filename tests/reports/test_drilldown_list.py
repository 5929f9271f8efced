"""The list behind a figure (/reports/requests/) as a long list: a constant number of queries for
every role that reads reports, newest first with the id breaking ties, the columns it shows read
without a query per row, and on PostgreSQL its page read off the index on (submitted_at, id).
"""

import datetime as dt

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports import views
from reports.figures import Period
from reports.selectors import figure_queryset
from requests_app.models import Status
from tests.factories import RawServiceRequestFactory, category
from tests.test_list_queries import (
    LARGE,
    ROWS,
    SMALL,
    page_client,
    plan,
    postgres_only,
    read_in_order_off,
    rows_of,
    same_queries_at_both_sizes,
)

pytestmark = pytest.mark.django_db

# Whoever reads reports, with the enterprise whose requests their reports count.
READERS = {
    "ada": "acme",  # the city
    "ivan": "acme",  # an inspector without a department: the city too
    "irene": "globex",  # an inspector of Minhou County: its region
    "liam": "acme",  # a liaison: linked enterprises
    "leona": "acme",  # a leader: linked enterprises
    "hank": "acme",  # a handler: their department's requests
}
FIGURES = ["received", "overdue"]


def quarter() -> Period:
    """The quarter before this one: wholly past, so every clock of its requests has run out."""
    return Period.containing(timezone.now()).previous()


def overdue_requests(cast, enterprise: str, n: int = ROWS) -> list:
    """`n` requests of the quarter, never assigned and past their assign clock (so `received`
    and `overdue` both count them all), filed at three moments only: most rows tie."""
    start = quarter().start
    department = cast.roads if enterprise == "acme" else cast.land
    return [
        RawServiceRequestFactory(
            enterprise=getattr(cast, enterprise),
            department=department,
            category=category("infrastructure"),
            status=Status.SUBMITTED,
            submitted_at=start + dt.timedelta(days=10, hours=i % 3),
            assign_due_at=start + dt.timedelta(days=11),
            answer_due_at=start + dt.timedelta(days=13),
        )
        for i in range(n)
    ]


def figure_path(figure: str, **narrow) -> str:
    period = quarter()
    params = QueryDict(mutable=True)
    params.update({"year": period.year, "quarter": period.quarter, "figure": figure, **narrow})
    return f"/reports/requests/?{params.urlencode()}"


@pytest.mark.parametrize("figure", FIGURES)
@pytest.mark.parametrize("persona", list(READERS))
def test_the_list_behind_a_figure_runs_the_same_queries_for_20_and_100_rows(
    cast, monkeypatch, persona, figure
):
    overdue_requests(cast, READERS[persona])
    same_queries_at_both_sizes(
        page_client(cast[persona]),
        figure_path(figure),
        lambda size: monkeypatch.setattr(views, "PAGE_SIZE", size),
    )


def test_the_export_of_a_figure_runs_the_same_queries_for_20_and_100_rows(cast):
    client = page_client(cast.ada)
    path = figure_path("received", department=cast.roads.pk, category="infrastructure")
    client.get(f"{path}&format=csv")  # warms what a process loads once, as the pages' test
    counts = []
    for n in (SMALL, LARGE - SMALL):
        overdue_requests(cast, "acme", n)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{path}&format=csv")
            lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
        counts.append(len(queries))
    assert len(lines) == 1 + LARGE
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("figure", FIGURES)
def test_paging_through_a_figure_shows_every_request_once_newest_first(cast, monkeypatch, figure):
    rows = overdue_requests(cast, "acme")
    expected = [r.pk for r in sorted(rows, key=lambda r: (r.submitted_at, r.pk), reverse=True)]
    monkeypatch.setattr(views, "PAGE_SIZE", SMALL)
    client = page_client(cast.ada)
    seen = []
    for number in range(1, len(rows) // SMALL + 2):
        seen += rows_of(client.get(f"{figure_path(figure)}&page={number}"))
    assert seen == expected


def test_a_row_shows_the_request_and_its_enterprise_category_status_and_department(cast):
    (row,) = overdue_requests(cast, "acme", 1)
    content = page_client(cast.ada).get(figure_path("received")).content.decode()
    for text in [
        row.title,
        row.reference,
        f"/requests/{row.pk}/",
        cast.acme.name,
        str(category("infrastructure")),
        "Submitted",
        cast.roads.name,
        timezone.localtime(row.submitted_at).strftime("%Y-%m-%d %H:%M"),
    ]:
        assert text in content, text


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize("figure", FIGURES)
@pytest.mark.parametrize("persona", ["ada", "liam", "irene"])
def test_the_page_of_a_figure_is_read_off_the_submitted_index(cast, persona, figure):
    overdue_requests(cast, "acme", 300)
    overdue_requests(cast, "globex", 300)
    period = quarter()
    params = {"year": period.year, "quarter": period.quarter, "figure": figure}
    queryset, _context = figure_queryset(cast[persona], params)
    text = plan(views.listed(queryset))
    assert read_in_order_off("req_submitted_id", text), text


@postgres_only
@pytest.mark.postgres
@pytest.mark.parametrize("figure", FIGURES)
def test_the_page_of_one_departments_figure_is_read_off_its_index(cast, figure):
    overdue_requests(cast, "acme", 300)
    overdue_requests(cast, "globex", 300)
    period = quarter()
    params = {"year": period.year, "quarter": period.quarter, "figure": figure}
    queryset, _context = figure_queryset(cast.ada, {**params, "department": cast.roads.pk})
    text = plan(views.listed(queryset))
    assert read_in_order_off("req_department_submitted", text), text


def test_the_list_behind_a_figure_takes_the_page_size_chosen(cast):
    overdue_requests(cast, "acme")
    client = page_client(cast.ada)
    assert len(rows_of(client.get(figure_path("received")))) == SMALL  # none chosen
    chosen = client.get(f"{figure_path('received')}&page_size=50")
    assert len(rows_of(chosen)) == 50
    assert 'aria-current="true">50</span>' in chosen.content.decode()
    # A size not offered: the list at its own size, not an error.
    assert len(rows_of(client.get(f"{figure_path('received')}&page_size=7"))) == SMALL
