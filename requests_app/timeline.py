"""The append-only, hash-chained timeline of a request: appending events and verifying the chain."""

from dataclasses import dataclass

from requests_app.models import GENESIS_HASH, RequestEvent, ServiceRequest


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
    last = (
        RequestEvent.objects.filter(request=request).order_by("-seq").values("seq", "hash").first()
    )
    event = RequestEvent(
        request=request,
        seq=(last["seq"] + 1) if last else 1,
        action=action,
        actor=actor,
        from_status=from_status,
        to_status=to_status or from_status,
        note=note,
        data=data or {},
        created_at=now,
        prev_hash=last["hash"] if last else GENESIS_HASH,
    )
    event.hash = event.compute_hash()
    event.save()
    ServiceRequest.objects.filter(pk=request.pk).update(timeline_head=event.hash)
    request.timeline_head = event.hash
    return event


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
    head = ServiceRequest.objects.filter(pk=request.pk).values_list("timeline_head", flat=True)[0]
    if count == 0 or prev_hash != head:
        # Every request is born with an event, and the newest hash is kept on the request:
        # a missing tail shows up here even though the remaining chain is intact.
        return ChainCheck(ok=False, events=count, first_bad_event=None)
    return ChainCheck(ok=True, events=count, first_bad_event=None)


def _count(request: ServiceRequest) -> int:
    return RequestEvent.objects.filter(request=request).count()
