"""Every raw SQL statement of the sweep on PostgreSQL, each whole, named, with named parameters.

The sweep (`requests_app.escalation`) calls these functions inside its batch transaction; the
portable path (the ORM, plain Python) is in escalation.py and firing.py beside the calls.
Tables and the clock's due column are filled in as identifiers; every value is a named
parameter. Django's psycopg cursor merges parameters into the text on the client, so the
planner sees them as constants: that is what lets a switch such as
`NOT (d.paused AND %(skip_paused)s)` fold away to the condition written out or left out, and
the statements keep the plans they were tuned for (README, "The sweep").
"""

import datetime as dt
import functools
import re
from dataclasses import dataclass

from core.bulk import int_array, quoted
from notifications.messages import COLUMNS as NOTIFICATION_COLUMNS
from notifications.messages import InboxWords
from notifications.models import Notification
from officials.models import Department, Enterprise
from requests_app.models import (
    Deadline,
    EscalationFiring,
    RequestEvent,
    ServiceRequest,
    TimelineHead,
)
from requests_app.timeline import NewEvent, append_many, canonical_template

NO_JIT = "SET LOCAL jit = off"

# SKIP_LOCKED: when another part of a shared sweep (or autovacuum) is vacuuming the table
# already, this one passes rather than waits.
VACUUM_DEADLINES = "VACUUM (SKIP_LOCKED) {deadline}"

LOCK_BATCH = """
    SELECT id FROM {request}
    WHERE id = ANY(ARRAY(
        SELECT d.request_id FROM {deadline} AS d
        WHERE d.clock = %(clock)s
          AND d.due_at <= %(due_by)s
          AND d.running
          AND d.stage IN ({stages})
          AND NOT (d.paused AND %(skip_paused)s)
          AND NOT d.due_at <@ ANY(%(held)s::tstzrange[])
          AND mod(d.request_id, %(parts)s) = %(part)s
          AND (d.stage, d.due_at, d.request_id)
              >= (%(start_stage)s, %(start_due_at)s, %(start_request)s)
          AND (%(end_stage)s IS NULL OR (d.stage, d.due_at, d.request_id)
                                        < (%(end_stage)s, %(end_due_at)s, %(end_request)s))
    ))
    ORDER BY id FOR UPDATE SKIP LOCKED
"""

FIRE_BATCH = """
    WITH due AS (
        SELECT p.id AS deadline_id, r.id AS request_id, r.status,
               {cycle} AS cycle, r.{due_at} AS due_at,
               r.reference, r.department_id, r.handler_id, r.liaison_id, r.enterprise_id,
               -- The state the event records (requests_app.models.request_state): times as
               -- whole microseconds since 1970, exact (extract() gives a numeric).
               r.assign_due_at, r.answer_due_at, r.rating, r.reopen_count, r.closed_at
        FROM unnest(%(locked)s::bigint[]) AS locked(id),
        LATERAL (
            SELECT * FROM (
                SELECT d.id, d.request_id FROM {deadline} AS d
                WHERE d.clock = %(clock)s
                  AND d.due_at <= %(due_by)s
                  AND d.running
                  AND d.stage IN ({stages})
                  AND NOT (d.paused AND %(skip_paused)s)
                  AND NOT d.due_at <@ ANY(%(held)s::tstzrange[])
            ) AS q WHERE q.request_id = locked.id OFFSET 0
        ) AS p
        JOIN {request} AS r ON r.id = p.request_id
    ),
    climbed AS (
        UPDATE {deadline} SET stage = %(climb_to)s
        WHERE id = ANY(ARRAY(SELECT deadline_id FROM due)) AND stage <= %(last_stage)s
    ),
    fired AS (
        INSERT INTO {firing} (request_id, rule_id, cycle, due_at, fired_at)
        SELECT request_id, %(rule_id)s, cycle, due_at, %(now)s FROM due
        ON CONFLICT (request_id, rule_id, cycle) DO NOTHING
        RETURNING request_id
    ),
    fired_due AS (
        SELECT due.* FROM fired JOIN due ON due.request_id = fired.request_id
    ),
    fired_events AS (
        SELECT request_id, status,
               format(%(data_template)s, cycle, to_json(
                   to_char((due_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS')
                   || CASE to_char((due_at AT TIME ZONE 'UTC'), 'US') WHEN '000000' THEN ''
                      ELSE '.' || to_char((due_at AT TIME ZONE 'UTC'), 'US') END
                   || '+00:00'
               )::text) AS data
        FROM fired_due
    ),
    chain AS (
        SELECT s.request_id, s.data, h.seq, h.hash
        FROM fired_events AS s LEFT JOIN {head} AS h
            ON h.request_id = s.request_id
            -- The batch's heads by their index, whatever the planner expects of the events:
            -- a misjudged join would read every head.
            AND h.request_id = ANY(ARRAY(SELECT request_id FROM fired_events))
    )
    SELECT f.request_id, f.due_at::text, f.reference, f.department_id, f.handler_id,
           f.liaison_id, f.enterprise_id,
           f.status, c.data, c.seq, c.hash,
           (extract(epoch FROM f.assign_due_at) * 1000000)::bigint,
           (extract(epoch FROM f.answer_due_at) * 1000000)::bigint,
           f.rating, f.reopen_count,
           (extract(epoch FROM f.closed_at) * 1000000)::bigint
    FROM fired_due AS f JOIN chain AS c ON c.request_id = f.request_id
    ORDER BY f.request_id
"""

# The values a sweep message is written from, in the order NOTIFY_BATCH passes them to format()
# (`notifications.messages.inbox_words` numbers the words' placeholders by it).
NOTICE_FIELDS = ("reference", "title", "enterprise", "department", "clock", "due", "when")

NOTIFY_BATCH = """
    WITH recipient AS (
        SELECT * FROM unnest(%(recipients)s::bigint[], %(languages)s::integer[],
                             %(email_wanted)s::boolean[])
            AS t(id, language, email_wanted)
    ),
    pair AS (
        SELECT * FROM unnest(%(items)s::bigint[], %(readers)s::bigint[]) AS t(item, recipient)
    ),
    about AS (
        SELECT sr.id AS item, sr.reference, sr.title, e.name AS enterprise,
               d.name AS department, d.name_en AS department_en,
               to_char(sr.{due_at} AT TIME ZONE %(time_zone)s, 'YYYY-MM-DD HH24:MI') AS due,
               %(link_prefix)s || sr.id || %(link_suffix)s AS link,
               -- How long ago the clock was due (`firing.overdue_by`): the words' form, from
               -- 1 (one day) to 6 (minutes), and the count; NULL while it is ahead.
               CASE WHEN sr.{due_at} >= %(now)s THEN NULL
                    WHEN o.seconds >= 86400 THEN 1 + (floor(o.seconds / 86400) <> 1)::int
                    WHEN o.seconds >= 3600 THEN 3 + (floor(o.seconds / 3600) <> 1)::int
                    ELSE 5 + (floor(o.seconds / 60) > 1)::int END AS ago_form,
               CASE WHEN o.seconds >= 86400 THEN floor(o.seconds / 86400)
                    WHEN o.seconds >= 3600 THEN floor(o.seconds / 3600)
                    ELSE greatest(1, floor(o.seconds / 60)) END::bigint AS ago_count
        FROM {request} AS sr
        CROSS JOIN LATERAL (
            SELECT extract(epoch FROM %(now)s - sr.{due_at}) AS seconds
        ) AS o
        JOIN {enterprise} AS e ON e.id = sr.enterprise_id
        LEFT JOIN {department} AS d ON d.id = sr.department_id
        WHERE sr.id = ANY(%(requests)s::bigint[])
    ),
    worded AS (
        SELECT p.recipient, r.language, r.email_wanted, c.*,
               CASE WHEN %(names_department)s THEN
                   COALESCE(CASE WHEN (%(english)s::boolean[])[r.language]
                                 THEN NULLIF(c.department_en, '') END,
                            c.department, (%(unassigned)s::text[])[r.language]) END
                   AS department_words,
               CASE WHEN NOT %(names_when)s THEN NULL
                    WHEN c.ago_form IS NULL THEN format((%(when_due)s::text[])[r.language], c.due)
                    ELSE format((%(when_was)s::text[])[r.language], c.due,
                                format((%(ago_words)s::text[])[r.language][c.ago_form],
                                       c.ago_count))
               END AS when_words
        FROM pair AS p
        JOIN recipient AS r ON r.id = p.recipient
        JOIN about AS c ON c.item = p.item
    ),
    created AS (
        INSERT INTO {notification} ({notification_columns})
        SELECT w.recipient, %(kind)s,
               left(format((%(subjects)s::text[])[w.language],
                           w.reference, w.title, w.enterprise, w.department_words,
                           (%(clock_words)s::text[])[w.language], w.due, w.when_words), 200),
               format((%(bodies)s::text[])[w.language],
                      w.reference, w.title, w.enterprise, w.department_words,
                      (%(clock_words)s::text[])[w.language], w.due, w.when_words),
               '', w.link, %(now)s, NULL, w.email_wanted, NULL, 0
        FROM worded AS w
        RETURNING id, email_wanted
    )
    SELECT count(*), array_agg(id ORDER BY id) FILTER (WHERE email_wanted) FROM created
"""

# What FIRE_BATCH returns of each request it fired, after its id and due time.
FIRED_FIELDS = ("reference", "department_id", "handler_id", "liaison_id", "enterprise_id")

# The identifiers a statement may be given, by what the sweep passes.
_DUE_COLUMNS = frozenset({"assign_due_at", "answer_due_at"})
_CYCLES = {None: "0", "reopen_count": "r.reopen_count"}


@functools.cache
def _text(
    statement: str,
    due_column: str | None = None,
    cycle_column: str | None = None,
    position: int | None = None,
) -> str:
    """A statement with its tables (from the models, once), the clock's columns and the rung's
    stages filled in.

    The stages are written out (`IN (0, 1)`: integers of the ladder, never input), as the ORM
    wrote them: PostgreSQL reads `stage IN (0)` as `stage = 0`, a bound of the index scan,
    where a one-element array parameter (`= ANY(%(stages)s)`) was only a filter of the lock.
    """
    if due_column is not None and due_column not in _DUE_COLUMNS:
        raise ValueError(due_column)
    stages = None if position is None else ", ".join(str(stage) for stage in range(position + 1))
    return statement.format(
        request=ServiceRequest._meta.db_table,
        deadline=Deadline._meta.db_table,
        firing=EscalationFiring._meta.db_table,
        event=RequestEvent._meta.db_table,
        head=TimelineHead._meta.db_table,
        notification=Notification._meta.db_table,
        notification_columns=", ".join(NOTIFICATION_COLUMNS),
        enterprise=Enterprise._meta.db_table,
        department=Department._meta.db_table,
        due_at=due_column,
        cycle=_CYCLES[cycle_column],
        stages=stages,
    )


def no_jit(cursor) -> None:
    """Turn off JIT compilation for the rest of the batch's transaction.

    The batch statements are estimated as costly enough for PostgreSQL to compile them (JIT),
    which takes longer (30 ms and more) than running them.
    """
    cursor.execute(NO_JIT)


def tidy_deadlines(cursor) -> None:
    """VACUUM_DEADLINES: remove the deadline rows a large sweep left dead, and their index
    entries (`escalation._tidy`). Outside any transaction: VACUUM cannot run inside one. A
    database user that does not own the table gets a warning, not an error."""
    cursor.execute(_text(VACUUM_DEADLINES))


@dataclass(frozen=True)
class Pending:
    """What selects a rung's pending deadlines, as `escalation.pending_deadlines` does in the
    ORM: the rule's clock, its rung (`position`), the due time it fires at or after.

    The rung's stages are listed (`IN (0, 1)` rather than `<= 1`) so that the due time bounds
    the index scan of each stage; with a range on the stage, PostgreSQL reads every running
    clock of the lower stages, due or not. A fraction rule (a reminder) skips paused clocks:
    no reminders while the enterprise answers; for other rules `NOT (d.paused AND false)`
    folds away. `held`: ranges (after, until] of due times that wait for a year's calendar
    (`requests_app.sweep.waiting`), one array of ranges, a filter on the rows the index scan
    reads (usually empty: `<@ ANY('{}')` is false for every row).
    """

    clock: str
    position: int
    due_by: dt.datetime
    skip_paused: bool
    held: tuple[tuple[dt.datetime, dt.datetime], ...] = ()
    # (parts, part): only requests whose id % parts == part (escalation.Partition); (1, 0), the
    # whole, folds to `mod(id, 1) = 0`, true for every row. Only the lock selects by it.
    partition: tuple[int, int] = (1, 0)

    @property
    def params(self) -> dict:
        return {
            "clock": self.clock,
            "due_by": self.due_by,
            "skip_paused": self.skip_paused,
            "held": range_array(self.held),
        }


def range_array(ranges) -> str:
    """(after, until] pairs of aware datetimes as one PostgreSQL tstzrange[] literal."""

    def bound(moment: dt.datetime) -> str:
        if moment.tzinfo is None:
            raise ValueError("a held range needs aware datetimes")
        return moment.astimezone(dt.UTC).isoformat()

    return "{" + ",".join(f'"({bound(a)},{bound(b)}]"' for a, b in ranges) + "}"


def lock_query(*, pending: Pending, start: tuple, end: tuple | None) -> tuple[str, dict]:
    """LOCK_BATCH and its parameters, for a batch: its range [start, end) of the index order
    (stage, due_at, request_id), `end` None for the last batch (the benchmark explains it)."""
    end_stage, end_due_at, end_request = end if end is not None else (None, None, None)
    start_stage, start_due_at, start_request = start
    parts, part = pending.partition
    return _text(LOCK_BATCH, position=pending.position), {
        **pending.params,
        "parts": parts,
        "part": part,
        "start_stage": start_stage,
        "start_due_at": start_due_at,
        "start_request": start_request,
        "end_stage": end_stage,
        "end_due_at": end_due_at,
        "end_request": end_request,
    }


def lock_batch(cursor, **arguments) -> list[int]:
    """LOCK_BATCH: lock a batch's requests in id order, passing over those someone else holds
    (arguments: `lock_query`'s).

    SKIP LOCKED: a request a user is changing right now is left for the next sweep rather than
    waited for; the lock also keeps the timeline's sequence ours while the batch appends. The
    ids are one array (`= ANY(ARRAY(...))`): the requests are then found by their index, where
    `IN (subquery)` let the planner read the whole table. The row comparison bounds the index
    scan (the ORM would spell it as ORs, which it can only filter by); for the last batch
    `%(end_stage)s IS NULL` folds to true and the upper bound disappears.
    """
    cursor.execute(*lock_query(**arguments))
    return [pk for (pk,) in cursor.fetchall()]


def fire_query(
    *,
    pending: Pending,
    locked: list[int],
    due_column: str,
    cycle_column: str | None,
    rule_id: int,
    action: str,
    note: str,
    data: dict,
    now: dt.datetime,
) -> tuple[str, dict]:
    """FIRE_BATCH and its parameters, the events' data template among them (the benchmark
    explains it).

    `data` is the events' data with `timeline.slot("cycle")` and `timeline.slot("due_at")`
    where the database fills in each request's own, in canonical form. `action` and `note` are
    not the statement's: `fire_batch` appends the events.
    """
    statement = _text(FIRE_BATCH, due_column, cycle_column, pending.position)
    return statement, {
        **pending.params,
        "locked": int_array(locked),
        "climb_to": pending.position + 1,
        "last_stage": pending.position,
        "rule_id": rule_id,
        "now": now,
        "data_template": canonical_template(data, {"cycle": "%1$s", "due_at": "%2$s"}),
    }


# What FIRE_BATCH returns of each fired request for its event, after FIRED_FIELDS: its status,
# the event's data (canonical JSON text), its head (seq, hash; NULL for a request with none)
# and the rest of its state.
_STATE_AFTER = ("assign_due_at", "answer_due_at", "rating", "reopen_count", "closed_at")


def fire_batch(cursor, **arguments) -> list[dict]:
    """FIRE_BATCH: re-read, climb, insert the firings and read what fired, in one statement
    (arguments: `fire_query`'s); then append the fired requests' events (`timeline.append_many`).

    Run under the batch's lock, in a statement of its own, so that it sees what committed
    before the lock: a transition since the batch was chosen may have stopped the clock.
    Only what the cases, messages and events need of the requests this sweep fired (the
    firing key's ON CONFLICT DO NOTHING leaves out those another sweep fired) comes back; the
    events' data is built by the database from the canonical template, and their state comes
    as integers. The events are sealed in Python: the HMAC key must never reach the database
    (in a statement it would show in pg_stat_activity and the server's logs), and COPY writes
    them (`core.bulk.insert_rows`). Due times come back as text: psycopg's timestamptz loader
    under Django is pure Python.

    The shape keeps each step to index lookups of the batch's own rows, whatever the planner
    estimates: the due deadlines are re-read request by request (LATERAL, with OFFSET 0 so
    that it is not flattened into a scan of every pending deadline), deadlines and heads are
    found by their ids as one array (`= ANY(ARRAY(...))`, an index scan, where a join to the
    CTE let the planner read the whole table). Every pending row the batch locked climbs past
    the rung, fired now or before (another sweep, or stages reset after the ladder changed).
    """
    cursor.execute(*fire_query(**arguments))
    fired, events, heads, states = [], [], {}, {}
    width = len(FIRED_FIELDS)
    for pk, due_text, *values in cursor.fetchall():
        fields = dict(zip(FIRED_FIELDS, values[:width], strict=True))
        status, data, seq, head_hash, *state = values[width:]
        fired.append({"pk": pk, "due": _utc(due_text), **fields})
        events.append(NewEvent(pk, arguments["action"], status, arguments["note"], data))
        if seq is not None:
            heads[pk] = (seq, head_hash)
        states[pk] = {
            "status": status,
            "department_id": fields["department_id"],
            "handler_id": fields["handler_id"],
            **dict(zip(_STATE_AFTER, state, strict=True)),
        }
    append_many(events, arguments["now"], heads, states)
    return fired


# The forms of "… ago", in the order of NOTIFY_BATCH's `ago_form` (1 to 6).
AGO_FORMS = tuple(
    f"ago_{unit}_{form}" for unit in ("day", "hour", "minute") for form in ("one", "other")
)
_NO_WHEN = {"when_due": [], "when_was": [], "ago_words": "{}"}
_NAMED = re.compile(r"%\((\w+)\)s")


def _when_params(defaults: dict[str, list[str]]) -> dict:
    """The reminder's `when` words, each language's, as format() templates: "is due at %1$s",
    "was due %2$s ago, at %1$s", and the six "%1$s day(s)"-style forms as a 2-D array."""
    return {
        "when_due": [_positional(text, ("due",)) for text in defaults["when_due"]],
        "when_was": [_positional(text, ("due", "ago")) for text in defaults["when_was"]],
        "ago_words": text_matrix(
            [
                [_positional(text, ("count",)) for text in by_form]
                for by_form in zip(*(defaults[form] for form in AGO_FORMS), strict=True)
            ]
        ),
    }


def _positional(text: str, names: tuple[str, ...]) -> str:
    """Python's "%(due)s" as format()'s "%1$s", by its place in `names` ("%%" stays as it is:
    format() reads it as a percent sign too)."""
    return _NAMED.sub(lambda match: f"%{names.index(match[1]) + 1}$s", text)


def text_matrix(rows: list[list[str]]) -> str:
    """A 2-D PostgreSQL text[] literal, each element quoted."""
    return "{" + ",".join("{" + ",".join(map(quoted, row)) + "}" for row in rows) + "}"


def _utc(text: str | None) -> dt.datetime | None:
    # fromisoformat is C, and reads PostgreSQL's text form ("2026-10-08 01:00:00.5+00").
    return None if text is None else dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def notify_batch(
    cursor,
    *,
    words: InboxWords,
    requests: list[int],
    due_column: str,
    time_zone: str,
    link: str,
    now: dt.datetime,
) -> tuple[int, list[int]]:
    """NOTIFY_BATCH: the inbox rows of a batch's messages, filled in from the requests' rows.

    Rendering and shipping 200,000 messages from Python was the largest share of a large
    sweep; only the (request, recipient) pairs travel. Each language's words come translated
    (`notifications.messages.inbox_words`, placeholders numbered by NOTICE_FIELDS); a request
    never assigned names `unassigned` for its department. A message that names `when` (the
    reminder) takes its words from the defaults `firing.message_defaults` gives, and says how
    long ago the clock was due as `firing.overdue_by` counts it. `link` holds "{}" for the
    request's id. Returns the count and the ids of the rows with an e-mail to send.
    """
    prefix, suffix = link.split("{}")
    names_when = "when" in words.placeholders
    when = _when_params(words.defaults) if names_when else _NO_WHEN
    cursor.execute(
        _text(NOTIFY_BATCH, due_column),
        {
            "recipients": words.recipients,
            "languages": words.languages,
            "email_wanted": words.email_wanted,
            "items": int_array(words.items),
            "readers": int_array(words.readers),
            "kind": words.kind,
            "subjects": words.subjects,
            "bodies": words.bodies,
            # Only a message that names the department joins it (the join is dropped otherwise).
            "names_department": "department" in words.placeholders,
            "unassigned": words.defaults["department"],
            # The department's English name for a reader of English (`Department.display_name`).
            "english": [code.startswith("en") for code in words.language_codes],
            "clock_words": words.defaults["clock"],
            "names_when": names_when,
            **when,
            "now": now,
            "time_zone": time_zone,
            "link_prefix": prefix,
            "link_suffix": suffix,
            "requests": int_array(requests),
        },
    )
    count, ids = cursor.fetchone()
    return count, ids or []
