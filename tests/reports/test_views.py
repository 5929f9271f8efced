"""The dashboard per role: headline figures with the previous quarter, charts whose bars link to
their requests, served without any CDN, printable; and the request list behind each figure."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse

Q3 = {"year": 2026, "quarter": 3}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["ada", "leona", "ivan", "irene", "liam", "hank"])
def test_each_official_has_a_dashboard(cast, quarter, who):
    response = _client(cast[who]).get(reverse("reports:dashboard"), Q3)
    assert response.status_code == 200
    assert b"<svg" in response.content
    assert reverse("reports:requests").encode() in response.content


def test_a_leaders_dashboard_counts_linked_enterprises_only(cast, quarter):
    response = _client(cast.leona).get(reverse("reports:dashboard"), Q3)
    assert response.context["report"]["received"] == 5
    assert response.context["report"]["previous"]["received"] == 1
    assert cast.land.name not in {
        row["department"]["name"] for row in response.context["by_department"]
    }


def test_the_dashboard_opens_on_the_current_quarter(cast, quarter):
    response = _client(cast.ada).get(reverse("reports:dashboard"))
    assert response.status_code == 200
    assert response.context["period"].label == "2026-Q4"


def test_every_headline_figure_links_to_its_requests(cast, quarter):
    client = _client(cast.ada)
    response = client.get(reverse("reports:dashboard"), Q3)
    report = response.context["report"]
    for card in response.context["cards"]:
        listing = client.get(card["href"])
        assert listing.status_code == 200
        figure = re.search(r"figure=(\w+)", card["href"]).group(1)
        assert listing.context["page"].paginator.count == report[figure]


@pytest.mark.parametrize("who", ["alice", "mallory"])
def test_entrepreneurs_have_no_reports(cast, quarter, who):
    client = _client(cast[who])
    assert client.get(reverse("reports:dashboard"), Q3).status_code == 403
    assert client.get(reverse("reports:requests"), {**Q3, "figure": "received"}).status_code == 403
    assert client.get(reverse("reports:download", args=["csv"]), Q3).status_code == 403


def test_anonymous_is_sent_to_log_in(db):
    response = Client().get(reverse("reports:dashboard"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.parametrize(
    "params",
    [
        {"year": "x", "quarter": 1},
        {"year": 2026, "quarter": 9},
        {"year": 2026, "quarter": 3, "department": "abc"},
    ],
)
def test_a_bad_quarter_is_400(cast, quarter, params):
    assert _client(cast.ada).get(reverse("reports:dashboard"), params).status_code == 400


def test_a_department_outside_scope_is_404(cast, quarter):
    response = _client(cast.hank).get(
        reverse("reports:dashboard"), {**Q3, "department": cast.environment.pk}
    )
    assert response.status_code == 404


def test_the_dashboard_loads_nothing_from_elsewhere_and_prints(cast, quarter):
    content = _client(cast.ada).get(reverse("reports:dashboard"), Q3).content.decode()
    assert not re.search(r'(src|href)="(https?:)?//', content)
    assert "reports/reports.css" in content
    stylesheet = Path(finders.find("reports/reports.css")).read_text(encoding="utf-8")
    assert "@media print" in stylesheet
    assert ' style="' not in content  # the content security policy allows no inline styles


def test_the_dashboard_reads_in_english_too(cast, quarter):
    response = _client(cast.ada).get(reverse("reports:dashboard"), Q3, HTTP_ACCEPT_LANGUAGE="en")
    assert b"Trend by month" in response.content


def test_the_list_behind_a_figure_narrows_by_category_and_region(cast, quarter):
    client = _client(cast.ada)
    url = reverse("reports:requests")
    by_category = client.get(url, {**Q3, "figure": "received", "category": "infrastructure"})
    assert by_category.context["page"].paginator.count == 2
    by_region = client.get(url, {**Q3, "figure": "received", "region": "minhou"})
    assert [sr.pk for sr in by_region.context["page"]] == [quarter.r6.pk]
    assert client.get(url, {**Q3, "figure": "received", "category": "nope"}).status_code == 400
