"""What the permission table's rows of the records and visit URLs point at
(tests/test_permissions.py): a record hank keeps about acme, and his visit filing for it."""

import datetime as dt

from django.utils import timezone

from compliance import services, visits


def _record(keep, **facts):
    def target(world, persona) -> dict:
        judged = keep(by=world.cast.hank, enterprise=world.cast.acme, **facts)
        return {"pk": judged.record.pk}

    return target


def _visit(world, persona) -> dict:
    # A Tuesday-to-Tuesday window a week ahead: acme keeps no quiet days.
    start = timezone.now() + dt.timedelta(days=7)
    filed = visits.file_visit(
        by=world.cast.hank,
        enterprise=world.cast.acme,
        planned_start=start,
        planned_end=start + dt.timedelta(hours=2),
        purpose="service",
    )
    return {"pk": filed.filing.pk}


RECORD_TARGETS = {
    "interaction": _record(
        services.record_interaction,
        kind="meeting",
        occurred_at=timezone.now() - dt.timedelta(hours=1),
    ),
    "gift": _record(
        services.record_gift,
        direction="received",
        kind="goods",
        value_cny=50,
        received_at=timezone.now() - dt.timedelta(days=1),
    ),
    "asset_use": _record(
        services.record_asset_use, asset="equipment", start=timezone.localdate(), returned=True
    ),
    "declaration": _record(services.record_declaration, relation="part_time_role"),
    "visit": _visit,
}
