"""The in-app inbox: one's own notifications only, unread in the header, read marks, 404s."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications.models import Notification
from requests_app.workflow import transition
from tests.pages import page_client

pytestmark = pytest.mark.django_db


def note(user, subject="Reminder: QQ1 is due", link="/requests/", **kwargs) -> Notification:
    return Notification.objects.create(
        recipient=user,
        kind=kwargs.pop("kind", "reminder"),
        subject=subject,
        body=kwargs.pop("body", "The answer deadline is near."),
        link=link,
        **kwargs,
    )


def test_the_inbox_lists_only_the_users_own_notifications_newest_first(cast):
    now = timezone.now()
    note(cast.alice, "Older news for Alice", created_at=now - dt.timedelta(hours=2))
    note(cast.alice, "Newer news for Alice", created_at=now)
    note(cast.mallory, "Mallory's secret")
    html = page_client(cast.alice).get("/inbox/").content.decode()
    assert "Mallory" not in html
    assert html.index("Newer news for Alice") < html.index("Older news for Alice")


def test_unread_notifications_stand_out_and_times_are_china_standard_time(cast):
    moment = dt.datetime(2025, 3, 3, 0, 30, tzinfo=dt.UTC)  # 08:30 in Shanghai
    note(cast.alice, "Unread one", created_at=moment)
    note(cast.alice, "Read one", read_at=timezone.now(), created_at=moment)
    html = page_client(cast.alice).get("/inbox/").content.decode()
    assert 'class="unread"' in html and 'class="read"' in html
    assert "2025-03-03 08:30" in html
    assert "1 unread message" in html


@pytest.mark.parametrize("username", ["alice", "liam", "hank", "leona", "ivan", "ada"])
def test_every_role_has_the_inbox_in_its_menu_with_the_unread_count(cast, username):
    user = cast[username]
    for _ in range(3):
        note(user)
    note(user, read_at=timezone.now())
    html = page_client(user).get("/requests/").content.decode()
    assert 'href="/inbox/"' in html
    assert '<span class="count" aria-hidden="true">3</span>' in html
    assert "(3 unread)" in html


def test_no_badge_without_unread_messages_and_a_cap_at_99(cast):
    html = page_client(cast.alice).get("/requests/").content.decode()
    assert 'class="count"' not in html
    Notification.objects.bulk_create(
        Notification(recipient=cast.alice, kind="reminder", subject="s", body="b")
        for _ in range(120)
    )
    html = page_client(cast.alice).get("/requests/").content.decode()
    assert '<span class="count" aria-hidden="true">99+</span>' in html


def test_the_header_counts_unread_messages_with_one_query(cast):
    note(cast.alice)
    client = page_client(cast.alice)
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/requests/").status_code == 200
    inbox_queries = [q["sql"] for q in queries if "portal_notification" in q["sql"]]
    assert len(inbox_queries) == 1 and "COUNT(" in inbox_queries[0].upper()


def test_opening_a_notification_marks_it_read_and_follows_its_link(cast, request_in):
    service_request = request_in("submitted")
    notification = note(cast.alice, link=f"/requests/{service_request.pk}/")
    client = page_client(cast.alice)
    response = client.get(f"/inbox/{notification.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/requests/{service_request.pk}/"
    notification.refresh_from_db()
    first_read = notification.read_at
    assert first_read is not None
    client.get(f"/inbox/{notification.pk}/")  # opening it again keeps the first reading time
    notification.refresh_from_db()
    assert notification.read_at == first_read


@pytest.mark.parametrize("link", ["", "https://evil.example/phish", "//evil.example/"])
def test_a_notification_without_a_safe_link_leads_back_to_the_inbox(cast, link):
    notification = note(cast.alice, link=link)
    response = page_client(cast.alice).get(f"/inbox/{notification.pk}/")
    assert response["Location"] == "/inbox/"


def test_someone_elses_notification_is_404_and_stays_unread(cast):
    notification = note(cast.mallory)
    for user in (cast.alice, cast.ada):  # not even an administrator opens another's inbox
        assert page_client(user).get(f"/inbox/{notification.pk}/").status_code == 404
    assert page_client(cast.alice).get("/inbox/999999/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_as_read_touches_only_the_users_own_unread_messages(cast):
    earlier = timezone.now() - dt.timedelta(days=1)
    mine = [note(cast.alice), note(cast.alice)]
    already = note(cast.alice, read_at=earlier)
    theirs = note(cast.mallory)
    client = page_client(cast.alice)
    assert client.get("/inbox/read-all/").status_code == 405  # a change needs a POST
    response = client.post("/inbox/read-all/", follow=True)
    assert response.redirect_chain[-1][0] == "/inbox/"
    assert "2 notifications marked as read." in response.content.decode()
    for row in mine:
        row.refresh_from_db()
        assert row.read_at is not None
    already.refresh_from_db()
    theirs.refresh_from_db()
    assert already.read_at == earlier and theirs.read_at is None
    assert 'class="count"' not in response.content.decode()


def test_the_inbox_is_paginated(cast):
    Notification.objects.bulk_create(
        Notification(recipient=cast.alice, kind="reminder", subject=f"Message {n:02d}", body="b")
        for n in range(35)
    )
    client = page_client(cast.alice)
    first = client.get("/inbox/").content.decode()
    assert first.count('class="inbox-item"') == 30
    second = client.get("/inbox/?page=2").content.decode()
    assert second.count('class="inbox-item"') == 5
    assert "Page 2 of 2" in second


def test_anonymous_visitors_are_sent_to_the_login(cast):
    client = Client()
    assert client.get("/inbox/")["Location"].startswith("/accounts/login/")
    assert client.post("/inbox/read-all/")["Location"].startswith("/accounts/login/")


def test_a_transition_lands_in_the_enterprises_inbox_in_its_language(cast, request_in):
    """End to end: assigning alice's request puts a message in her inbox, linking to it."""
    cast.alice.language = "zh-hans"
    cast.alice.save(update_fields=["language"])
    service_request = request_in("submitted")
    transition(service_request.pk, "assign", by=cast.liam, department=cast.roads)
    html = page_client(cast.alice, "zh-hans").get("/inbox/").content.decode()
    assert f"您的诉求 {service_request.reference} 已交办" in html
    assert "收件箱" in html and "（1 条未读）" in html
    notification = Notification.objects.get(recipient=cast.alice, kind="request_assigned")
    response = page_client(cast.alice).get(f"/inbox/{notification.pk}/", follow=True)
    assert response.redirect_chain[-1][0] == f"/requests/{service_request.pk}/"
    assert response.status_code == 200
