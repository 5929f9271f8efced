"""Saved views of the request list ("my views"): an official keeps filters under a name, opens
them as a link, and deletes them; only the list's own filters are kept; nobody sees another's."""

import pytest
from django.test import Client

from requests_app.models import SavedView
from requests_app.saved_views import MAX_VIEWS, kept_query

pytestmark = pytest.mark.django_db


def client_of(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def test_a_view_keeps_the_lists_filters_and_opens_as_a_link(cast, request_in):
    request_in("submitted")
    client = client_of(cast.liam)
    response = client.post(
        "/requests/views/",
        {
            "name": "Overdue roads",
            "overdue": "true",
            "category": "infrastructure",
            "page": "3",
            "csrfmiddlewaretoken": "x",
            "evil": "<script>",
        },
    )
    view = SavedView.objects.get(user=cast.liam)
    assert view.query == "category=infrastructure&overdue=true"
    assert response["Location"] == "/requests/?category=infrastructure&overdue=true"
    html = client.get(response["Location"]).content.decode()
    assert (
        'href="?category=infrastructure&amp;overdue=true" aria-current="true">Overdue roads' in html
    )
    # Saving under the same name again replaces it.
    client.post("/requests/views/", {"name": "Overdue roads", "overdue": "false"})
    assert list(SavedView.objects.filter(user=cast.liam).values_list("query", flat=True)) == [
        "overdue=false"
    ]


def test_views_are_ones_own(cast):
    mine = SavedView.objects.create(user=cast.liam, name="Mine", query="overdue=true")
    html = client_of(cast.lars).get("/requests/").content.decode()
    assert "Mine" not in html
    response = client_of(cast.lars).post(f"/requests/views/{mine.pk}/delete/")
    assert response.status_code == 404
    assert SavedView.objects.filter(pk=mine.pk).exists()
    client_of(cast.liam).post(f"/requests/views/{mine.pk}/delete/")
    assert not SavedView.objects.filter(pk=mine.pk).exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_a_view_needs_a_short_name(cast, name):
    response = client_of(cast.liam).post("/requests/views/", {"name": name, "overdue": "true"})
    assert response.status_code == 302
    assert not SavedView.objects.exists()


def test_at_most_so_many_views(cast):
    SavedView.objects.bulk_create(
        SavedView(user=cast.liam, name=f"View {i}", query="") for i in range(MAX_VIEWS)
    )
    client_of(cast.liam).post("/requests/views/", {"name": "One more"})
    assert SavedView.objects.filter(user=cast.liam).count() == MAX_VIEWS
    client_of(cast.liam).post("/requests/views/", {"name": "View 3", "overdue": "true"})
    assert SavedView.objects.get(user=cast.liam, name="View 3").query == "overdue=true"


def test_only_known_filters_are_kept_and_capped():
    from django.http import QueryDict

    params = QueryDict("search=" + "a" * 500 + "&ordering=-submitted_at&foo=bar&page=2")
    assert kept_query(params) == "search=" + "a" * 200 + "&ordering=-submitted_at"


def test_a_view_keeps_the_page_size_chosen(cast):
    client = client_of(cast.liam)
    client.post("/requests/views/", {"name": "Long", "page_size": "100", "overdue": "true"})
    assert SavedView.objects.get(user=cast.liam, name="Long").query == "overdue=true&page_size=100"
