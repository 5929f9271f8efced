"""The append-only, hash-chained timeline of a request: appending events and verifying the chain."""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from django.db import connection

from core.bulk import insert_rows
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

    The sweep uses it on SQLite; on PostgreSQL its firing statement appends the events itself
    (`append_in_database`).

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
    canonical = BatchCanonical(now)
    rows, moved = [], []
    for event in events:
        last_seq, prev_hash = heads.get(event.request_id, (0, GENESIS_HASH))
        seq = last_seq + 1
        data = canonical.data(event)
        digest = canonical.digest(prev_hash, event, seq, data)
        rows.append(
            (
                event.request_id,
                seq,
                event.action,
                None,
                event.status,
                event.status,
                event.note,
                data,  # JSON text, as hashed: encoded once for both
                now,
                prev_hash,
                digest,
            )
        )
        moved.append((event.request_id, seq, digest, event.request_id in heads))
    insert_rows(RequestEvent, _EVENT_COLUMNS, rows)
    _move_heads(moved)


# The canonical form of `event_hash` (compact JSON, sorted keys, UTF-8 as is).
CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
# Its keys in sorted order, for a system event (no actor). test_timeline.py holds the digests
# made from this template equal to event_hash, for any note, data and time zone.
_TEMPLATE = (
    '{"action":%s,"actor":null,"created_at":%s,"data":%s,"from":%s,"note":%s,'
    '"request":%d,"seq":%d,"to":%s}'
)


class BatchCanonical:
    """`event_hash` for a batch of system events, with the shared parts encoded once.

    A large sweep hashes 100,000 events; encoding each event's whole dictionary was most of
    its Python time. Here the time is formatted once, each distinct string (action, status,
    note) encoded once, and only `data` per event.
    """

    def __init__(self, now: dt.datetime):
        self._strings: dict[str, str] = {}
        self.created_at = self.text(_hash_time(now))

    def text(self, value: str) -> str:
        """A string as the canonical form encodes it."""
        encoded = self._strings.get(value)
        if encoded is None:
            encoded = self._strings[value] = CANONICAL.encode(value)
        return encoded

    def data(self, event: NewEvent) -> str:
        return CANONICAL.encode(event.data)

    def digest(self, prev_hash: str, event: NewEvent, seq: int, data: str) -> str:
        status = self.text(event.status)
        canonical = _TEMPLATE % (
            self.text(event.action),
            self.created_at,
            data,
            status,
            self.text(event.note),
            event.request_id,
            seq,
            status,
        )
        return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def append_in_database(source: str, *, action: str, note: str, now) -> tuple[str, list]:
    """PostgreSQL: common table expressions that append one system event to each request of
    `source` and move its head, for a statement that already holds the requests' locks.

    `source` names an earlier CTE with the columns `request_id`, `status` and `data` (the
    event's data as canonical JSON text, see `BatchCanonical.data`). The events are hashed
    by the database, from the same canonical form: the parts shared by the batch are encoded
    here, the rest filled in by format(); test_timeline.py holds the result to event_hash.
    A large sweep thus sends and receives no event at all. Adds the CTE `appended`
    (request_id, seq, hash). Returns the SQL, which starts with a comma, and its parameters.
    """
    canonical = BatchCanonical(now)
    shared = {  # format() reads "%": the encoded texts' own percent signs are doubled
        name: text.replace("%", "%%")
        for name, text in (
            ("action", canonical.text(action)),
            ("note", canonical.text(note)),
            ("created_at", canonical.created_at),
        )
    }
    template = _TEMPLATE.replace("%d", "%s") % (
        shared["action"],
        shared["created_at"],
        "%2$s",
        "%1$s",
        shared["note"],
        "%3$s",
        "%4$s",
        "%1$s",
    )
    heads, events = TimelineHead._meta.db_table, RequestEvent._meta.db_table
    sql = f"""
        , chain AS (
            SELECT s.request_id, s.status, s.data,
                   COALESCE(h.seq, 0) + 1 AS seq, COALESCE(h.hash, %s) AS prev_hash,
                   h.request_id IS NOT NULL AS had_head
            FROM {source} AS s LEFT JOIN {heads} AS h
                ON h.request_id = s.request_id
                -- The batch's heads by their index, whatever the planner expects of `source`:
                -- a misjudged join would read every head.
                AND h.request_id = ANY(ARRAY(SELECT request_id FROM {source}))
        ),
        appended AS (
            INSERT INTO {events} ({", ".join(_EVENT_COLUMNS)})
            SELECT request_id, seq, %s, NULL, status, status, %s, data::jsonb, %s, prev_hash,
                   encode(sha256(convert_to(
                       prev_hash || format(%s, to_json(status)::text, data, request_id, seq),
                       'UTF8'
                   )), 'hex')
            FROM chain
            RETURNING request_id, seq, hash
        ),
        moved AS (
            UPDATE {heads} AS h SET seq = a.seq, hash = a.hash
            FROM appended AS a
            WHERE h.request_id = a.request_id
              AND h.request_id = ANY(ARRAY(SELECT request_id FROM chain WHERE had_head))
        ),
        born AS (
            INSERT INTO {heads} (request_id, seq, hash)
            SELECT a.request_id, a.seq, a.hash
            FROM appended AS a JOIN chain AS c ON c.request_id = a.request_id
            WHERE NOT c.had_head
        )
    """
    return sql, [GENESIS_HASH, action, note, now, template]


def _hash_time(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _move_heads(moved: list[tuple[int, int, str, bool]]) -> None:
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
