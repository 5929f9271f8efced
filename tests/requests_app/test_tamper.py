"""Tamper evidence (issue 13): what an insider with the database can change, and that `verify`
names each change; the keys, their rotation, the signed checkpoints and the nightly check.

The matrix runs on any database; run it on PostgreSQL (DATABASE_URL) as the issue asks. Raw SQL
stands for the insider: it goes around the model's append-only guard.
"""

import base64
import datetime as dt
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from notifications.models import Kind, Notification
from requests_app import checkpoints
from requests_app.checkpoints import verify_chain
from requests_app.models import (
    GENESIS_HASH,
    RequestEvent,
    ServiceRequest,
    TimelineHead,
    event_message,
)
from requests_app.timeline import append_event
from tests.portal.test_security import PRODUCTION_ENV, _manage

pytestmark = pytest.mark.django_db

EVENTS = connection.ops.quote_name(RequestEvent._meta.db_table)
HEADS = connection.ops.quote_name(TimelineHead._meta.db_table)
REQUESTS = connection.ops.quote_name(ServiceRequest._meta.db_table)
OLD_KEY = "old:" + "o" * 40
NEW_KEY = "new:" + "n" * 40


@pytest.fixture(autouse=True)
def _own_checkpoints(settings, tmp_path):
    """Each test its own checkpoint folder (ids are reused between tests), and English words."""
    settings.CHECKPOINT_DIR = tmp_path / "checkpoints"
    with translation.override("en"):
        yield


def raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def history(request_in):
    """A closed, rated request with five events: submitted, assign, start, feedback, review."""
    service_request = request_in("closed")
    events = list(service_request.events.order_by("seq"))
    assert [e.action for e in events] == ["submitted", "assign", "start", "feedback", "review"]
    assert service_request.rating is not None
    return service_request, events


def said(service_request) -> list[str]:
    """What verification says, in English (an API call leaves its own language active)."""
    with translation.override("en"):
        return verify_chain(service_request).messages


def verify(api, cast, service_request) -> dict:
    response = api(cast.ivan).get(f"/api/v1/requests/{service_request.pk}/verify/")
    assert response.status_code == 200
    return response.json()


def test_an_intact_history_verifies(cast, api, history):
    service_request, _ = history
    assert verify(api, cast, service_request) == {
        "ok": True,
        "events": 5,
        "first_bad_event": None,
        "state_matches": True,
        "checkpoint": None,
    }


# --- the matrix --------------------------------------------------------------------------------


def test_an_event_s_note_changed(cast, api, history):
    service_request, events = history
    raw(f"UPDATE {EVENTS} SET note = %s WHERE id = %s", ["Never promised.", events[2].pk])
    result = verify(api, cast, service_request)
    assert (result["ok"], result["first_bad_event"]) == (False, events[2].pk)
    assert said(service_request) == ["Event #3's content was changed."]


def test_an_event_deleted(cast, api, history):
    service_request, events = history
    raw(f"DELETE FROM {EVENTS} WHERE id = %s", [events[1].pk])
    result = verify(api, cast, service_request)
    assert (result["ok"], result["events"], result["first_bad_event"]) == (False, 4, events[2].pk)
    assert said(service_request) == ["Events are missing before event #3 (from #2 on)."]


def test_events_reordered(cast, api, history):
    service_request, events = history
    raw(f"UPDATE {EVENTS} SET seq = 99 WHERE id = %s", [events[3].pk])
    raw(f"UPDATE {EVENTS} SET seq = 4 WHERE id = %s", [events[2].pk])
    raw(f"UPDATE {EVENTS} SET seq = 3 WHERE id = %s", [events[3].pk])
    result = verify(api, cast, service_request)
    assert (result["ok"], result["first_bad_event"]) == (False, events[3].pk)
    assert said(service_request) == ["Event #3's content was changed."]


def test_an_event_backdated_in_the_row(cast, api, history):
    service_request, events = history
    earlier = events[2].created_at - dt.timedelta(days=3)
    raw(f"UPDATE {EVENTS} SET created_at = %s WHERE id = %s", [earlier, events[2].pk])
    result = verify(api, cast, service_request)
    assert (result["ok"], result["first_bad_event"]) == (False, events[2].pk)


def test_an_event_put_in_with_an_earlier_date(cast, api, history):
    """Even sealed with the portal's key, an event dated before the one it follows is named."""
    service_request, events = history
    earlier = events[-1].created_at - dt.timedelta(days=2)
    forged = append_event(service_request, action="comment", actor=cast.hank, now=earlier)
    result = verify(api, cast, service_request)
    assert (result["ok"], result["first_bad_event"]) == (False, forged.pk)
    assert said(service_request) == ["Event #6 is dated before the event it follows."]


def test_a_clock_a_little_behind_is_not_backdating(cast, history):
    """A sweep stamps its batch with its start; web processes' clocks differ by a little."""
    service_request, events = history
    skewed = events[-1].created_at - dt.timedelta(minutes=2)
    append_event(service_request, action="comment", actor=cast.hank, now=skewed)
    assert verify_chain(service_request).ok


def test_the_head_changed(cast, api, history):
    service_request, _ = history
    TimelineHead.objects.filter(request=service_request).update(hash="0" * 64)
    result = verify(api, cast, service_request)
    assert (result["ok"], result["first_bad_event"]) == (False, None)
    assert said(service_request) == ["The head does not match event #5."]


def test_the_head_moved_forward_says_events_are_missing(history):
    service_request, _ = history
    TimelineHead.objects.filter(request=service_request).update(seq=7)
    assert said(service_request) == ["Events after #5 are missing (the head says 7)."]


def test_the_head_moved_back_is_not_called_missing_events(history):
    service_request, events = history
    TimelineHead.objects.filter(request=service_request).update(seq=4, hash=events[3].hash)
    assert said(service_request) == [
        "The head was moved back: it says #4, but the chain goes on to #5."
    ]


def test_the_last_event_deleted_and_the_head_moved_back(cast, api, history):
    """The chain that remains is whole; the row still says what the deleted event did."""
    service_request, events = history
    raw(f"DELETE FROM {EVENTS} WHERE id = %s", [events[-1].pk])
    raw(
        f"UPDATE {HEADS} SET seq = 4, hash = %s WHERE request_id = %s",
        [events[3].hash, service_request.pk],
    )
    result = verify(api, cast, service_request)
    assert result == {
        "ok": False,
        "events": 4,
        "first_bad_event": None,
        "state_matches": False,
        "checkpoint": None,
    }
    found = said(service_request)
    assert "The row's status differs from the last event (#4)." in found
    assert "The row's rating differs from the last event (#4)." in found


def test_a_silent_last_event_deleted_after_a_checkpoint(cast, api, history):
    """A comment changes no state: only the checkpoint remembers it."""
    service_request, events = history
    comment = append_event(
        service_request, action="comment", actor=cast.hank, now=events[-1].created_at
    )
    record = checkpoints.create()
    raw(f"DELETE FROM {EVENTS} WHERE id = %s", [comment.pk])
    raw(
        f"UPDATE {HEADS} SET seq = 5, hash = %s WHERE request_id = %s",
        [events[-1].hash, service_request.pk],
    )
    result = verify(api, cast, service_request)
    assert result["ok"] is False
    assert result["state_matches"] is True
    assert result["checkpoint"]["ok"] is False
    assert dt.datetime.fromisoformat(result["checkpoint"]["at"]) == checkpoints.at_of(record)
    (message,) = said(service_request)
    assert message.startswith("The chain does not match the checkpoint of ")


def _recompute_publicly(service_request, from_seq: int, key_id: str | None = None) -> None:
    """What an insider can do with the source code and without the key: plain SHA-256 down
    the chain from `from_seq`, and the head moved to the end."""
    prev_hash = GENESIS_HASH
    for event in RequestEvent.objects.filter(request=service_request).order_by("seq"):
        if event.seq >= from_seq:
            event.prev_hash = prev_hash
            event.hash = hashlib.sha256(
                event_message(prev_hash, **event.hashed_fields())
            ).hexdigest()
            RequestEvent.objects.filter(pk=event.pk).update(
                prev_hash=event.prev_hash,
                hash=event.hash,
                key_id=event.key_id if key_id is None else key_id,
            )
        prev_hash = event.hash
    TimelineHead.objects.filter(request=service_request).update(hash=prev_hash)


@pytest.mark.parametrize("key_id", [None, ""], ids=["key id kept", "key id cleared"])
def test_the_chain_recomputed_without_the_key(cast, api, history, key_id):
    service_request, events = history
    raw(f"UPDATE {EVENTS} SET note = %s WHERE id = %s", ["Never promised.", events[1].pk])
    _recompute_publicly(service_request, from_seq=2, key_id=key_id)
    result = verify(api, cast, service_request)
    assert (result["ok"], result["first_bad_event"]) == (False, events[1].pk)
    assert said(service_request) == [
        "Event #2 was recomputed without the portal's key: its hash is a plain SHA-256."
    ]


def test_the_chain_recomputed_with_another_key(settings, cast, api, history):
    """An insider's own key under the portal's key id seals nothing the portal accepts."""
    service_request, events = history
    real = settings.TIMELINE_KEYS
    key_id = events[0].key_id
    settings.TIMELINE_KEYS = f"{key_id}:" + "x" * 40
    raw(f"UPDATE {EVENTS} SET note = %s WHERE id = %s", ["Never promised.", events[1].pk])
    prev_hash = events[0].hash
    for event in RequestEvent.objects.filter(request=service_request, seq__gte=2).order_by("seq"):
        event.prev_hash = prev_hash
        event.hash = event.compute_hash()
        RequestEvent.objects.filter(pk=event.pk).update(prev_hash=prev_hash, hash=event.hash)
        prev_hash = event.hash
    TimelineHead.objects.filter(request=service_request).update(hash=prev_hash)
    settings.TIMELINE_KEYS = real
    result = verify(api, cast, service_request)
    assert (result["ok"], result["first_bad_event"]) == (False, events[1].pk)
    assert said(service_request) == ["Event #2's content was changed."]


@pytest.mark.parametrize(
    "column, value, words",
    [
        ("rating", 5, "rating"),
        ("status", "rejected", "status"),
        ("answer_due_at", dt.datetime(2030, 1, 1, tzinfo=dt.UTC), "answer due time"),
        ("reopen_count", 3, "reopen count"),
    ],
)
def test_the_request_row_changed(cast, api, history, column, value, words):
    service_request, _ = history
    if column == "rating":
        value = 1 if service_request.rating == 5 else 5
    raw(f"UPDATE {REQUESTS} SET {column} = %s WHERE id = %s", [value, service_request.pk])
    assert verify(api, cast, service_request) == {
        "ok": False,
        "events": 5,
        "first_bad_event": None,
        "state_matches": False,
        "checkpoint": None,
    }
    assert said(service_request) == [f"The row's {words} differs from the last event (#5)."]


def test_a_whole_history_replaced_after_a_checkpoint(cast, api, history):
    """An insider who also holds the timeline key rewrites and re-seals every event: the chain
    and the row agree, but the signed checkpoint outside the database does not."""
    service_request, events = history
    record = checkpoints.create()
    raw(f"DELETE FROM {EVENTS} WHERE request_id = %s", [service_request.pk])
    raw(f"DELETE FROM {HEADS} WHERE request_id = %s", [service_request.pk])
    for event in events:
        append_event(
            service_request,
            action=event.action,
            actor=event.actor,
            now=event.created_at,
            from_status=event.from_status,
            to_status=event.to_status,
            note="Handled promptly and politely.",
            data=event.data,
        )
    result = verify(api, cast, service_request)
    assert result["ok"] is False
    assert (result["events"], result["first_bad_event"], result["state_matches"]) == (5, None, True)
    assert result["checkpoint"]["ok"] is False
    (message,) = said(service_request)
    assert message.startswith("The chain does not match the checkpoint of ")
    assert checkpoints.at_of(record) == dt.datetime.fromisoformat(result["checkpoint"]["at"])


def test_a_chain_that_holds_its_checkpoint(cast, api, history):
    service_request, events = history
    checkpoints.create()
    append_event(service_request, action="comment", actor=cast.hank, now=events[-1].created_at)
    result = verify(api, cast, service_request)
    assert result["ok"] is True
    assert result["checkpoint"]["ok"] is True


def test_a_request_newer_than_the_checkpoint_is_not_covered(cast, api, request_in):
    checkpoints.create()
    assert verify(api, cast, request_in("submitted"))["checkpoint"] is None


def test_a_forged_checkpoint_line_is_not_trusted(cast, api, history):
    service_request, _ = history
    checkpoints.create()
    log = checkpoints.folder() / checkpoints.LOG_NAME
    line = json.loads(log.read_text().splitlines()[-1])
    line["requests"] += 1
    log.write_text(json.dumps(line) + "\n")
    result = verify(api, cast, service_request)
    assert (result["ok"], result["checkpoint"]["ok"]) == (False, False)
    (message,) = said(service_request)
    assert "does not carry the portal's signature" in message


# --- keys ----------------------------------------------------------------------------------------


def test_keys_rotate_and_old_events_verify_with_theirs(settings, cast, request_in):
    settings.TIMELINE_KEYS = OLD_KEY
    service_request = request_in("assigned")
    assert set(service_request.events.values_list("key_id", flat=True)) == {"old"}
    settings.TIMELINE_KEYS = f"{OLD_KEY},{NEW_KEY}"  # the last one seals from now on
    later = service_request.events.order_by("seq").last().created_at + dt.timedelta(hours=1)
    event = append_event(service_request, action="comment", actor=cast.hank, now=later)
    assert event.key_id == "new"
    assert verify_chain(service_request).ok
    settings.TIMELINE_KEYS = NEW_KEY  # the old key dropped: its events can no longer verify
    assert said(service_request) == [
        "Event #1 is sealed with a key the portal does not hold (key id “old”)."
    ]


def test_the_sweep_seals_its_events_and_records_the_state(settings, request_in):
    """append_many (the sweep's path) seals with the current key and records each row's state."""
    from requests_app.timeline import NewEvent, append_many

    settings.TIMELINE_KEYS = f"{OLD_KEY},{NEW_KEY}"
    service_request = request_in("closed")
    later = service_request.events.order_by("seq").last().created_at + dt.timedelta(minutes=5)
    append_many([NewEvent(service_request.pk, "reminder", service_request.status)], later)
    last = service_request.events.order_by("seq").last()
    assert (last.seq, last.key_id) == (6, "new")
    assert last.state["rating"] == service_request.rating
    assert verify_chain(service_request).ok


@pytest.mark.parametrize(
    "missing, message",
    [
        ("QINQING_TIMELINE_KEY", "QINQING_TIMELINE_KEY (or _FILE) must be set in production"),
        ("QINQING_CHECKPOINT_KEY", "QINQING_CHECKPOINT_KEY (or _FILE) must be set in production"),
    ],
)
def test_production_refuses_to_start_without_the_keys(missing, message):
    result = _manage("check", **{**PRODUCTION_ENV, missing: ""})
    assert result.returncode != 0
    assert message in result.stderr


def test_a_key_file_is_read(tmp_path):
    key_file = tmp_path / "timeline.key"
    key_file.write_text("k9:" + "z" * 40 + "\n")
    env = {**PRODUCTION_ENV, "QINQING_TIMELINE_KEY": "", "QINQING_TIMELINE_KEY_FILE": str(key_file)}
    result = _manage("check", **env)
    assert result.returncode == 0, result.stderr


# --- checkpoints ---------------------------------------------------------------------------------


def _reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962's Merkle tree hash, written out recursively."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    left, right = _reference_root(leaves[:split]), _reference_root(leaves[split:])
    return hashlib.sha256(b"\x01" + left + right).digest()


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 8, 13])
def test_the_streamed_merkle_root_is_rfc_6962(count):
    leaves = [checkpoints.leaf_hash(k, k + 1, f"{k:064x}") for k in range(count)]
    tree = checkpoints.MerkleRoot()
    for leaf in leaves:
        tree.add(leaf)
    assert tree.hexdigest() == _reference_root(leaves).hex()


def test_the_checkpoint_is_written_outside_the_database_and_verifies(cast, api, request_in):
    first, second = request_in("submitted"), request_in("closed")
    call_command("checkpoint")
    lines = (checkpoints.folder() / checkpoints.LOG_NAME).read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["requests"] == 2
    # The heads file lists each head; its Merkle root is the signed one.
    heads = (checkpoints.folder() / "heads" / "000001.txt").read_text().split("\n")[:-1]
    assert [int(line.split()[0]) for line in heads] == [first.pk, second.pk]
    tree = checkpoints.MerkleRoot()
    for line in heads:
        request_id, seq, head_hash = line.split()
        assert TimelineHead.objects.get(request_id=int(request_id)).hash == head_hash
        tree.add(checkpoints.leaf_hash(int(request_id), int(seq), head_hash))
    assert tree.hexdigest() == record["root"]
    # Anyone with the public key (printed for inspectors) checks the signature.
    from io import StringIO

    out = StringIO()
    call_command("checkpoint", "--public-key", stdout=out)
    raw_key = out.getvalue().rsplit("raw (base64): ", 1)[1].strip()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(raw_key))
    signed = {name: record[name] for name in checkpoints.SIGNED_FIELDS}
    message = json.dumps(signed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    public.verify(base64.b64decode(record["signature"]), message.encode())  # raises if forged
    # A second checkpoint is appended, linked to the first; the log is never rewritten.
    call_command("checkpoint")
    lines_after = (checkpoints.folder() / checkpoints.LOG_NAME).read_text().splitlines()
    assert lines_after[0] == lines[0]
    assert json.loads(lines_after[1])["previous"] == hashlib.sha256(lines[0].encode()).hexdigest()
    # The listing, newest first, for inspectors only.
    response = api(cast.ivan).get("/api/v1/timeline/checkpoints/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    newest = body["results"][0]
    assert {"id", "at", "requests", "root", "signature"} <= set(newest)
    assert (newest["id"], newest["requests"], newest["signature_ok"]) == (2, 2, True)
    assert api(cast.alice).get("/api/v1/timeline/checkpoints/").status_code == 403
    assert api(None).get("/api/v1/timeline/checkpoints/").status_code in (401, 403)


# --- the nightly check ---------------------------------------------------------------------------


def _alerts(user) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind=Kind.TIMELINE_TAMPERED))


def test_verify_timelines_alerts_the_region_s_inspectors_once(cast, request_in):
    tampered, intact = request_in("closed"), request_in("feedback")
    cast.ivan.language = "en"  # each inspector is told in their own language
    cast.ivan.save(update_fields=["language"])
    call_command("checkpoint")
    call_command("verify_timelines")  # all intact: nothing to say
    assert _alerts(cast.ivan) == []
    raw(
        f"UPDATE {REQUESTS} SET rating = %s WHERE id = %s",
        [5 if tampered.rating != 5 else 1, tampered.pk],
    )
    with pytest.raises(CommandError):
        call_command("verify_timelines", "--batch-size", "1")
    (alert,) = _alerts(cast.ivan)  # ivan answers for the whole city, acme's region with it
    assert tampered.reference in alert.subject
    assert "The row's rating differs from the last event (#5)." in alert.body
    assert _alerts(cast.irene) == []  # Minhou's inspector: not acme's region
    with pytest.raises(CommandError):
        call_command("verify_timelines")
    assert len(_alerts(cast.ivan)) == 1  # told once
    # A new finding about the same request is news.
    first = tampered.events.order_by("seq").first()
    raw(f"UPDATE {EVENTS} SET note = %s WHERE id = %s", ["x", first.pk])
    with pytest.raises(CommandError):
        call_command("verify_timelines")
    assert len(_alerts(cast.ivan)) == 2
    assert all(str(intact.reference) not in a.subject for a in _alerts(cast.ivan))


def test_verify_timelines_finds_a_rewritten_checkpoint_file(request_in):
    request_in("submitted")
    call_command("checkpoint")
    heads = checkpoints.folder() / "heads" / "000001.txt"
    text = heads.read_text()
    heads.write_text(text[:-2] + ("1" if text[-2] == "0" else "0") + "\n")  # a head's hash
    _failures, gone, problems = checkpoints.verify_all()
    assert problems == ["checkpoint 1: its heads file differs from what was signed"]
    assert gone == []


def test_every_history_the_demo_writes_verifies(db):
    """The demo replays months of work (workflow, sweeps, reports): no false alarm at night."""
    import io

    import time_machine

    from tests.conftest import at

    with time_machine.travel(at("2026-11-21 10:00"), tick=False):
        call_command("seed_demo", requests=40, stdout=io.StringIO())
    failures, gone, problems = checkpoints.verify_all(batch_size=100)
    assert [(f.reference, f.check.messages) for f in failures] == []
    assert (gone, problems) == ([], [])
    assert ServiceRequest.objects.count() > 40


def _make_legacy(service_request) -> None:
    """The request's chain as it was before the keys: unkeyed SHA-256, no state."""
    from requests_app.models import CANONICAL, event_payload, hash_time

    prev_hash = GENESIS_HASH
    for event in RequestEvent.objects.filter(request=service_request).order_by("seq"):
        fields = {**event.hashed_fields(), "created_at": hash_time(event.created_at)}
        payload = event_payload(**{**fields, "state": None})
        del payload["state"]
        digest = hashlib.sha256(prev_hash.encode() + CANONICAL.encode(payload).encode()).hexdigest()
        RequestEvent.objects.filter(pk=event.pk).update(
            prev_hash=prev_hash, hash=digest, key_id="", state=None
        )
        prev_hash = digest
    TimelineHead.objects.filter(request=service_request).update(hash=prev_hash)


def test_the_migration_seals_intact_legacy_chains_and_only_those(request_in):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("requests_app.migrations.0013_sealed_timeline")
    intact, broken = request_in("closed"), request_in("feedback")
    _make_legacy(intact)
    _make_legacy(broken)
    raw(f"UPDATE {EVENTS} SET note = %s WHERE request_id = %s AND seq = 2", ["x", broken.pk])
    assert said(intact) == [
        "Event #1 was recomputed without the portal's key: its hash is a plain SHA-256.",
        "The last event (#5) records no state to compare the row with.",
    ]
    migration.seal_existing_chains(apps, None)
    assert verify_chain(intact).ok
    assert set(intact.events.values_list("key_id", flat=True)) == {"dev"}
    check = verify_chain(broken)
    assert (check.ok, check.first_bad_event) == (False, broken.events.get(seq=1).pk)
    assert set(broken.events.values_list("key_id", flat=True)) == {""}


def test_every_finding_is_translated():
    from requests_app.timeline import _MESSAGES, STATE_LABELS, Finding

    with translation.override("zh-hans"):
        for code in _MESSAGES:
            other = dt.datetime(2026, 12, 1, tzinfo=dt.UTC) if "checkpoint" in code else "rating"
            text = Finding(code, 3, other).message
            assert "Event" not in text and "The " not in text, (code, text)
        assert all(str(label) != key for key, label in STATE_LABELS.items())
