"""The append-only, hash-chained timeline of a request: appending events and verifying the chain."""

from dataclasses import dataclass, field

from django.db import connection

from portal.bulk import insert_rows
from requests_app.models import (
    GENESIS_HASH,
    RequestEvent,
    ServiceRequest,
    TimelineHead,
    event_hash,
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


def append_many(events: list[NewEvent], now) -> None:
    """Append one system event (no actor) to each of many locked requests, set-based."""
    heads = dict(
        (pk, (seq, hash_))
        for pk, seq, hash_ in TimelineHead.objects.filter(
            request_id__any_of=[event.request_id for event in events]
        ).values_list("request_id", "seq", "hash")
    )
    rows, moved = [], []
    for event in events:
        last_seq, prev_hash = heads.get(event.request_id, (0, GENESIS_HASH))
        seq = last_seq + 1
        digest = event_hash(
            prev_hash,
            request_id=event.request_id,
            seq=seq,
            action=event.action,
            actor_id=None,
            from_status=event.status,
            to_status=event.status,
            note=event.note,
            data=event.data,
            created_at=now,
        )
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


def _move_heads(moved: list[tuple[int, int, str, bool]]) -> None:
    insert_rows(
        TimelineHead,
        ("request_id", "seq", "hash"),
        [(pk, seq, digest) for pk, seq, digest, existed in moved if not existed],
    )
    existing = [(pk, seq, digest) for pk, seq, digest, existed in moved if existed]
    if not existing:
        return
    table = connection.ops.quote_name(TimelineHead._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Array parameters: one statement, and no giant VALUES list to bind.
            ids, seqs, digests = (list(column) for column in zip(*existing, strict=True))
            cursor.execute(
                f"UPDATE {table} AS h SET seq = v.seq, hash = v.hash "
                "FROM unnest(%s::bigint[], %s::integer[], %s::varchar[]) AS v(id, seq, hash) "
                "WHERE h.request_id = v.id",
                [ids, seqs, digests],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET seq = %s, hash = %s WHERE request_id = %s",
                [(seq, digest, pk) for pk, seq, digest in existing],
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
