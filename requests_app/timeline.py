"""The append-only, hash-chained timeline of a request: appending events and verifying the chain."""

import datetime as dt
import hashlib
import inspect
from dataclasses import dataclass, field

from django.db import connection

from core.bulk import insert_rows
from requests_app.models import (
    CANONICAL,
    GENESIS_HASH,
    RequestEvent,
    ServiceRequest,
    TimelineHead,
    event_payload,
    hash_time,
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

    The sweep uses it off PostgreSQL; on PostgreSQL its firing statement appends the events
    itself (`requests_app.sweep.postgres.FIRE_BATCH`).

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


def slot(name: str) -> str:
    """A stand-in for a value filled in later, placed in a payload for `canonical_template`."""
    return f"\x00{name}\x00"  # encoded as "\u0000name\u0000": no real text can look like it


def canonical_template(value, placeholders: dict[str, str]) -> str:
    """`value` in the canonical form, each `slot(name)` in it replaced by `placeholders[name]`.

    Every other percent sign is doubled, so the result reads the same to Python's %-formatting
    (`%(name)s` placeholders) and to PostgreSQL's format() (`%1$s` placeholders). The value
    placed must be in canonical form already (a JSON text, a number, "null").
    """
    text = CANONICAL.encode(value).replace("%", "%%")
    for name, placeholder in placeholders.items():
        marker = CANONICAL.encode(slot(name))
        if text.count(marker) != 1:
            raise ValueError(f"{name!r} must be in the template exactly once")
        text = text.replace(marker, placeholder)
    return text


# The fields of `event_payload`, by the names its callers pass.
EVENT_FIELDS = tuple(inspect.signature(event_payload).parameters)


def event_template(*, placeholders: dict[str, str], constants: dict | None = None) -> str:
    """The canonical form of an event (`event_payload`, which `event_hash` encodes) with a
    placeholder for each field that varies and the value of each field that does not.

    The one template of the event hash: `BatchCanonical` fills it in Python, the sweep's
    firing statement (`requests_app.sweep.postgres`) in the database; test_timeline.py holds
    both to `event_hash`. `constants` are Python values (`created_at` as `hash_time` gives it).
    """
    constants = constants or {}
    if set(placeholders) | set(constants) != set(EVENT_FIELDS) or set(placeholders) & set(
        constants
    ):
        raise ValueError("every field of the event is either a placeholder or a constant")
    payload = event_payload(**{name: slot(name) for name in placeholders}, **constants)
    return canonical_template(payload, placeholders)


class BatchCanonical:
    """`event_hash` for a batch of system events, with the shared parts encoded once.

    A large sweep hashes 100,000 events; encoding each event's whole dictionary was most of
    its Python time. Here the time is formatted once, each distinct string (action, status,
    note) encoded once, and only `data` per event.
    """

    def __init__(self, now: dt.datetime):
        self._strings: dict[str, str] = {}
        # A system event: no actor; the batch's time.
        shared = {"actor_id": None, "created_at": hash_time(now)}
        self._template = event_template(
            placeholders={name: f"%({name})s" for name in EVENT_FIELDS if name not in shared},
            constants=shared,
        )

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
        canonical = self._template % {
            "request_id": int(event.request_id),
            "seq": int(seq),
            "action": self.text(event.action),
            "from_status": status,
            "to_status": status,
            "note": self.text(event.note),
            "data": data,
        }
        return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


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
