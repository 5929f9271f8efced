"""The user's own things over the API (API.md): /me/, the inbox, marking read."""

import datetime as dt

import pytest
from django.utils import timezone

from notifications.models import Kind, Notification
from notifications.preferences import preferences_of, set_preferences
from tests.notifications.test_inbox import note

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"
INBOX = "/api/v1/inbox/"
READ = "/api/v1/inbox/read/"


# --- /me/ ----------------------------------------------------------------------------------------


def test_me_shows_who_the_caller_is_with_every_kinds_channels(cast, api):
    set_preferences(cast.liam, {"reminder": {"digest": True}})
    answer = api(cast.liam).get(ME)
    assert answer.status_code == 200
    body = answer.json()
    assert {key: body[key] for key in ("id", "username", "name", "role", "email")} == {
        "id": cast.liam.pk,
        "username": "liam",
        "name": "Liam",
        "role": "liaison",
        "email": "liam@example.org",
    }
    assert body["language"] == "zh-hans"  # no choice yet: the portal's default
    assert set(body["notify"]) == set(Kind.values)
    assert body["notify"]["reminder"] == {"inbox": True, "email": True, "digest": True}
    assert body["notify"]["escalated"] == {"inbox": True, "email": True, "digest": False}


def test_me_changes_name_language_email_and_preferences(cast, api):
    answer = api(cast.alice).patch(
        ME,
        {
            "name": "Alice Wang",
            "language": "en",
            "email": "alice.wang@example.org",
            "notify": {
                "reminder": {"email": False},
                "request_closed": {"inbox": False, "email": False},
            },
        },
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["language"] == "en"
    assert answer.json()["notify"]["reminder"] == {"inbox": True, "email": False, "digest": False}
    cast.alice.refresh_from_db()
    assert (cast.alice.name, cast.alice.language, cast.alice.email) == (
        "Alice Wang",
        "en",
        "alice.wang@example.org",
    )
    assert preferences_of(cast.alice)["request_closed"].inbox is False


@pytest.mark.parametrize(
    "body",
    [
        {"language": "fr"},
        {"language": 1},
        {"email": "not an address"},
        {"name": 7},
        {"name": "x" * 101},
        {"notify": []},
        {"notify": {"no_such_kind": {"inbox": True}}},
        {"notify": {"reminder": {"inbox": "yes"}}},
        {"notify": {"reminder": {"sms": True}}},
        {"notify": {"reminder": True}},
        # Not deliverable: an e-mail needs the inbox row, a digest needs e-mail.
        {"notify": {"reminder": {"inbox": False}}},
        {"notify": {"reminder": {"email": False, "digest": True}}},
        {"name": "Changed", "notify": {"reminder": {"inbox": False, "digest": True}}},
    ],
)
def test_me_refuses_bad_input_with_a_400_and_changes_nothing(cast, api, body):
    answer = api(cast.alice).patch(ME, body, format="json")
    assert answer.status_code == 400, answer.content
    assert set(answer.json()) <= {"name", "language", "email", "notify"}
    cast.alice.refresh_from_db()
    assert (cast.alice.name, cast.alice.language) == ("Alice", "")
    assert preferences_of(cast.alice)["reminder"].as_dict() == {
        "inbox": True,
        "email": True,
        "digest": False,
    }


@pytest.mark.parametrize("method", ["get", "patch"])
def test_me_needs_a_login(api, method, db):
    assert getattr(api(None), method)(ME, {}, format="json").status_code == 401


# --- the inbox -----------------------------------------------------------------------------------


def test_the_inbox_lists_the_callers_messages_paginated_newest_first(cast, api):
    now = timezone.now()
    old = note(cast.alice, "Old", link="/requests/41/", created_at=now - dt.timedelta(hours=1))
    new = note(cast.alice, "New", link="/inbox/", kind="report_received", created_at=now)
    note(cast.mallory, "Mallory's")
    answer = api(cast.alice).get(INBOX)
    assert answer.status_code == 200
    body = answer.json()
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    first, second = body["results"]
    assert set(first) >= {"id", "kind", "text", "request", "created_at", "read_at"}
    assert (first["id"], first["kind"], first["text"], first["request"]) == (
        new.pk,
        "report_received",
        new.body,
        None,
    )
    assert (second["id"], second["request"], second["read_at"]) == (old.pk, 41, None)


def test_the_inbox_filters_by_kind_and_unread(cast, api):
    note(cast.alice, "a", kind="reminder")
    note(cast.alice, "b", kind="reminder", read_at=timezone.now())
    note(cast.alice, "c", kind="escalated")
    client = api(cast.alice)

    def subjects(query: str) -> list[str]:
        answer = client.get(INBOX + query)
        assert answer.status_code == 200, answer.content
        return sorted(
            Notification.objects.get(pk=item["id"]).subject for item in answer.json()["results"]
        )

    assert subjects("?kind=reminder") == ["a", "b"]
    assert subjects("?unread=true") == ["a", "c"]
    assert subjects("?unread=true&kind=reminder") == ["a"]
    assert subjects("?unread=false") == ["a", "b", "c"]
    assert subjects("?kind=&unread=") == ["a", "b", "c"]


@pytest.mark.parametrize("query", ["?kind=nonsense", "?unread=maybe", "?page_size=2&page=9"])
def test_the_inbox_refuses_filters_it_does_not_know(cast, api, query):
    note(cast.alice)
    assert api(cast.alice).get(INBOX + query).status_code in (400, 404)


def test_marking_read_by_id_leaves_the_rest_and_other_users_alone(cast, api):
    mine, also_mine = note(cast.alice), note(cast.alice)
    theirs = note(cast.mallory)
    answer = api(cast.alice).post(READ, {"ids": [mine.pk, theirs.pk, 10**12]}, format="json")
    assert answer.status_code == 204
    read = set(Notification.objects.filter(read_at__isnull=False).values_list("pk", flat=True))
    assert read == {mine.pk}
    assert also_mine.pk not in read and theirs.pk not in read


def test_the_answer_does_not_tell_whether_another_users_id_exists(cast, api):
    theirs = note(cast.mallory)
    client = api(cast.alice)
    existing = client.post(READ, {"ids": [theirs.pk]}, format="json")
    missing = client.post(READ, {"ids": [theirs.pk + 1000]}, format="json")
    assert (existing.status_code, existing.content) == (missing.status_code, missing.content)
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_marking_read_without_ids_marks_all_of_the_callers_own(cast, api):
    note(cast.alice), note(cast.alice)
    theirs = note(cast.mallory)
    assert api(cast.alice).post(READ, {}, format="json").status_code == 204
    assert not Notification.objects.filter(recipient=cast.alice, read_at__isnull=True).exists()
    assert Notification.objects.get(pk=theirs.pk).read_at is None


@pytest.mark.parametrize(
    "body",
    [
        {"ids": "1"},
        {"ids": [0]},
        {"ids": ["x"]},
        {"ids": [2**63]},
        {"ids": {}},
        {"ids": [1] * 1001},
    ],
)
def test_marking_read_refuses_bad_ids_and_marks_nothing(cast, api, body):
    mine = note(cast.alice)
    answer = api(cast.alice).post(READ, body, format="json")
    assert answer.status_code == 400 and "ids" in answer.json()
    assert Notification.objects.get(pk=mine.pk).read_at is None


@pytest.mark.parametrize("url", [INBOX, READ])
def test_the_inbox_needs_a_login(api, url, db):
    client = api(None)
    answer = client.get(url) if url == INBOX else client.post(url, {}, format="json")
    assert answer.status_code == 401


def test_the_inbox_reads_as_many_queries_for_100_messages_as_for_20(cast, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(
            recipient=cast.alice,
            kind="reminder",
            subject=f"Message {n}",
            body="Body",
            link=f"/requests/{n}/",
            created_at=now - dt.timedelta(minutes=n),
        )
        for n in range(150)
    )
    client = api(cast.alice)
    counts = []
    for size in (20, 100):
        with CaptureQueriesContext(connection) as captured:
            answer = client.get(f"{INBOX}?page_size={size}")
        assert len(answer.json()["results"]) == size
        counts.append(len(captured))
    assert counts[0] == counts[1]
