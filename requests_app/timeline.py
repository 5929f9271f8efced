"""The append-only, hash-chained timeline of a request: appending events and verifying the chain."""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from django.db import connection

from portal.bulk import insert_rows, int_array
from requests_app.models import (
    GENESIS_HASH,
    RequestEvent,
    ServiceRequest,
    TimelineHead,
)


def append_event(
    request: ServiceRequest,
    *,
    action: str,
    actor,
    now,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    data: dict | None = None,
) -> RequestEvent:
    """Append one event. The caller holds the request row lock, so `seq` cannot race."""
    head = TimelineHead.objects.filter(request_id=request.pk).values_list("seq", "hash").first()
    seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    event = RequestEvent(
        request=request,
        seq=seq,
        action=action,
        actor=actor,
        from_status=from_status,
        to_status=to_status or from_status,
        note=note,
        data=data or {},
        created_at=now,
        prev_hash=prev_hash,
    )
    event.hash = event.compute_hash()
    event.save()
    if head:
        TimelineHead.objects.filter(request_id=request.pk).update(seq=seq, hash=event.hash)
    else:
        TimelineHead.objects.create(request_id=request.pk, seq=seq, hash=event.hash)
    return event


@dataclass
class NewEvent:
    """An event for `append_many`: one per request, for requests the caller has locked."""

    request_id: int
    action: str
    status: str
    note: str = ""
    data: dict = field(default_factory=dict)


_EVENT_COLUMNS = (
    "request_id",
    "seq",
    "action",
    "actor_id",
    "from_status",
    "to_status",
    "note",
    "data",
    "created_at",
    "prev_hash",
    "hash",
)


def append_many(
    events: list[NewEvent], now, heads: dict[int, tuple[int, str]] | None = None
) -> None:
    """Append one system event (no actor) to each of many locked requests, set-based.

    `heads` (request id -> seq, hash of its newest event), when the caller already read them
    under the lock; a request missing from it starts its chain.
    """
    if heads is None:
        heads = dict(
            (pk, (seq, hash_))
            for pk, seq, hash_ in TimelineHead.objects.filter(
                request_id__any_of=[event.request_id for event in events]
            ).values_list("request_id", "seq", "hash")
        )
    created_at = _hash_time(now)
    rows, moved = [], []
    for event in events:
        last_seq, prev_hash = heads.get(event.request_id, (0, GENESIS_HASH))
        seq = last_seq + 1
        digest = _digest(prev_hash, event, seq, created_at)
        rows.append(
            (
                event.request_id,
                seq,
                event.action,
                None,
                event.status,
                event.status,
                event.note,
                event.data,
                now,
                prev_hash,
                digest,
            )
        )
        moved.append((event.request_id, seq, digest, event.request_id in heads))
    insert_rows(RequestEvent, _EVENT_COLUMNS, rows)
    _move_heads(moved)


# The canonical form of `event_hash`, with what is the same for every event of a batch worked
# out once: one encoder, and `now` formatted once. test_timeline.py holds the two together.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _hash_time(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _digest(prev_hash: str, event: NewEvent, seq: int, created_at: str) -> str:
    canonical = _CANONICAL.encode(
        {
            "request": event.request_id,
            "seq": seq,
            "action": event.action,
            "actor": None,
            "from": event.status,
            "to": event.status,
            "note": event.note,
            "data": event.data,
            "created_at": created_at,
        }
    )
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _move_heads(moved: list[tuple[int, int, str, bool]]) -> None:
    if connection.vendor == "postgresql":
        _move_heads_to_new_events(moved)
        return
    insert_rows(
        TimelineHead,
        ("request_id", "seq", "hash"),
        [(pk, seq, digest) for pk, seq, digest, existed in moved if not existed],
    )
    table = connection.ops.quote_name(TimelineHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET seq = %s, hash = %s WHERE request_id = %s",
            [(seq, digest, pk) for pk, seq, digest, existed in moved if existed],
        )


def _move_heads_to_new_events(moved: list[tuple[int, int, str, bool]]) -> None:
    # PostgreSQL: each head takes the hash from the event just inserted, found by its unique
    # (request, seq); only integers are bound, as 5,000 bound strings cost more than the join.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {TimelineHead._meta.db_table} (request_id, seq, hash)
            SELECT e.request_id, e.seq, e.hash
            FROM unnest(%s::bigint[], %s::integer[]) AS v(request_id, seq)
            JOIN {RequestEvent._meta.db_table} AS e
                ON e.request_id = v.request_id AND e.seq = v.seq
            ON CONFLICT (request_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash
            """,
            [int_array(pk for pk, *_ in moved), int_array(seq for _, seq, *_ in moved)],
        )


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_event: int | None


def verify_chain(request: ServiceRequest) -> ChainCheck:
    """Recompute every hash; name the first event that was altered, reordered or follows a gap."""
    prev_hash = GENESIS_HASH
    count = 0
    for expected_seq, event in enumerate(
        RequestEvent.objects.filter(request=request).order_by("seq", "id").iterator(), start=1
    ):
        count += 1
        if (
            event.seq != expected_seq
            or event.prev_hash != prev_hash
            or event.hash != event.compute_hash()
        ):
            return ChainCheck(ok=False, events=_count(request), first_bad_event=event.pk)
        prev_hash = event.hash
    head = TimelineHead.objects.filter(request_id=request.pk).values_list("hash", flat=True).first()
    if count == 0 or prev_hash != head:
        # Every request is born with an event, and the newest hash is kept beside the request:
        # a missing tail shows up here even though the remaining chain is intact.
        return ChainCheck(ok=False, events=count, first_bad_event=None)
    return ChainCheck(ok=True, events=count, first_bad_event=None)


def _count(request: ServiceRequest) -> int:
    return RequestEvent.objects.filter(request=request).count()
