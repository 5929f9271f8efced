"""The append-only, keyed hash chain of a request's timeline: appending events and verifying
the chain, the request's row against its last event, and the chain against the latest signed
checkpoint (requests_app.checkpoints)."""

import datetime as dt
import hmac
import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import formats, timezone
from django.utils.translation import gettext_lazy

from core.bulk import insert_rows, update_rows
from requests_app import sealing
from requests_app.models import (
    CANONICAL,
    GENESIS_HASH,
    STATE_COLUMNS,
    RequestEvent,
    ServiceRequest,
    TimelineHead,
    event_payload,
    hash_time,
    request_state,
    unkeyed_hashes,
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
    """Append one event. The caller holds the request row lock, so `seq` cannot race.

    The event records `request`'s state (STATE_COLUMNS) as the caller holds it, saved: every
    caller saves its changes before it appends (the row is not read again: a transition reads
    it once). `checkpoints.verify_chain` compares the row with the last event's state.
    """
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
        key_id=sealing.current_key_id(),
        state=request_state(request),
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
    data: dict | str = field(default_factory=dict)  # str: already in canonical form (the sweep)


# The columns an appended event is written with (the benchmarks write the same).
EVENT_COLUMNS = (
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
    "key_id",
    "state",
)


def append_many(
    events: list[NewEvent],
    now,
    heads: dict[int, tuple[int, str]] | None = None,
    states: dict[int, dict] | None = None,
) -> None:
    """Append one system event (no actor) to each of many locked requests, set-based.

    The sweep uses it on every database; on PostgreSQL its firing statement reads the heads
    and states and builds the events' data, and the hashes are taken here: the key never
    reaches the database (`requests_app.sweep.postgres.fire_batch`).

    `heads` (request id -> seq, hash of its newest event), when the caller already read them
    under the lock; a request missing from it starts its chain. `states` (request id ->
    `request_state`), likewise; read here when not given.
    """
    ids = [event.request_id for event in events]
    if heads is None:
        heads = dict(
            (pk, (seq, hash_))
            for pk, seq, hash_ in TimelineHead.objects.filter(request_id__in=ids).values_list(
                "request_id", "seq", "hash"
            )
        )
    if states is None:
        states = {
            row["pk"]: request_state(row)
            for row in ServiceRequest.objects.filter(pk__in=ids).values("pk", *STATE_COLUMNS)
        }
    canonical = BatchCanonical(now)
    rows, moved = [], []
    for event in events:
        last_seq, prev_hash = heads.get(event.request_id, (0, GENESIS_HASH))
        seq = last_seq + 1
        data = canonical.data(event)
        state = CANONICAL.encode(states[event.request_id])  # JSON text, hashed and stored
        digest = canonical.digest(prev_hash, event, seq, data, state)
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
                canonical.key_id,
                state,
            )
        )
        moved.append((event.request_id, seq, digest, event.request_id in heads))
    insert_rows(RequestEvent, EVENT_COLUMNS, rows)
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
    note) encoded once, and only `data` and `state` per event; the HMAC's keyed state is
    computed once and copied per event.
    """

    def __init__(self, now: dt.datetime):
        self._strings: dict[str, str] = {}
        self.key_id = sealing.current_key_id()
        self._mac = sealing.mac(self.key_id)  # HMAC-SHA256 or HMAC-SM3, by key id
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
        return event.data if isinstance(event.data, str) else CANONICAL.encode(event.data)

    def digest(
        self, prev_hash: str, event: NewEvent, seq: int, data: str, state: dict | str
    ) -> str:
        """The event's hash; `data` and `state` (a dict, or its canonical JSON text) as hashed."""
        status = self.text(event.status)
        canonical = self._template % {
            "request_id": int(event.request_id),
            "seq": int(seq),
            "action": self.text(event.action),
            "from_status": status,
            "to_status": status,
            "note": self.text(event.note),
            "data": data,
            "state": state if isinstance(state, str) else CANONICAL.encode(state),
        }
        mac = self._mac.copy()
        mac.update((prev_hash + canonical).encode())
        return mac.hexdigest()


def _move_heads(moved: list[tuple[int, int, str, bool]]) -> None:
    insert_rows(
        TimelineHead,
        ("request_id", "seq", "hash"),
        [(pk, seq, digest) for pk, seq, digest, existed in moved if not existed],
    )
    update_rows(
        TimelineHead,
        "request_id",
        ("seq", "hash"),
        [(pk, seq, digest) for pk, seq, digest, existed in moved if existed],
    )


# --- verification -------------------------------------------------------------------------------

# How `Finding` names a request column to the reader.
STATE_LABELS = {
    "status": gettext_lazy("status"),
    "assign_due_at": gettext_lazy("assignment due time"),
    "answer_due_at": gettext_lazy("answer due time"),
    "department_id": gettext_lazy("department"),
    "handler_id": gettext_lazy("handler"),
    "rating": gettext_lazy("rating"),
    "reopen_count": gettext_lazy("reopen count"),
    "closed_at": gettext_lazy("closed time"),
}


@dataclass(frozen=True)
class Finding:
    """One thing verification found wrong; `message` says it in the reader's language."""

    code: str
    seq: int | None = None  # the event concerned
    other: object = None  # the head's seq, the column, the checkpoint's time, the key id

    @property
    def message(self) -> str:
        values = {"seq": self.seq, "other": self.other}
        if self.code == "state":
            values["other"] = STATE_LABELS.get(str(self.other), self.other)
        if isinstance(self.other, dt.datetime):  # a checkpoint's time, in the reader's form
            values["other"] = formats.date_format(
                timezone.localtime(self.other), "SHORT_DATETIME_FORMAT"
            )
        return _MESSAGES[self.code] % values


# Messages say exactly what was found (issue 13): not "altered", but which event and how.
_MESSAGES = {
    "changed": gettext_lazy("Event #%(seq)s's content was changed."),
    "unkeyed": gettext_lazy(
        "Event #%(seq)s was recomputed without the portal's key: its hash is a plain SHA-256."
    ),
    "unknown_key": gettext_lazy(
        "Event #%(seq)s is sealed with a key the portal does not hold (key id “%(other)s”)."
    ),
    "unsealed": gettext_lazy(
        "Event #%(seq)s carries no seal of the portal's key (it was forged, or written before "
        "the keys and its chain did not verify when the keys came)."
    ),
    "gap": gettext_lazy("Events are missing before event #%(seq)s (from #%(other)s on)."),
    "not_linked": gettext_lazy(
        "Event #%(seq)s does not follow the event before it: events were removed, reordered "
        "or put in."
    ),
    "backdated": gettext_lazy("Event #%(seq)s is dated before the event it follows."),
    "no_events": gettext_lazy("The request has no events."),
    "no_head": gettext_lazy("The chain's head is missing."),
    "tail_missing": gettext_lazy("Events after #%(seq)s are missing (the head says %(other)s)."),
    "head_moved_back": gettext_lazy(
        "The head was moved back: it says #%(other)s, but the chain goes on to #%(seq)s."
    ),
    "head_changed": gettext_lazy("The head does not match event #%(seq)s."),
    "state": gettext_lazy("The row's %(other)s differs from the last event (#%(seq)s)."),
    "state_unrecorded": gettext_lazy(
        "The last event (#%(seq)s) records no state to compare the row with."
    ),
    "checkpoint": gettext_lazy("The chain does not match the checkpoint of %(other)s."),
    "checkpoint_signature": gettext_lazy(
        "The checkpoint of %(other)s does not carry the portal's signature."
    ),
}


@dataclass(frozen=True)
class Anchor:
    """A request's head as a signed checkpoint recorded it."""

    at: dt.datetime
    seq: int
    hash: str
    signed: bool  # the checkpoint's signature verifies with the portal's public key


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_event: int | None
    state_matches: bool = True
    checkpoint: dict | None = None  # {"at", "ok"}, when a checkpoint covers the request
    findings: tuple[Finding, ...] = ()

    @property
    def messages(self) -> list[str]:
        return [finding.message for finding in self.findings]


# How much earlier than the event before it an event may be dated. Events of one request are
# appended in order under its row lock, but not always stamped in that order: a sweep stamps its
# batch with the time it started (a transition may commit meanwhile), and web processes' clocks
# differ a little. Backdating beyond this is reported.
BACKDATING_TOLERANCE = dt.timedelta(minutes=15)


def _event_problem(event, expected_seq: int, prev_hash: str, prev_time) -> Finding | None:
    fields = event.hashed_fields()
    try:
        # As bytes: compare_digest refuses a str with other than ASCII, and a forger may write one.
        sealed = hmac.compare_digest(event.hash.encode(), event.compute_hash().encode())
    except sealing.UnknownKey:
        sealed = None
    if not sealed:
        if event.hash in unkeyed_hashes(event.prev_hash, **fields):
            return Finding("unkeyed", event.seq)
        if sealed is None:
            code = "unknown_key" if event.key_id else "unsealed"
            return Finding(code, event.seq, event.key_id)
        return Finding("changed", event.seq)
    if event.seq > expected_seq:
        return Finding("gap", event.seq, expected_seq)
    if event.seq != expected_seq or event.prev_hash != prev_hash:
        return Finding("not_linked", event.seq)
    if prev_time is not None and event.created_at < prev_time - BACKDATING_TOLERANCE:
        return Finding("backdated", event.seq)
    return None


def check_chain(
    events: Iterable[RequestEvent],
    head: tuple[int, str] | None,
    row_state: dict,
    anchor: Anchor | None,
) -> ChainCheck:
    """Verify one request's events (in seq order; read once, so a cursor will do): every hash
    under the portal's keys, each linked to the one before, in time; the head at the last
    event; the row equal to the last event's state; the chain holding the anchored head."""
    findings: list[Finding] = []
    first_bad = None
    prev_hash, prev_time, expected, count, last = GENESIS_HASH, None, 1, 0, None
    anchored_hash = None
    for event in events:
        count += 1
        if first_bad is None:
            problem = _event_problem(event, expected, prev_hash, prev_time)
            if problem is not None:
                findings.append(problem)
                first_bad = event.pk
        if anchor is not None and event.seq == anchor.seq:
            anchored_hash = event.hash
        prev_hash, prev_time, expected, last = event.hash, event.created_at, event.seq + 1, event
    if last is None:
        findings.append(Finding("no_events"))
    elif head is None:
        findings.append(Finding("no_head"))
    elif head[0] > last.seq:
        findings.append(Finding("tail_missing", last.seq, head[0]))
    elif head[0] < last.seq:
        findings.append(Finding("head_moved_back", last.seq, head[0]))
    elif not hmac.compare_digest(head[1].encode(), last.hash.encode()):
        findings.append(Finding("head_changed", last.seq))
    row = request_state(row_state)
    recorded = last.state if last is not None and isinstance(last.state, dict) else None
    state_matches = recorded == row
    if last is not None and not state_matches:
        if recorded is None:
            findings.append(Finding("state_unrecorded", last.seq))
        else:
            findings.extend(
                Finding("state", last.seq, name)
                for name in STATE_COLUMNS
                if recorded.get(name) != row[name]
            )
    checkpoint = None
    if anchor is not None:
        holds = anchor.signed and anchored_hash is not None and anchored_hash == anchor.hash
        checkpoint = {"at": anchor.at, "ok": holds}
        if not anchor.signed:
            findings.append(Finding("checkpoint_signature", None, anchor.at))
        elif not holds:
            findings.append(Finding("checkpoint", None, anchor.at))
    return ChainCheck(
        ok=not findings,
        events=count,
        first_bad_event=first_bad,
        state_matches=state_matches,
        checkpoint=checkpoint,
        findings=tuple(findings),
    )


def heads_of(request_ids) -> dict[int, tuple[int, str]]:
    """Each of these requests' timeline head, (seq, hash), in one query."""
    rows = TimelineHead.objects.filter(request_id__in=request_ids)
    return {
        pk: (seq, head_hash) for pk, seq, head_hash in rows.values_list("request_id", "seq", "hash")
    }
