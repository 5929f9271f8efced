"""The append-only, hash-chained timeline: how it is built, and that tampering is found."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from requests_app.checkpoints import verify_chain
from requests_app.models import GENESIS_HASH, RequestEvent, TimelineHead, event_hash
from requests_app.sealing import current_key_id
from requests_app.timeline import BatchCanonical, NewEvent, append_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(request_in):
    """A closed request with five events: submitted, assign, start, feedback, review."""
    service_request = request_in("closed")
    events = list(service_request.events.order_by("seq"))
    assert [e.action for e in events] == ["submitted", "assign", "start", "feedback", "review"]
    return service_request, events


def verify_via_api(api, cast, service_request) -> dict:
    response = api(cast.ivan).get(f"/api/v1/requests/{service_request.pk}/verify/")
    assert response.status_code == 200
    return response.json()


def test_the_chain_links_each_event_to_the_one_before(history):
    service_request, events = history
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    for previous, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == previous.hash
    for event in events:
        assert event.hash == event.compute_hash()
    head = TimelineHead.objects.get(request=service_request)
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)
    assert verify_chain(service_request).ok


def test_an_intact_history_verifies(cast, api, history):
    service_request, _ = history
    assert verify_via_api(api, cast, service_request) == {
        "ok": True,
        "events": 5,
        "first_bad_event": None,
        "state_matches": True,
        "checkpoint": None,
    }


def test_events_cannot_be_changed_or_deleted_through_the_model(history):
    _, events = history
    event = events[2]
    event.note = "rewritten"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()
    assert RequestEvent.objects.get(pk=event.pk).note == ""


def test_the_hash_does_not_depend_on_the_time_zone_of_now(cast, request_in):
    service_request = request_in("submitted")
    # After the submission: an event dated before the one it follows does not verify.
    moment = (service_request.submitted_at + dt.timedelta(days=1)).astimezone(dt.UTC)
    shanghai = moment.astimezone(dt.timezone(dt.timedelta(hours=8)))
    first = append_event(service_request, action="reminder", actor=None, now=moment)
    stored = RequestEvent.objects.get(pk=first.pk)
    assert stored.compute_hash() == first.hash
    second = append_event(service_request, action="reminder", actor=None, now=shanghai)
    assert RequestEvent.objects.get(pk=second.pk).compute_hash() == second.hash
    assert verify_chain(service_request).ok


TAMPERING = [
    ("note", "Nothing was ever promised."),
    ("action", "withdraw"),
    ("from_status", "closed"),
    ("to_status", "rejected"),
    ("data", {"department": 999}),
    ("created_at", dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
    ("hash", "f" * 64),
    ("prev_hash", "1" * 64),
]


@pytest.mark.parametrize("field, value", TAMPERING, ids=[t[0] for t in TAMPERING])
@pytest.mark.parametrize("index", [0, 2, 4])
def test_an_update_that_bypasses_the_model_is_found(cast, api, history, field, value, index):
    service_request, events = history
    target = events[index]
    RequestEvent.objects.filter(pk=target.pk).update(**{field: value})
    check = verify_chain(service_request)
    assert not check.ok
    assert check.first_bad_event == target.pk
    assert verify_via_api(api, cast, service_request) == {
        "ok": False,
        "events": 5,
        "first_bad_event": target.pk,
        "state_matches": True,
        "checkpoint": None,
    }


def test_changing_the_actor_is_found(cast, history):
    service_request, events = history
    RequestEvent.objects.filter(pk=events[1].pk).update(actor=cast.ada)
    assert verify_chain(service_request).first_bad_event == events[1].pk


def test_raw_sql_tampering_is_found(cast, api, history):
    service_request, events = history
    table = connection.ops.quote_name(RequestEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET note = %s WHERE id = %s",
            ["Repaved (never happened).", events[3].pk],
        )
    assert verify_via_api(api, cast, service_request)["first_bad_event"] == events[3].pk


def test_a_forger_who_recomputes_the_hash_breaks_the_next_link(history):
    service_request, events = history
    forged = RequestEvent.objects.get(pk=events[1].pk)
    forged.note = "Assigned to nobody."
    RequestEvent.objects.filter(pk=forged.pk).update(note=forged.note, hash=forged.compute_hash())
    check = verify_chain(service_request)
    assert not check.ok
    assert check.first_bad_event == events[2].pk  # its prev_hash no longer matches


def test_a_forged_last_event_is_caught_by_the_timeline_head(history):
    service_request, events = history
    forged = RequestEvent.objects.get(pk=events[-1].pk)
    forged.note = "Rated 5, very happy."
    RequestEvent.objects.filter(pk=forged.pk).update(note=forged.note, hash=forged.compute_hash())
    check = verify_chain(service_request)
    assert not check.ok
    assert check.first_bad_event is None


def test_deleting_the_last_event_is_found(cast, api, history):
    service_request, events = history
    RequestEvent.objects.filter(pk=events[-1].pk).delete()  # bypasses the model's delete()
    assert verify_via_api(api, cast, service_request) == {
        "ok": False,
        "events": 4,
        "first_bad_event": None,
        # The deleted review closed the request: the row no longer matches the last event.
        "state_matches": False,
        "checkpoint": None,
    }


def test_deleting_the_last_events_is_found(history):
    service_request, events = history
    RequestEvent.objects.filter(pk__in=[e.pk for e in events[2:]]).delete()
    check = verify_chain(service_request)
    assert (check.ok, check.events) == (False, 2)


@pytest.mark.parametrize("index", [1, 2, 3])
def test_deleting_a_middle_event_is_found(cast, api, history, index):
    service_request, events = history
    RequestEvent.objects.filter(pk=events[index].pk).delete()
    assert verify_via_api(api, cast, service_request) == {
        "ok": False,
        "events": 4,
        "first_bad_event": events[index + 1].pk,
        "state_matches": True,
        "checkpoint": None,
    }


def test_deleting_the_first_event_is_found(history):
    service_request, events = history
    RequestEvent.objects.filter(pk=events[0].pk).delete()
    assert verify_chain(service_request).first_bad_event == events[1].pk


def test_deleting_every_event_is_found(history):
    service_request, _ = history
    RequestEvent.objects.filter(request=service_request).delete()
    check = verify_chain(service_request)
    assert (check.ok, check.events) == (False, 0)


def test_reordering_events_is_found(history):
    service_request, events = history
    RequestEvent.objects.filter(pk=events[3].pk).update(seq=99)
    RequestEvent.objects.filter(pk=events[2].pk).update(seq=4)
    RequestEvent.objects.filter(pk=events[3].pk).update(seq=3)
    assert verify_chain(service_request).first_bad_event == events[3].pk


def test_tampering_with_the_head_is_found(history):
    service_request, _ = history
    TimelineHead.objects.filter(request=service_request).update(hash="0" * 64)
    assert not verify_chain(service_request).ok


def test_one_request_s_tampering_does_not_taint_another(request_in):
    first = request_in("feedback")
    second = request_in("feedback")
    RequestEvent.objects.filter(request=first, seq=2).update(note="x")
    assert not verify_chain(first).ok
    assert verify_chain(second).ok


def test_the_chain_continues_after_every_kind_of_append(cast, api, request_in):
    """Workflow events, merge receipts, attachments and comments all extend one chain."""
    service_request = request_in("submitted")
    duplicate = request_in("submitted")
    client = api(cast.liam)
    assert (
        client.post(
            f"/api/v1/requests/{duplicate.pk}/merge/", {"into": service_request.pk}, format="json"
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"/api/v1/requests/{service_request.pk}/attachments/",
            {"file": SimpleUploadedFile("plan.txt", b"step one")},
            format="multipart",
        ).status_code
        == 201
    )
    client.post(f"/api/v1/requests/{service_request.pk}/comment/", {"text": "ok"}, format="json")
    events = list(service_request.events.order_by("seq"))
    assert [e.action for e in events] == [
        "submitted",
        "merge_received",
        "attachment_added",
        "comment",
    ]
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert verify_chain(service_request).ok
    assert verify_chain(duplicate).ok


HASHED_EVENTS = [
    # note, data, zone of now: what the sweep's batch hashing must encode exactly as event_hash does
    ("Remind the liaison", {"rule": 1, "clock": "assign", "cycle": 0}, dt.UTC),
    (
        '交办超期，提级“督办” "quoted" \\ back\nslash',
        {"due_at": "2026-10-08T01:00:00+00:00"},
        dt.UTC,
    ),
    ("", {"nested": {"b": [1, 2.5, None], "a": True}}, dt.timezone(dt.timedelta(hours=8))),
    ("tab\there, bell\x07, line\u2028separator, é", {"rule": 7, "note": "%s %d"}, dt.UTC),
]


@pytest.mark.parametrize("note, data, zone", HASHED_EVENTS)
def test_the_batch_hash_is_the_models_event_hash(note, data, zone):
    """append_many hashes from a template filled per batch; it must agree with event_hash,
    which verify_chain uses, for any note, data and time zone of `now`."""
    now = dt.datetime(2026, 10, 8, 9, 0, 0, 123456, tzinfo=zone)
    event = NewEvent(request_id=42, action="escalated", status="submitted", note=note, data=data)
    state = {"status": "submitted", "rating": None, "assign_due_at": 1_790_000_000_000_001}
    expected = event_hash(
        "f" * 64,
        key_id=current_key_id(),
        state=state,
        request_id=42,
        seq=7,
        action="escalated",
        actor_id=None,
        from_status="submitted",
        to_status="submitted",
        note=note,
        data=data,
        created_at=now,
    )
    canonical = BatchCanonical(now)
    assert canonical.digest("f" * 64, event, 7, canonical.data(event), state) == expected


DATABASE_HASHED = [
    # note, cycle, due time: what the database's hashing must encode exactly as event_hash does
    ("Remind the liaison", 0, dt.datetime(2026, 10, 8, 1, 0, tzinfo=dt.UTC)),
    (
        '交办超期，提级“督办” "quoted" \\ back\nslash 100% %s %1$s',
        3,
        dt.datetime(2026, 10, 8, 1, 0, 0, 5, tzinfo=dt.UTC),
    ),
    (
        "tab\there, bell\x07, line\u2028separator, é",
        12,
        dt.datetime(2027, 2, 1, 23, 59, 59, 999999, tzinfo=dt.UTC),
    ),
]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL): the sweep's firing statement builds the events",
)
@pytest.mark.parametrize("note, cycle, due", DATABASE_HASHED)
def test_events_appended_by_the_database_continue_the_chain(request_in, note, cycle, due):
    """The sweep's events are built by PostgreSQL (their data, the request's state) and sealed
    in Python: event_hash (verify_chain) must agree for any note, cycle and due time, with and
    without microseconds, and the head must move to the new event. The sweep's own firing
    statement appends it."""
    from django.db import transaction

    from requests_app import escalation
    from requests_app.models import Deadline, EscalationRule, ServiceRequest
    from requests_app.sweep import postgres

    service_request = request_in("submitted")
    rule = EscalationRule.objects.get(clock="assign", trigger="breach")
    rule.name = note  # the events' note
    rule.save(update_fields=["name"])
    # The request's own cycle and due time, read by the statement (the assign clock has one
    # cycle; the statement is told to read the reopenings so that any cycle is hashed).
    ServiceRequest.objects.filter(pk=service_request.pk).update(
        assign_due_at=due, reopen_count=cycle
    )
    Deadline.objects.filter(request=service_request, clock="assign").update(
        due_at=due, running=True, paused=False, stage=0
    )
    # After the submission (an event dated before the one it follows does not verify), with
    # microseconds, in Shanghai's offset.
    now = (service_request.submitted_at + dt.timedelta(days=1)).replace(microsecond=123456)
    now = now.astimezone(dt.timezone(dt.timedelta(hours=8)))
    pending = escalation.pending_in_database(rule, 0, due)
    arguments = escalation.fire_batch_args(rule, pending, [service_request.pk], now)
    with transaction.atomic(), connection.cursor() as cursor:
        fired = postgres.fire_batch(cursor, **{**arguments, "cycle_column": "reopen_count"})
    assert [row["pk"] for row in fired] == [service_request.pk]

    event = service_request.events.order_by("seq").last()
    assert (event.action, event.note, event.created_at) == ("escalated", note, now)
    expected = {"rule": rule.pk, "clock": "assign", "due_at": due.isoformat(), "cycle": cycle}
    assert event.data == expected
    assert event.hash == event.compute_hash()
    assert TimelineHead.objects.get(request=service_request).hash == event.hash
    assert verify_chain(service_request).ok
