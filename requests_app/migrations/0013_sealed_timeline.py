"""Keyed timeline hashes (issue 13): each event names the key that sealed it and records the
request's state after it. Chains written before the keys are sealed here if they verify under
the old unkeyed hash: their events are re-hashed with the current key, and the last event
records the row's state as it stands now. A chain that does not verify is left as it is, so that
`verify` keeps reporting it (an unkeyed event never verifies after this migration).
"""

import itertools
from operator import attrgetter

from django.db import migrations, models

BATCH = 500


def seal_existing_chains(apps, schema_editor):
    from requests_app import sealing
    from requests_app.models import (
        GENESIS_HASH,
        STATE_COLUMNS,
        event_hash,
        request_state,
        unkeyed_hashes,
    )

    Request = apps.get_model("requests_app", "ServiceRequest")
    Event = apps.get_model("requests_app", "RequestEvent")
    Head = apps.get_model("requests_app", "TimelineHead")
    key_id = sealing.current_key_id()
    after = 0
    while True:
        rows = {
            row["pk"]: row
            for row in Request.objects.filter(pk__gt=after)
            .order_by("pk")
            .values("pk", *STATE_COLUMNS)[:BATCH]
        }
        if not rows:
            break
        heads = {head.request_id: head for head in Head.objects.filter(request_id__in=rows)}
        events = Event.objects.filter(request_id__in=rows, key_id="").order_by("request_id", "seq")
        changed_events, changed_heads = [], []
        for request_id, group in itertools.groupby(events, key=attrgetter("request_id")):
            chain = list(group)
            head = heads.get(request_id)
            if head is None or not _intact(chain, head, GENESIS_HASH, unkeyed_hashes):
                continue
            prev_hash = GENESIS_HASH
            for event in chain:
                last = event is chain[-1]
                event.state = request_state(rows[request_id]) if last else None
                event.prev_hash, event.key_id = prev_hash, key_id
                event.hash = event_hash(prev_hash, key_id=key_id, **_fields(event))
                prev_hash = event.hash
                changed_events.append(event)
            head.hash = prev_hash
            changed_heads.append(head)
        Event.objects.bulk_update(changed_events, ["prev_hash", "hash", "key_id", "state"], 1000)
        Head.objects.bulk_update(changed_heads, ["hash"], 1000)
        after = max(rows)


def _fields(event) -> dict:
    return {
        "request_id": event.request_id,
        "seq": event.seq,
        "action": event.action,
        "actor_id": event.actor_id,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
        "data": event.data,
        "created_at": event.created_at,
        "state": event.state,
    }


def _intact(chain, head, genesis, unkeyed_hashes) -> bool:
    prev_hash = genesis
    for expected, event in enumerate(chain, start=1):
        if event.seq != expected or event.prev_hash != prev_hash:
            return False
        if event.hash not in unkeyed_hashes(event.prev_hash, **{**_fields(event), "state": None}):
            return False
        prev_hash = event.hash
    return (head.seq, head.hash) == (chain[-1].seq, chain[-1].hash)


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0012_follow_up_late_rounds_fallback"),
    ]

    operations = [
        migrations.AddField(
            model_name="requestevent",
            name="key_id",
            field=models.CharField(blank=True, db_default="", default="", max_length=16),
        ),
        migrations.AddField(
            model_name="requestevent",
            name="state",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(seal_existing_chains, migrations.RunPython.noop, elidable=True),
    ]
