"""The timelines of the read benchmark's requests, as the workflow would have written them:
each event sealed with the portal's timeline key in Python (the key never reaches the
database, as in the sweep) and written with COPY, a batch of requests at a time."""

import datetime as dt

from django.db import connection, transaction

from core.bulk import insert_rows
from requests_app import sealing
from requests_app.models import (
    GENESIS_HASH,
    STATE_COLUMNS,
    RequestEvent,
    TimelineHead,
    event_message,
    request_state,
)
from requests_app.timeline import EVENT_COLUMNS

BATCH = 20_000
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
_READ = (
    "id",
    *STATE_COLUMNS,
    "submitted_at",
    "assigned_at",
    "answered_at",
    "answer_paused_at",
    "extension_state",
    "liaison_id",
    "merged_into_id",
)
_ENDED = {"rejected": "reject", "withdrawn": "withdraw", "merged": "merge"}


def seal_timelines(leader_id: int) -> None:
    """Every request's events and timeline head, in batches of BATCH requests."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM requests_app_servicerequest")
        low, high = cursor.fetchone()
    if low is None:
        return
    key_id = sealing.current_key_id()
    keyed = sealing.mac(key_id)
    for start in range(low, high + 1, BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(_READ)} FROM requests_app_servicerequest "  # noqa: S608
                "WHERE id >= %s AND id < %s ORDER BY id",
                [start, start + BATCH],
            )
            events, heads = [], []
            for values in cursor.fetchall():
                row = dict(zip(_READ, values, strict=True))
                chain = _sealed(row, _steps(row, leader_id), key_id, keyed)
                events.extend(chain)
                heads.append((row["id"], chain[-1][1], chain[-1][10]))
            insert_rows(RequestEvent, EVENT_COLUMNS, events)
            insert_rows(TimelineHead, ("request_id", "seq", "hash"), heads)


def _steps(row: dict, leader_id: int) -> list[tuple]:
    """(action, actor, from, to, time, note, data, state changes) of the request's history."""
    submitted = row["submitted_at"]
    steps: list[tuple] = [
        ("submitted", None, "", "submitted", submitted, "", {"source": "web"}, {})
    ]
    status = row["status"]
    if status == "submitted":
        return steps
    if status in _ENDED:
        actor = None if status == "withdrawn" else row["liaison_id"]
        note = "不属于受理范围" if status == "rejected" else ""
        data = {"into": row["merged_into_id"]} if status == "merged" else {}
        steps.append(
            (_ENDED[status], actor, "submitted", status, submitted + 2 * HOUR, note, data, {})
        )
        return steps
    handler, assigned = row["handler_id"], row["assigned_at"]
    placed = {"department_id": row["department_id"], "handler_id": handler}
    steps.append(("assign", row["liaison_id"], "submitted", "assigned", assigned, "", {}, placed))
    if status == "assigned":
        return steps
    started = assigned + 10 * MINUTE
    steps.append(("start", handler, "assigned", "rectifying", started, "", {}, {}))
    if row["extension_state"] in ("pending", "approved"):
        plan = "分阶段整改，十日内办结。"
        steps.append(
            ("extend", handler, "rectifying", "rectifying", started + 5 * MINUTE, plan, {}, {})
        )
        if row["extension_state"] == "approved":
            moment = started + 8 * MINUTE
            steps.append(
                ("approve_extension", leader_id, "rectifying", "rectifying", moment, "", {}, {})
            )
    if status == "info_needed":
        moment = row["answer_paused_at"]
        steps.append(
            ("request_info", handler, "rectifying", "info_needed", moment, "请补充材料", {}, {})
        )
    if status in ("rectifying", "info_needed"):
        return steps
    answered = row["answered_at"]
    steps.append(("feedback", handler, "rectifying", "feedback", answered, "已协调办理。", {}, {}))
    if status == "feedback":
        return steps
    if row["reopen_count"]:
        reopened = {"reopen_count": 1}
        steps.append(
            (
                "review",
                None,
                "feedback",
                "rectifying",
                answered + 2 * HOUR,
                "仍未解决",
                {"accepted": False},
                reopened,
            )
        )
        steps.append(
            (
                "feedback",
                handler,
                "rectifying",
                "feedback",
                answered + 4 * HOUR,
                "再次办理。",
                {},
                reopened,
            )
        )
    rating = {"accepted": True, "rating": row["rating"]}
    steps.append(("review", None, "feedback", "closed", row["closed_at"], "", rating, {}))
    return steps


def _sealed(row: dict, steps: list[tuple], key_id: str, keyed) -> list[tuple]:
    """The rows of the request's events: chained, sealed, the last one's state the row's."""
    final = request_state(row)
    state = {**final, "department_id": None, "handler_id": None, "rating": None}
    state.update(reopen_count=0, closed_at=None)
    prev_hash, rows = GENESIS_HASH, []
    for seq, (action, actor, from_status, to_status, moment, note, data, changes) in enumerate(
        steps, start=1
    ):
        state = {**state, **changes, "status": to_status}
        if seq == len(steps):
            state = final
        fields = {
            "request_id": row["id"],
            "seq": seq,
            "action": action,
            "actor_id": actor,
            "from_status": from_status,
            "to_status": to_status,
            "note": note,
            "data": data,
            "created_at": moment,
            "state": state,
        }
        mac = keyed.copy()
        mac.update(event_message(prev_hash, **fields))
        digest = mac.hexdigest()
        rows.append(
            (row["id"], seq, action, actor, from_status, to_status, note, data, moment)
            + (prev_hash, digest, key_id, state)
        )
        prev_hash = digest
    return rows
