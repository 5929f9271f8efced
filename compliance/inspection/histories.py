"""The request histories the inspector's console shows, reached through a port.

A case file needs its request's full timeline and the verification of its hash chain, and the
search runs over every request history in the region. Both belong to the request app, which
compliance must not import (tests/test_architecture.py: compliance sits below requests_app).
So this module says what the console needs — plain dataclasses and a `HistorySource` protocol —
and the request app's implementation (`requests_app/histories.py`) is plugged in at start-up by
the portal, the one app that wires the others together (`portal/apps.py`). Scoping stays where
it belongs: the implementation reads through `requests_visible_to`, so an inspector never sees a
request outside their jurisdiction here either.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    events: int
    first_bad_event: int | None


@dataclass(frozen=True)
class HistoryEvent:
    seq: int
    at: dt.datetime
    actor: str  # the actor's display name; empty for the system
    label: str
    from_label: str
    to_label: str
    note: str
    hash: str
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class History:
    """One request's case history: its facts, its whole timeline and whether the chain holds."""

    request_id: int
    reference: str
    title: str
    enterprise: str
    category: str
    department: str
    handler: str
    status: str  # label
    submitted_at: dt.datetime
    overdue: bool
    reopen_count: int
    transfer_count: int
    events: list[HistoryEvent]
    chain: ChainCheck


@dataclass(frozen=True)
class Criteria:
    """What an inspector searches by; every field narrows, none widens the scope."""

    enterprise: int | None = None
    department: int | None = None
    official: int | None = None  # handler or liaison of the request
    category: str = ""
    submitted_after: dt.date | None = None
    submitted_before: dt.date | None = None
    overdue: bool | None = None
    reopened: bool | None = None
    text: str = ""


class Results(Protocol):
    """A lazily evaluated, paginable result (Django's Paginator takes it as it is)."""

    def count(self) -> int: ...

    def __getitem__(self, page: slice) -> list[History]: ...


class HistorySource(Protocol):
    def history(self, user, request_id: int) -> History | None:
        """The request's history if `user` may see the request, else None."""

    def search(self, user, criteria: Criteria) -> Results:
        """The histories of the requests `user` may see that match, newest first."""


_source: HistorySource | None = None


def register(source: HistorySource) -> None:
    global _source
    _source = source


def source() -> HistorySource:
    if _source is None:
        raise ImproperlyConfigured(
            "No request-history source is registered (portal.apps registers the request app's)."
        )
    return _source
