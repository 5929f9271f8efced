"""The public home page: anonymous visitors see what the portal promises and last quarter's
city-wide results (aggregates only, read from the kept figures); signed-in users go on."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.figures import Period
from reports.snapshots import refresh_portal
from tests.conftest import at
from tests.factories import DepartmentFactory, EnterpriseFactory, RawServiceRequestFactory

NOW = at("2026-10-15 12:00")  # last quarter: 2026-Q3
SECRET_ENTERPRISE = "Quixotic Zebrawood Trading Co."
SECRET_TITLE = "Xylophonic permit refused for warehouse"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _bureaus(count: int, *, prefix: str = "Bureau"):
    """`count` sibling bureaus; bureau k closes 4 − k of its 4 Q3 requests (mod 5)."""
    parent = DepartmentFactory(name=f"{prefix}s", region="city")
    enterprise = EnterpriseFactory(name=SECRET_ENTERPRISE)
    start = at("2026-07-06 09:00")
    for k in range(count):
        department = DepartmentFactory(name=f"{prefix} {k}", parent=parent)
        for n in range(4):
            closed = n < 4 - (k % 5)
            RawServiceRequestFactory(
                enterprise=enterprise,
                department=department,
                title=f"{SECRET_TITLE} {k}-{n}",
                status="closed" if closed else "feedback",
                submitted_at=start,
                assigned_at=start + dt.timedelta(hours=1),
                answered_at=start + dt.timedelta(hours=2),
                closed_at=start + dt.timedelta(hours=3) if closed else None,
                rating=5 if closed else None,
            )


def _home(language: str = "en"):
    return Client().get(reverse("home"), HTTP_ACCEPT_LANGUAGE=language)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_anonymous_visitors_see_last_quarters_city_results(db, language):
    _bureaus(5)
    with time_machine.travel(NOW, tick=False):
        response = _home(language)
    assert response.status_code == 200
    html = response.content.decode()
    results = response.context["results"]
    assert results["period"] == Period(2026, 3)
    # 20 received, 4 + 3 + 2 + 1 + 0 = 10 closed; every clock met; all ratings 5.
    assert results["counts"] == {"received": 20, "closed": 10}
    assert results["rates"] == {
        "resolution_rate": "50.0%",
        "assign_on_time_rate": "100.0%",
        "answer_on_time_rate": "100.0%",
        "satisfaction": "100.0%",
    }
    for text in ("2026-Q3", ">20<", ">10<", "50.0%", "100.0%"):
        assert text in html, text
    # Two red flags for the best, two yellow for the worst: department names only.
    assert results["red"] == ["Bureau 0", "Bureau 1"]
    assert sorted(results["yellow"]) == ["Bureau 3", "Bureau 4"]
    for name in ("Bureau 0", "Bureau 1", "Bureau 3", "Bureau 4"):
        assert name in html
    # The promise, and where to go next.
    assert 'href="/accounts/signup/"' in html
    assert f'href="{reverse("login")}"' in html
    assert f'href="{reverse("compliance:lists")}"' in html
    assert f'href="{reverse("inspector:report-file")}"' in html
    assert "133" in html


def test_nothing_names_an_enterprise_or_a_request(db):
    _bureaus(5)
    with time_machine.travel(NOW, tick=False):
        html = _home().content.decode()
    assert SECRET_ENTERPRISE not in html
    assert "Quixotic" not in html and "Xylophonic" not in html
    assert "QQRAW" not in html  # no request references either


def test_the_page_reads_kept_figures_whatever_the_data(db, django_assert_num_queries):
    """Once the quarter's figures are kept, the page costs the same few queries for a small
    city and a larger one."""
    _bureaus(5)
    with time_machine.travel(NOW, tick=False):
        refresh_portal(Period(2026, 3))
        with CaptureQueriesContext(connection) as small:
            assert _home().status_code == 200
        _bureaus(12, prefix="Office")
        refresh_portal(Period(2026, 3))
        with CaptureQueriesContext(connection) as large:
            response = _home()
    assert response.context["results"]["counts"]["received"] == 20 + 48
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
    assert len(small) <= 3


def test_the_page_may_be_kept_by_the_browser_only(db):
    with time_machine.travel(NOW, tick=False):
        response = _home()
    assert response.status_code == 200
    cache_control = response["Cache-Control"]
    assert "private" in cache_control and "max-age=300" in cache_control


def test_signed_in_users_go_on_to_their_queue(cast):
    client = Client()
    client.force_login(cast.liam)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("requests:list")


def test_the_page_fits_a_phone_and_works_without_script(db):
    with time_machine.travel(NOW, tick=False):
        html = _home().content.decode()
    assert 'name="viewport"' in html
    assert "<script" not in html
