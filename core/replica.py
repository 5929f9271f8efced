"""Reads on a streaming replica: which database a read goes to, and who stays on the primary.

With `DATABASE_REPLICA_URL` set, settings add a "replica" alias and `ReplicaRouter`. A read goes
to the replica only when all of these hold, and to the primary ("default") otherwise:

- the code is marked replica-safe (`@reads_from_replica` on a view, `with reads_from_replica():`
  in a task): reports, dashboards, exports and the inspector's search, which tolerate figures a
  moment old. Everything else (the request loop, permissions, sessions) reads the primary;
- no transaction was open on the primary when the block began: the caller may have written in
  it, and its reads must see that write (`select_for_update` always asks for the primary);
- the block has not written that model yet (read your own writes, per model: the export task
  records its progress on the job's row while it reads the requests from the replica). So a
  transaction the block opens itself holds only writes the block made, and they are tracked:
  the reports' analytic transaction (reports.figures) does not keep their reads on the primary;
- the signed-in user did not act in the last `DATABASE_REPLICA_PIN_SECONDS`
  (`PinToPrimaryMiddleware`): their own pages show what they just did, whatever the lag;
- the replica answered when the block began (a replica that is down costs the primary some load,
  not a 500), and, for a block that asked for it, had caught up with the primary.

Writes always go to the primary. Without a replica the router answers None: nothing changes.
The router sees only the ORM: raw SQL in replica-safe code runs on `connections[queryset.db]`
(reports.spans), never on `django.db.connection`, which is always the primary.
"""

import contextvars
import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

log = logging.getLogger(__name__)

REPLICA = "replica"
PIN_COOKIE = "qinqing_primary"
_PIN_SALT = "core.replica.pin"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_POLL_SECONDS = 0.05

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class _Block:
    """One replica-safe block: may it use the replica at all, and what it has written."""

    replica_ok: bool
    written: set[str] = field(default_factory=set)


_block: contextvars.ContextVar[_Block | None] = contextvars.ContextVar(
    "qinqing_replica_block", default=None
)
_pinned: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "qinqing_replica_pinned", default=False
)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def _in_primary_transaction() -> bool:
    return connections[DEFAULT_DB_ALIAS].in_atomic_block


def read_alias(model) -> str:
    """The database a read of `model` goes to right now (the rules in the module's docstring)."""
    block = _block.get()
    if block is None or not block.replica_ok or _pinned.get() or model._meta.label in block.written:
        return DEFAULT_DB_ALIAS
    return REPLICA


class ReplicaRouter:
    """Django's database router for the replica (settings.DATABASE_ROUTERS)."""

    def db_for_read(self, model, **hints) -> str | None:
        if not replica_configured():
            return None
        # An explicit answer even outside a replica-safe block: an object read on the replica
        # must not lead its related reads there once the block is over (Django's fallback
        # follows the instance's database).
        return read_alias(model)

    def db_for_write(self, model, **hints) -> str | None:
        if not replica_configured():
            return None
        block = _block.get()
        if block is not None:
            block.written.add(model._meta.label)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The same rows on both: an object read on the replica may point at one of the primary.
        both = {DEFAULT_DB_ALIAS, REPLICA}
        if replica_configured() and {obj1._state.db, obj2._state.db} <= both:
            return True
        return None

    def allow_migrate(self, db, app_label, **hints) -> bool | None:
        # A standby is read-only: it gets the schema by streaming from the primary.
        return False if db == REPLICA else None


# --- marking code replica-safe -------------------------------------------------------------------


def _replica_answers() -> bool:
    try:
        connections[REPLICA].ensure_connection()
    except DatabaseError:
        log.warning("The replica does not answer: reading from the primary.", exc_info=True)
        return False
    return True


def _may_use_replica(*, caught_up: bool) -> bool:
    if not replica_configured() or _pinned.get() or _in_primary_transaction():
        return False
    if not _replica_answers():
        return False
    if caught_up and not wait_for_replica(settings.DATABASE_REPLICA_WAIT_SECONDS):
        log.warning("The replica is behind the primary: reading from the primary.")
        return False
    return True


@contextmanager
def _replica_block(*, caught_up: bool) -> Iterator[None]:
    if _block.get() is not None:
        # Nested: the outer block's decision and the writes it tracks hold for the whole of it.
        yield
        return
    token = _block.set(_Block(replica_ok=_may_use_replica(caught_up=caught_up)))
    try:
        yield
    finally:
        _block.reset(token)


@overload
def reads_from_replica(function: F) -> F: ...
@overload
def reads_from_replica(function: None = None, *, caught_up: bool = False) -> Any: ...
def reads_from_replica(function=None, *, caught_up=False):
    """Mark a view (`@reads_from_replica`) or a block (`with reads_from_replica():`) as one whose
    reads may go to the replica.

    `caught_up=True` first waits (up to DATABASE_REPLICA_WAIT_SECONDS) until the replica has
    replayed everything the primary had written when the block began, and reads from the primary
    if it has not: for a task, whose rows were committed just before it was enqueued.
    """
    if function is None:
        return _replica_block(caught_up=caught_up)

    @functools.wraps(function)
    def marked(*args, **kwargs):
        with _replica_block(caught_up=caught_up):
            return function(*args, **kwargs)

    return marked


def wait_for_replica(timeout: float) -> bool:
    """Wait until the replica has replayed the primary's WAL as it stands now; False on timeout.

    True at once when the replica alias is no standby (not in recovery: a test mirror, or one
    server for both) or the database is not PostgreSQL.
    """
    primary = connections[DEFAULT_DB_ALIAS]
    if primary.vendor != "postgresql":
        return True
    with primary.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    while True:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, NOT pg_is_in_recovery())",
                [target],
            )
            (caught_up,) = cursor.fetchone()
        if caught_up:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)  # streaming replay is a matter of milliseconds


def _replay_position() -> tuple:
    """(in recovery, bytes not replayed, age of the last replayed transaction in seconds)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (target,) = cursor.fetchone()
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(),"
            " pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()),"
            " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())",
            [target],
        )
        return cursor.fetchone()


def replica_lag() -> dict | None:
    """How far the replica is behind the primary, for /health/ and monitoring; None without one.

    `behind_bytes`: WAL the primary has written that the replica has not replayed yet, measured
    against the primary's position now. `behind_seconds`: how old the last replayed transaction
    is, counted only while bytes are missing (an idle primary writes nothing, and the replay
    timestamp then ages without the replica being behind). `stale` past
    HEALTH_REPLICA_MAX_LAG seconds: reads then still work, from the primary when they must be
    caught up, and from a replica that shows older figures otherwise.
    """
    if not replica_configured():
        return None
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return {"ok": True, "behind_bytes": 0, "behind_seconds": 0.0, "stale": False}
    try:
        recovering, missing, age = _replay_position()
    except DatabaseError as error:
        return {"ok": False, "error": type(error).__name__}
    if not recovering:  # one server for both, or a promoted standby: nothing to replay
        missing, age = 0, 0
    behind = max(0, int(missing or 0))
    seconds = round(float(age or 0), 1) if behind else 0.0
    return {
        "ok": True,
        "behind_bytes": behind,
        "behind_seconds": seconds,
        "stale": seconds > settings.HEALTH_REPLICA_MAX_LAG,
    }


# --- a user who just acted stays on the primary --------------------------------------------------


@contextmanager
def pinned_to_primary(pinned: bool = True) -> Iterator[None]:
    """Reads in this block go to the primary, even in replica-safe code."""
    token = _pinned.set(pinned)
    try:
        yield
    finally:
        _pinned.reset(token)


class PinToPrimaryMiddleware:
    """After a signed-in user's unsafe request (they acted), their next requests read from the
    primary for DATABASE_REPLICA_PIN_SECONDS.

    The pin is a signed cookie, so it costs no storage and follows the user to whichever web
    process answers next; a browser and any API client that keeps cookies carry it.
    Anonymous requests set none: they have no reports to read, and an anonymous confidential
    report must leave nothing behind.
    """

    def __init__(self, get_response):
        if not replica_configured():
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        with pinned_to_primary(self._pinned(request)):
            response = self.get_response(request)
        if request.method not in _SAFE_METHODS and _signed_in(request):
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=_PIN_SALT,
                max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    @staticmethod
    def _pinned(request) -> bool:
        value = request.get_signed_cookie(
            PIN_COOKIE,
            default=None,
            salt=_PIN_SALT,
            max_age=settings.DATABASE_REPLICA_PIN_SECONDS,
        )
        return value is not None


def _signed_in(request) -> bool:
    # DRF sets the token's user on the Django request too, so API writes pin as well.
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated)
