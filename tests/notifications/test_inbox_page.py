"""The inbox page's filters and grouping, its settings page, and the language switch.

The page reads a constant number of queries whatever its size: 20 or 100 messages, across as
many requests, cost the same.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications import messages, preferences
from notifications.models import ENTERPRISE_KINDS, Kind, Notification
from notifications.preferences import preferences_of
from portal import views
from requests_app.notices import WHO_HEARS
from requests_app.workflow import transition
from tests.factories import ServiceRequestFactory
from tests.notifications.test_inbox import note
from tests.pages import page_client

pytestmark = pytest.mark.django_db


def about(request) -> str:
    return reverse("requests:detail", args=[request.pk])


def test_the_inbox_groups_a_pages_messages_by_request_under_its_reference(cast):
    first = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    second = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    now = timezone.now()
    note(cast.alice, "First, newest", link=about(first), created_at=now)
    note(cast.alice, "Second's news", link=about(second), created_at=now - dt.timedelta(hours=1))
    note(cast.alice, "Of no request", link="/inbox/", created_at=now - dt.timedelta(hours=2))
    note(cast.alice, "First, oldest", link=about(first), created_at=now - dt.timedelta(hours=3))
    html = page_client(cast.alice).get("/inbox/").content.decode()
    heading_first = html.index(f"Request {first.reference}")
    heading_second = html.index(f"Request {second.reference}")
    other = html.index("Other messages")
    assert heading_first < html.index("First, newest") < html.index("First, oldest")
    assert html.index("First, oldest") < heading_second < html.index("Second&#x27;s news")
    assert heading_second < other < html.index("Of no request")


def test_a_request_the_reader_cannot_see_gives_no_reference(cast):
    theirs = ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory)
    note(cast.alice, "Odd message", link=about(theirs))
    html = page_client(cast.alice).get("/inbox/").content.decode()
    assert theirs.reference not in html
    assert "A request you can no longer open" in html and "Odd message" in html


def test_the_inbox_filters_by_kind_and_unread_only(cast):
    note(cast.alice, "Unread reminder", kind="reminder")
    note(cast.alice, "Read reminder", kind="reminder", read_at=timezone.now())
    note(cast.alice, "Unread escalation", kind="escalated")
    client = page_client(cast.alice)

    def shown(query: str) -> set[str]:
        html = client.get("/inbox/" + query).content.decode()
        names = {"Unread reminder", "Read reminder", "Unread escalation"}
        return {name for name in names if name in html}

    assert shown("?kind=reminder") == {"Unread reminder", "Read reminder"}
    assert shown("?unread=on") == {"Unread reminder", "Unread escalation"}
    assert shown("?kind=reminder&unread=on") == {"Unread reminder"}
    assert len(shown("?kind=nonsense")) == 3  # not a kind: no filter, never an error
    assert (
        "No messages match these filters."
        in client.get("/inbox/?kind=case_decided").content.decode()
    )


def test_mark_all_read_and_the_settings_link_are_on_the_page(cast):
    note(cast.alice)
    html = page_client(cast.alice).get("/inbox/").content.decode()
    assert reverse("portal:inbox-read-all") in html
    assert reverse("portal:inbox-settings") in html


def _page_queries(client, query: str = "") -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/inbox/" + query).status_code == 200
    return len(captured)


@pytest.mark.parametrize("query", ["", "?unread=on", "?kind=reminder"])
def test_the_inbox_reads_as_many_queries_for_100_messages_as_for_20(cast, monkeypatch, query):
    requests = [ServiceRequestFactory(enterprise=cast.acme, by=cast.alice) for _ in range(10)]
    now = timezone.now()

    def fill(count: int) -> None:
        Notification.objects.filter(recipient=cast.alice).delete()
        Notification.objects.bulk_create(
            Notification(
                recipient=cast.alice,
                kind="reminder",
                subject=f"Message {n}",
                body="Body",
                link=about(requests[n % 10]) if n % 3 else "",
                created_at=now - dt.timedelta(minutes=n),
            )
            for n in range(count)
        )

    client = page_client(cast.alice)
    monkeypatch.setattr(views, "INBOX_PAGE_SIZE", 20)
    fill(20)
    small = _page_queries(client, query)
    monkeypatch.setattr(views, "INBOX_PAGE_SIZE", 100)
    fill(100)
    large = _page_queries(client, query)
    html = client.get("/inbox/" + query).content.decode()
    assert html.count('class="inbox-item"') == 100
    assert small == large


def test_the_settings_page_shows_and_saves_each_kinds_choice_without_javascript(cast):
    client = page_client(cast.liam)
    page = client.get(reverse("portal:inbox-settings"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="reminder"' in html and "<script" not in html.split("<main", 1)[-1]
    choices = {field: "email" for field in page.context["form"].fields}
    choices.update({"reminder": "digest", "request_closed": "off", "escalated": "inbox"})
    saved = client.post(reverse("portal:inbox-settings"), choices)
    assert saved.status_code == 302
    flags = preferences_of(cast.liam)
    assert flags["reminder"].as_dict() == {"inbox": True, "email": True, "digest": True}
    assert flags["request_closed"].as_dict() == {"inbox": False, "email": False, "digest": False}
    assert flags["escalated"].as_dict() == {"inbox": True, "email": False, "digest": False}
    assert flags["new_request"].as_dict() == {"inbox": True, "email": True, "digest": False}
    again = client.get(reverse("portal:inbox-settings")).context["form"]
    assert again["reminder"].initial == "digest"


def test_a_choice_that_is_not_offered_is_refused_and_changes_nothing(cast):
    client = page_client(cast.liam)
    answer = client.post(reverse("portal:inbox-settings"), {"reminder": "sms"})
    assert answer.status_code == 400
    assert preferences_of(cast.liam)["reminder"].as_dict()["email"] is True


def test_each_side_is_offered_the_kinds_it_can_be_sent(cast):
    """An entrepreneur chooses for the kinds that reach an enterprise's people, and only those;
    an official for the rest. The split follows who hears what (requests_app.notices)."""
    to_enterprises = {n.kind for n in WHO_HEARS if n.audience == "enterprise"}
    to_officials = {n.kind for n in WHO_HEARS if n.audience != "enterprise"}
    assert to_enterprises == ENTERPRISE_KINDS and not to_enterprises & to_officials
    offered = {}
    for person in (cast.alice, cast.liam):
        page = page_client(person).get(reverse("portal:inbox-settings"))
        offered[person] = set(page.context["form"].fields)
    assert offered[cast.alice] == ENTERPRISE_KINDS
    assert offered[cast.liam] == set(Kind.values) - ENTERPRISE_KINDS
    # A kind the page does not offer cannot be set through it either.
    client = page_client(cast.alice)
    choices = {kind: "inbox" for kind in ENTERPRISE_KINDS} | {"reminder": "off"}
    assert client.post(reverse("portal:inbox-settings"), choices).status_code == 302
    flags = preferences_of(cast.alice)
    assert flags["reminder"] == preferences.DEFAULT
    assert flags["request_assigned"].as_dict() == {"inbox": True, "email": False, "digest": False}


# --- the language switch -------------------------------------------------------------------------


def test_the_language_switch_saves_the_choice_and_later_messages_follow_it(
    cast, eager_tasks, django_capture_on_commit_callbacks
):
    from django.core import mail

    client = page_client(cast.hank, language="zh-hans")
    answer = client.post(reverse("set_language"), {"language": "en", "next": "/inbox/"})
    assert answer.status_code == 302 and answer["Location"] == "/inbox/"
    cast.hank.refresh_from_db()
    assert cast.hank.language == "en"

    request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    with django_capture_on_commit_callbacks(execute=True):
        transition(request.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank)
    row = Notification.objects.get(recipient=cast.hank, kind="handler_assigned")
    assert row.subject == f"New request for your department: {request.reference}"
    [email] = [m for m in mail.outbox if m.to == ["hank@example.org"]]
    assert email.subject == row.subject and email.body.startswith("Dear Hank,")

    client.post(reverse("set_language"), {"language": "zh-hans"})
    cast.hank.refresh_from_db()
    [chinese] = messages.build([cast.hank], "request_closed", {"reference": "QQ", "title": "t"})
    assert chinese.subject == "诉求 QQ 已办结"


def test_the_switch_ignores_a_language_the_portal_does_not_speak(cast):
    client = page_client(cast.hank)
    client.post(reverse("set_language"), {"language": "fr"})
    cast.hank.refresh_from_db()
    assert cast.hank.language == ""


def test_anonymous_visitors_switch_as_before(db):
    client = page_client(None, language="zh-hans")
    answer = client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    assert answer.status_code == 302
    assert answer.cookies["django_language"].value == "en"


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"kind": "reminder"}, "notification_inbox_kind"),
        ({"unread": True}, "notification_inbox_unread"),
    ],
)
def test_a_filtered_inbox_is_read_off_its_index_in_order(cast, filters, index):
    from notifications.inbox import filtered
    from tests.test_list_queries import notifications_for, plan, read_in_order_off

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): the plans of its indexes")
    notifications_for(cast.alice, 300)
    notifications_for(cast.liam, 300)
    text = plan(filtered(cast.alice, **filters))
    assert read_in_order_off(index, text), text
