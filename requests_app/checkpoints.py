"""Daily checkpoints of every timeline, kept outside the database, and the nightly check of every
chain against the latest one.

A checkpoint is a Merkle root over every timeline head (request id, seq, hash), signed with
Ed25519 over a SHA-256 tree, or under QINQING_CRYPTO=guomi with SM2 over an SM3 tree
(requests_app.sealing); each line names its algorithm, so lines of both kinds verify.
It is written to CHECKPOINT_DIR, not to the database: someone who
can rewrite the database, even with the timeline key in hand, cannot rewrite what was signed
before. The folder holds:

- `checkpoints.jsonl`: one signed JSON object per line, appended and never rewritten; each line
  names the hash of the line before it, so a line taken out breaks the next one;
- `heads/<id>.txt`: the heads that checkpoint signed, sorted by request id, one fixed-width line
  each, so that one request's head is found by binary search without reading the file.

Operators publish or archive the folder (README, "Tamper evidence").
"""

import base64
import datetime as dt
import fcntl
import hashlib
import itertools
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import lazy

from notifications import messages
from notifications.models import Kind, Notification
from officials.selectors import inspectors_by_region
from requests_app import sealing
from requests_app.models import (
    CANONICAL,
    STATE_COLUMNS,
    RequestEvent,
    ServiceRequest,
    TimelineHead,
)
from requests_app.timeline import Anchor, ChainCheck, check_chain, heads_of

logger = logging.getLogger(__name__)

LOG_NAME = "checkpoints.jsonl"
HEADS_FOLDER = "heads"
# request id, seq, hash: fixed width, so that line i starts at byte i * HEAD_LINE_LENGTH.
_HEAD_LINE = "%012d %010d %s\n"
HEAD_LINE_LENGTH = 12 + 1 + 10 + 1 + 64 + 1
ED25519, SM2_SM3 = "ed25519", "sm2-sm3"
TREE_HASH = {ED25519: "sha256", SM2_SM3: "sm3"}  # the Merkle tree's hash, by line algorithm
# The fields of a line the signature covers, in its canonical form.
SIGNED_FIELDS = ("id", "at", "requests", "root", "heads_sha256", "previous")


# --- the Merkle tree -----------------------------------------------------------------------------


def current_algorithm() -> str:
    return SM2_SM3 if sealing.guomi() else ED25519


def leaf_hash(request_id: int, seq: int, head_hash: str, hash_name: str = "sha256") -> bytes:
    # 0x00 before a leaf, 0x01 before a node (RFC 6962): a node cannot pass for a leaf.
    return hashlib.new(hash_name, b"\x00" + f"{request_id}:{seq}:{head_hash}".encode()).digest()


class MerkleRoot:
    """The RFC 6962 Merkle tree hash of leaves added in order, in memory logarithmic in their
    number: a stack of the roots of complete subtrees, merged as they fill. `hash_name` is
    "sha256" (RFC 6962) or "sm3" (guomi), for nodes and leaves alike."""

    def __init__(self, hash_name: str = "sha256") -> None:
        self.hash_name = hash_name
        self._stack: list[tuple[int, bytes]] = []  # (leaves below, hash)

    def add(self, leaf: bytes) -> None:
        size, node = 1, leaf
        while self._stack and self._stack[-1][0] == size:
            _size, left = self._stack.pop()
            size, node = size * 2, self._node(left, node)
        self._stack.append((size, node))

    def hexdigest(self) -> str:
        if not self._stack:
            return hashlib.new(self.hash_name, b"").hexdigest()
        node = self._stack[-1][1]
        for _size, left in reversed(self._stack[:-1]):
            node = self._node(left, node)
        return node.hex()

    def _node(self, left: bytes, right: bytes) -> bytes:
        return hashlib.new(self.hash_name, b"\x01" + left + right).digest()


# --- writing -------------------------------------------------------------------------------------


def folder() -> Path:
    return Path(settings.CHECKPOINT_DIR)


def create(now: dt.datetime | None = None) -> dict:
    """Sign every timeline head into a new checkpoint; append it to the log; return its line.

    The heads are read in one transaction (one snapshot) by a server-side cursor: memory stays
    flat however many requests there are. The log is locked while a checkpoint is written, so
    two runs at once append one after the other.
    """
    now = now or timezone.now()
    base = folder()
    (base / HEADS_FOLDER).mkdir(parents=True, exist_ok=True)
    with open(base / LOG_NAME, "a+b") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        log.seek(0)
        lines = log.read().splitlines()
        number = len(lines) + 1
        heads_path = base / HEADS_FOLDER / f"{number:06d}.txt"
        algorithm = current_algorithm()
        count, root, heads_digest = _write_heads(heads_path, TREE_HASH[algorithm])
        body = {
            "id": number,
            "at": now.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "requests": count,
            "root": root,
            "heads_sha256": heads_digest,
            "previous": hashlib.sha256(lines[-1]).hexdigest() if lines else "",
        }
        signature = _sign(algorithm, _signed_bytes(body))
        record = {
            **body,
            "algorithm": algorithm,
            "public_key": sealing.public_key_text(),
            "signature": base64.b64encode(signature).decode(),
        }
        log.seek(0, os.SEEK_END)
        log.write((CANONICAL.encode(record) + "\n").encode())
        log.flush()
        os.fsync(log.fileno())
    return record


def _sign(algorithm: str, message: bytes) -> bytes:
    if algorithm == SM2_SM3:
        return sealing.sm2_sign(sealing.sm2_key(), message)
    return sealing.signing_key().sign(message)


def _write_heads(path: Path, hash_name: str) -> tuple[int, str, str]:
    # The heads file's own digest stays SHA-256 (the `heads_sha256` field of the API); the
    # signature covers it and the Merkle root alike.
    tree, digest, count = MerkleRoot(hash_name), hashlib.sha256(), 0
    partial = path.with_suffix(".partial")
    with transaction.atomic(), open(partial, "w", encoding="ascii") as out:
        heads = (
            TimelineHead.objects.order_by("request_id")
            .values_list("request_id", "seq", "hash")
            .iterator(chunk_size=10_000)
        )
        for request_id, seq, head_hash in heads:
            line = _HEAD_LINE % (request_id, seq, head_hash)
            out.write(line)
            digest.update(line.encode())
            tree.add(leaf_hash(request_id, seq, head_hash, hash_name))
            count += 1
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)
    return count, tree.hexdigest(), digest.hexdigest()


def _signed_bytes(entry: dict) -> bytes:
    return CANONICAL.encode({name: entry[name] for name in SIGNED_FIELDS}).encode()


# --- reading -------------------------------------------------------------------------------------


def entries() -> list[dict]:
    """Every checkpoint line, oldest first (one a day: a few hundred lines a year)."""
    path = folder() / LOG_NAME
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]


def latest() -> dict | None:
    """The newest line, read from the end of the log (each verification asks for it)."""
    path = folder() / LOG_NAME
    if not path.exists():
        return None
    with open(path, "rb") as log:
        size = log.seek(0, os.SEEK_END)
        tail = b""
        while size > 0 and tail.count(b"\n") < 2:
            step = min(size, 4096)
            size -= step
            log.seek(size)
            tail = log.read(step) + tail
    lines = [line for line in tail.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def signature_ok(entry: dict) -> bool:
    """The line's signature verifies with the portal's own public key of the line's algorithm
    (not the key the line carries: whoever rewrote the line could put their own key there)."""
    try:
        signature = base64.b64decode(entry["signature"], validate=True)
        if entry.get("algorithm", ED25519) == SM2_SM3:
            public = sealing.sm2_key().public_hex
            return sealing.sm2_verify(public, signature, _signed_bytes(entry))
        if entry.get("algorithm", ED25519) != ED25519:
            return False
        sealing.signing_key().public_key().verify(signature, _signed_bytes(entry))
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False
    return True


def at_of(entry: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(entry["at"])


def _heads_path(entry: dict) -> Path:
    return folder() / HEADS_FOLDER / f"{int(entry['id']):06d}.txt"


def _parse_head(line: bytes) -> tuple[int, int, str]:
    request_id, seq, head_hash = line.decode("ascii").split()
    return int(request_id), int(seq), head_hash


def anchor_of(request_id: int, entry: dict | None = None) -> Anchor | None:
    """The request's head in the latest checkpoint (binary search in its heads file), or None
    when no checkpoint covers the request yet."""
    return anchors_of([request_id], entry).get(request_id)


def anchors_of(request_ids: Iterable[int], entry: dict | None = None) -> dict[int, Anchor]:
    """`anchor_of` for many requests (a page of search results): the latest line is read and
    its signature checked once, the heads file opened once. Requests no checkpoint covers
    are left out."""
    entry = entry if entry is not None else latest()
    if entry is None:
        return {}
    path = _heads_path(entry)
    if not path.exists():
        return {}
    anchors: dict[int, Anchor] = {}
    signed = None
    with open(path, "rb") as heads:
        lines = path.stat().st_size // HEAD_LINE_LENGTH
        for request_id in request_ids:
            found = _find_head(heads, lines, request_id)
            if found is not None:
                if signed is None:
                    signed = signature_ok(entry)
                anchors[request_id] = Anchor(at_of(entry), found[0], found[1], signed)
    return anchors


def _find_head(heads, lines: int, request_id: int) -> tuple[int, str] | None:
    """The (seq, hash) the sorted heads file lists for the request: a binary search."""
    low, high = 0, lines
    while low < high:
        middle = (low + high) // 2
        heads.seek(middle * HEAD_LINE_LENGTH)
        found, seq, head_hash = _parse_head(heads.read(HEAD_LINE_LENGTH))
        if found == request_id:
            return seq, head_hash
        if found < request_id:
            low = middle + 1
        else:
            high = middle
    return None


class _HeadsInOrder:
    """A checkpoint's heads read forward as the nightly check walks the requests by id."""

    def __init__(self, entry: dict | None):
        self.entry = entry
        self.signed = entry is not None and signature_ok(entry)
        path = _heads_path(entry) if entry is not None else None
        # Open for the whole walk, read line by line; `rest` reads it out and closes it.
        self._file = open(path, "rb") if path is not None and path.exists() else None  # noqa: SIM115
        self._lines: Iterator[bytes] = iter(self._file) if self._file else iter(())
        self._next = next(self._lines, None)
        self.skipped: list[int] = []  # requests in the checkpoint no longer in the database

    def anchor(self, request_id: int) -> Anchor | None:
        while self._next is not None:
            found, seq, head_hash = _parse_head(self._next)
            if found > request_id:
                return None
            self._next = next(self._lines, None)
            if found == request_id:
                return Anchor(at_of(self.entry), seq, head_hash, self.signed)
            self.skipped.append(found)
        return None

    def rest(self) -> None:
        while self._next is not None:
            self.skipped.append(_parse_head(self._next)[0])
            self._next = next(self._lines, None)
        if self._file is not None:
            self._file.close()


def checkpoint_problems(entry: dict | None) -> list[str]:
    """What is wrong with the latest checkpoint itself: its signature, its heads file, the
    Merkle root of the heads it lists, its link to the line before."""
    if entry is None:
        return []
    problems = []
    if not signature_ok(entry):
        problems.append(f"checkpoint {entry.get('id')}: the signature does not verify")
    path = _heads_path(entry)
    if not path.exists():
        return [*problems, f"checkpoint {entry['id']}: its heads file {path.name} is missing"]
    hash_name = TREE_HASH.get(entry.get("algorithm", ED25519), "sha256")
    tree, digest = MerkleRoot(hash_name), hashlib.sha256()
    with open(path, "rb") as heads:
        for line in heads:
            digest.update(line)
            tree.add(leaf_hash(*_parse_head(line), hash_name))
    if digest.hexdigest() != entry.get("heads_sha256") or tree.hexdigest() != entry.get("root"):
        problems.append(f"checkpoint {entry['id']}: its heads file differs from what was signed")
    return problems


# --- the nightly check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    request_id: int
    reference: str
    title: str
    region: str
    check: ChainCheck


def verify_all(batch_size: int = 500) -> tuple[list[Failure], list[int], list[str]]:
    """Check every request's chain against the latest checkpoint, `batch_size` requests at a
    time (the events of a batch stream from a cursor: memory stays flat).

    Returns the failures, the ids of requests the checkpoint lists that are gone from the
    database, and what is wrong with the checkpoint itself.
    """
    entry = latest()
    reader = _HeadsInOrder(entry)
    failures: list[Failure] = []
    after = 0
    while True:
        rows = list(
            ServiceRequest.objects.filter(pk__gt=after)
            .order_by("pk")
            .values("pk", "reference", "title", "enterprise__region", *STATE_COLUMNS)[:batch_size]
        )
        if not rows:
            break
        ids = [row["pk"] for row in rows]
        heads = heads_of(ids)
        events = (
            RequestEvent.objects.filter(request_id__in=ids)
            .order_by("request_id", "seq", "id")
            .iterator(chunk_size=2000)
        )
        chains = itertools.groupby(events, key=attrgetter("request_id"))
        current = next(chains, None)
        for row in rows:
            chain: Iterator[RequestEvent] = iter(())
            if current is not None and current[0] == row["pk"]:
                chain = current[1]
            check = check_chain(chain, heads.get(row["pk"]), row, reader.anchor(row["pk"]))
            if current is not None and current[0] == row["pk"]:
                current = next(chains, None)
            if not check.ok:
                failures.append(
                    Failure(
                        row["pk"],
                        row["reference"],
                        row["title"],
                        row["enterprise__region"] or "",
                        check,
                    )
                )
        after = ids[-1]
    reader.rest()
    return failures, reader.skipped, checkpoint_problems(entry)


def alert(failures: list[Failure], now: dt.datetime | None = None) -> int:
    """Tell the inspectors of each failing request's region what was found; a finding they were
    told of already is not told again. Returns how many messages were stored."""
    now = now or timezone.now()
    if not failures:
        return 0
    inspectors = inspectors_by_region({failure.region for failure in failures})
    stored = 0
    for failure in failures:
        link = reverse("requests:detail", args=[failure.request_id])
        context = {
            "reference": failure.reference,
            "title": failure.title,
            "findings": _findings_text(failure.check),
        }
        rows = messages.build(
            inspectors.get(failure.region, []), Kind.TIMELINE_TAMPERED.value, context, link, now
        )
        told = set(
            Notification.objects.filter(
                kind=Kind.TIMELINE_TAMPERED,
                link=link,
                recipient__in=[row.recipient_id for row in rows],
            ).values_list("recipient_id", "body")
        )
        fresh = [row for row in rows if (row.recipient_id, row.body) not in told]
        messages.save_and_send(fresh)
        stored += len(fresh)
    return stored


def _findings_text(check: ChainCheck):
    # Lazy: rendered in each inspector's own language (notifications.messages.rows_for_many).
    return lazy(lambda: " ".join(check.messages), str)()


@dataclass(frozen=True)
class NightlyResult:
    checked_against: dict | None
    failures: list[Failure]
    gone: list[int]
    checkpoint_problems: list[str]
    alerts: int

    def summary(self) -> str:
        against = (
            f"checkpoint {self.checked_against['id']} of {self.checked_against['at']}"
            if self.checked_against
            else "no checkpoint yet"
        )
        return (
            f"{len(self.failures)} chains fail, {len(self.gone)} checkpointed requests gone, "
            f"{len(self.checkpoint_problems)} checkpoint problems ({against}); "
            f"{self.alerts} alerts sent"
        )


def nightly_check(now: dt.datetime | None = None, batch_size: int = 500) -> NightlyResult:
    """`verify_all`, then the inspectors told of each failing request (beat runs it nightly)."""
    failures, gone, problems = verify_all(batch_size)
    for failure in failures:
        logger.error(
            "Timeline of request %s does not verify: %s",
            failure.request_id,
            " ".join(failure.check.messages),
        )
    for problem in problems:
        logger.error("Checkpoint problem: %s", problem)
    if gone:
        logger.error("Requests in the latest checkpoint but not in the database: %s", gone)
    with transaction.atomic():
        alerts = alert(failures, now)
    return NightlyResult(latest(), failures, gone, problems, alerts)


def verify_chain(request: ServiceRequest) -> ChainCheck:
    """Verify the request's whole timeline (see `check_chain`), against the latest checkpoint
    that covers it."""
    row = ServiceRequest.objects.filter(pk=request.pk).values(*STATE_COLUMNS).first() or {}
    head = TimelineHead.objects.filter(request_id=request.pk).values_list("seq", "hash").first()
    events = RequestEvent.objects.filter(request_id=request.pk).order_by("seq", "id").iterator()
    return check_chain(events, head, row, anchor_of(request.pk))
