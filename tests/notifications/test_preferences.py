"""Per-kind preferences decide delivery: no inbox row, no e-mail, or the digest instead.

A kind nobody changed behaves as before preferences existed: an inbox row, and an e-mail at once
where the user has an address. Every way messages are written honours them: one by one
(`build`), in batches (`rows_for_many`, the portable sweep) and as the database's sweep is
handed them (`inbox_words`).
"""

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from notifications import messages, preferences
from notifications.models import Notification, Preference
from notifications.preferences import DEFAULT, Flags, InvalidPreferences, set_preferences
from requests_app.workflow import transition
from tests.factories import ServiceRequestFactory

pytestmark = pytest.mark.django_db

CONTEXT = {"reference": "QQ-1", "title": "Broken road", "department": "Roads", "answer_due": "x"}
REMINDER = {"reference": "QQ-1", "title": "t", "enterprise": "e", "clock": "c", "when": "soon"}
OFF = {"inbox": False, "email": False, "digest": False}
INBOX_ONLY = {"inbox": True, "email": False, "digest": False}
DIGEST = {"inbox": True, "email": True, "digest": True}


def test_a_kind_nobody_changed_keeps_todays_behaviour(cast):
    assert preferences.preferences_of(cast.alice)["request_assigned"] == DEFAULT == Flags()
    [row] = messages.build([cast.alice], "request_assigned", CONTEXT)
    assert row.email_wanted is True
    cast.alice.email = ""
    [row] = messages.build([cast.alice], "request_assigned", CONTEXT)
    assert row.email_wanted is False  # no address, no e-mail: as before


@pytest.mark.parametrize(
    ("flags", "rows", "emailed"),
    [(OFF, 0, False), (INBOX_ONLY, 1, False), (DIGEST, 1, False), ({}, 1, True)],
    ids=["off", "inbox-only", "digest", "default"],
)
def test_build_honours_the_recipients_preference_for_that_kind_only(cast, flags, rows, emailed):
    if flags:
        set_preferences(cast.alice, {"request_assigned": flags})
    built = messages.build([cast.alice, cast.mallory], "request_assigned", CONTEXT)
    alices = [row for row in built if row.recipient_id == cast.alice.pk]
    assert len(alices) == rows
    assert all(row.email_wanted is emailed for row in alices)
    # Another user, and another kind of alice's, are untouched.
    [mallorys] = [row for row in built if row.recipient_id == cast.mallory.pk]
    assert mallorys.email_wanted is True
    [other] = messages.build([cast.alice], "request_closed", CONTEXT)
    assert other.email_wanted is True


def test_a_transition_mails_nobody_who_turned_the_kind_off(
    cast, eager_tasks, django_capture_on_commit_callbacks
):
    set_preferences(cast.hank, {"handler_assigned": INBOX_ONLY})
    set_preferences(cast.alice, {"request_assigned": OFF})
    request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    with django_capture_on_commit_callbacks(execute=True):
        transition(request.pk, "assign", by=cast.liam, department=cast.roads, handler=cast.hank)
    assert Notification.objects.filter(recipient=cast.hank, kind="handler_assigned").count() == 1
    assert not Notification.objects.filter(recipient=cast.alice, kind="request_assigned").exists()
    assert [
        m.to for m in mail.outbox if m.to in (["hank@example.org"], ["alice@example.org"])
    ] == []


def test_the_batch_path_of_the_sweep_honours_preferences(cast):
    set_preferences(cast.liam, {"reminder": OFF})
    set_preferences(cast.leona, {"reminder": DIGEST})
    items = [([cast.liam, cast.leona, cast.hank], REMINDER, "/x/")]
    rows = messages.rows_for_many("reminder", items)
    wanted = messages.COLUMNS.index("email_wanted")
    by_user = {row[0]: row[wanted] for row in rows}
    assert by_user == {cast.leona.pk: False, cast.hank.pk: True}


def test_the_database_sweeps_words_leave_out_who_turned_the_kind_off(cast):
    set_preferences(cast.liam, {"escalated": OFF})
    set_preferences(cast.leona, {"escalated": DIGEST})
    shared = [cast.liam, cast.leona, cast.hank]
    words = messages.inbox_words(
        "escalated",
        [(1, shared), (2, shared)],
        fields=("reference", "title", "enterprise", "department", "clock", "due", "when"),
        defaults={},
    )
    assert words is not None
    assert words.recipients == [cast.leona.pk, cast.hank.pk]
    assert words.email_wanted == [False, True]
    assert words.readers == [cast.leona.pk, cast.hank.pk] * 2
    set_preferences(cast.leona, {"escalated": OFF})
    set_preferences(cast.hank, {"escalated": OFF})
    assert messages.inbox_words("escalated", [(1, shared)], fields=(), defaults={}) is None


def test_preferences_are_read_in_one_query_per_batch(cast, django_assert_num_queries):
    users = [cast.alice, cast.mallory, cast.liam, cast.hank]
    with django_assert_num_queries(1):
        messages.rows_for_many("reminder", [(users, REMINDER, "")] * 50)


@pytest.mark.parametrize(
    "flags",
    [
        {"inbox": False, "email": True},
        {"inbox": False, "digest": True},
        {"email": False, "digest": True},
    ],
)
def test_settings_that_cannot_be_delivered_are_refused_and_change_nothing(cast, flags):
    set_preferences(cast.alice, {"request_closed": INBOX_ONLY})
    with pytest.raises(InvalidPreferences) as refused:
        set_preferences(cast.alice, {"request_closed": DIGEST, "reminder": flags})
    assert set(refused.value.errors) == {"reminder"}
    assert preferences.preferences_of(cast.alice)["request_closed"] == Flags(**INBOX_ONLY)
    assert preferences.preferences_of(cast.alice)["reminder"] == DEFAULT


def test_the_database_refuses_them_too(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        Preference.objects.create(user=cast.alice, kind="reminder", inbox=False, email=True)


def test_a_kind_set_back_to_the_default_keeps_no_row(cast):
    set_preferences(cast.alice, {"reminder": DIGEST})
    assert Preference.objects.filter(user=cast.alice).count() == 1
    set_preferences(cast.alice, {"reminder": {"digest": False}})  # flags left out keep theirs
    assert Preference.objects.filter(user=cast.alice).count() == 0
    assert preferences.preferences_of(cast.alice)["reminder"] == DEFAULT
