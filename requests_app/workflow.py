"""Every change of a request's status: one transition table and one `transition()` that applies it.

Nothing else in the code base assigns `ServiceRequest.status` (a test checks this). Each
transition runs in one database transaction with the request row locked (select_for_update),
checks role and state, saves the columns the action changed, appends a hash-chained timeline
event and refreshes the clocks. An administrator's correction of a request's text or category
(`correct_request`) takes the same path without changing the status.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compliance import history as compliance_history
from core.errors import InvalidInput, InvalidTransition, NotPermitted, WorkflowError
from officials.models import Category, Enterprise, Role, User
from officials.selectors import enterprises_visible_to
from requests_app import changes, notices, routing
from requests_app.approvers import may_decide_extension
from requests_app.deadlines import Clocks, dispute_until, sync_deadlines
from requests_app.models import (
    ON_BEHALF_SOURCES,
    OPEN_STATUSES,
    ExtensionState,
    ServiceRequest,
    Source,
    Status,
)
from requests_app.timeline import append_event

__all__ = [
    "ACTIONS",
    "TRANSITIONS",
    "InvalidInput",
    "InvalidTransition",
    "NotPermitted",
    "WorkflowError",
    "allowed_actions",
    "check",
    "correct_request",
    "submit_request",
    "transition",
]


Handler = Callable[..., changes.Change]


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str | None  # None: the status does not change
    roles: frozenset[str]
    label: object  # lazy translated name of the action, for pages
    handler: Handler
    # Object-level rule beyond the role (e.g. "a handler of the request's own department").
    may: Callable[[ServiceRequest, User], bool] = lambda request, user: True
    # State detail beyond the status (e.g. "an extension is pending").
    guard: Callable[[ServiceRequest], bool] = lambda request: True


# --- who may act -------------------------------------------------------------------------------


def _own_department(request: ServiceRequest, user: User) -> bool:
    return user.role != Role.HANDLER or (
        user.department_id is not None and user.department_id == request.department_id
    )


def _pending_extension(request: ServiceRequest) -> bool:
    return request.extension_state == ExtensionState.PENDING


def _no_pending_extension(request: ServiceRequest) -> bool:
    return request.extension_state != ExtensionState.PENDING


def _disputable(request: ServiceRequest) -> bool:
    """Closed on a liaison's follow-up call (not by the enterprise's own review), and still
    within the dispute window. Judged at the wall clock: a guard has no other `now`."""
    return (
        request.rated_on_follow_up
        and request.closed_at is not None
        and timezone.now() <= dispute_until(request.closed_at)
    )


S = Status
R = Role
_OPEN = frozenset(OPEN_STATUSES)
# An extension is decided by a person, not a role (`approvers.may_decide_extension`): the linked
# leader, else the handling department's head (whatever their role), or an administrator.
_OFFICIALS = frozenset(Role.values) - {R.ENTREPRENEUR}
_ALL = frozenset(Status.values)

TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        Transition(
            "assign",
            frozenset({S.SUBMITTED}),
            S.ASSIGNED,
            frozenset({R.LIAISON, R.ADMIN}),
            gettext_lazy("Assign"),
            changes.assign,
        ),
        Transition(
            "reject",
            frozenset({S.SUBMITTED}),
            S.REJECTED,
            frozenset({R.LIAISON, R.ADMIN}),
            gettext_lazy("Reject as out of scope"),
            changes.reject,
        ),
        Transition(
            "merge",
            frozenset({S.SUBMITTED, S.ASSIGNED}),
            S.MERGED,
            frozenset({R.LIAISON, R.ADMIN}),
            gettext_lazy("Merge as duplicate"),
            changes.merge,
        ),
        Transition(
            "start",
            frozenset({S.ASSIGNED}),
            S.RECTIFYING,
            frozenset({R.HANDLER}),
            gettext_lazy("Sign for it and start"),
            changes.start,
            may=_own_department,
        ),
        Transition(
            "transfer",
            frozenset({S.ASSIGNED, S.RECTIFYING}),
            S.ASSIGNED,
            frozenset({R.HANDLER, R.LIAISON, R.ADMIN}),
            gettext_lazy("Transfer to another department"),
            changes.transfer,
            may=_own_department,
        ),
        Transition(
            "request_info",
            frozenset({S.RECTIFYING}),
            S.INFO_NEEDED,
            frozenset({R.HANDLER}),
            gettext_lazy("Ask the enterprise for information"),
            changes.request_info,
            may=_own_department,
        ),
        Transition(
            "provide_info",
            frozenset({S.INFO_NEEDED}),
            S.RECTIFYING,
            frozenset({R.ENTREPRENEUR}),
            gettext_lazy("Answer the question"),
            changes.provide_info,
        ),
        Transition(
            "feedback",
            frozenset({S.RECTIFYING}),
            S.FEEDBACK,
            frozenset({R.HANDLER}),
            gettext_lazy("Give feedback"),
            changes.feedback,
            may=_own_department,
        ),
        Transition(
            "extend",
            frozenset({S.RECTIFYING}),
            None,
            frozenset({R.HANDLER}),
            gettext_lazy("Ask for an extension"),
            changes.extend,
            may=_own_department,
            guard=_no_pending_extension,
        ),
        Transition(
            "approve_extension",
            frozenset({S.RECTIFYING}),
            None,
            _OFFICIALS,
            gettext_lazy("Approve the extension"),
            changes.approve_extension,
            may=may_decide_extension,
            guard=_pending_extension,
        ),
        Transition(
            "refuse_extension",
            frozenset({S.RECTIFYING}),
            None,
            _OFFICIALS,
            gettext_lazy("Refuse the extension"),
            changes.refuse_extension,
            may=may_decide_extension,
            guard=_pending_extension,
        ),
        Transition(
            "review",
            frozenset({S.FEEDBACK}),
            S.CLOSED,  # or back to rectifying
            frozenset({R.ENTREPRENEUR, R.LIAISON}),
            gettext_lazy("Review the answer"),
            changes.review,
        ),
        Transition(
            "dispute",
            frozenset({S.CLOSED}),
            S.RECTIFYING,
            frozenset({R.ENTREPRENEUR}),
            gettext_lazy("Dispute the follow-up call"),
            changes.dispute,
            guard=_disputable,
        ),
        Transition(
            "withdraw",
            _OPEN,
            S.WITHDRAWN,
            frozenset({R.ENTREPRENEUR}),
            gettext_lazy("Withdraw"),
            changes.withdraw,
        ),
        Transition(
            "comment", _ALL, None, frozenset(Role.values), gettext_lazy("Comment"), changes.comment
        ),
    ]
}
ACTIONS = tuple(TRANSITIONS)
# The transitions open to each role, in TRANSITIONS' order (`allowed_actions` asks this for every
# row of a list: a role is offered a handful of the actions).
_BY_ROLE: dict[str, tuple[tuple[str, Transition], ...]] = {
    role: tuple((action, spec) for action, spec in TRANSITIONS.items() if role in spec.roles)
    for role in Role.values
}


def _target(spec: Transition, request: ServiceRequest, payload: dict) -> str:
    if spec.action == "review" and not payload.get("accepted"):
        return Status.RECTIFYING
    return spec.target or request.status


# --- checking and applying -----------------------------------------------------------------------


def check(request: ServiceRequest, action: str, user: User) -> Transition:
    """Raise NotPermitted (403) or InvalidTransition (409) unless `user` may do `action` now.

    The caller has already established that the user may see the request (else 404).
    """
    spec = TRANSITIONS.get(action)
    if spec is None:
        raise InvalidTransition(_("Unknown action."), request.status)
    if user.role not in spec.roles or not spec.may(request, user):
        raise NotPermitted(_("You may not do this to this request."))
    if request.status not in spec.sources or not spec.guard(request):
        raise InvalidTransition(
            _("“%(action)s” is not possible while the request is %(status)s.")
            % {"action": spec.label, "status": Status(request.status).label},
            request.status,
        )
    return spec


def allowed_actions(request: ServiceRequest, user: User) -> list[str]:
    """Actions `user` may take on `request` now; no queries (used for every row of a list).

    The object-level rule comes last: it is asked only where role and state allow the action,
    and what it reads for a list is prefetched (`approvers.prefetch_linked_leaders`).
    """
    status = request.status
    return [
        action
        for action, spec in _BY_ROLE.get(user.role, ())
        if status in spec.sources and spec.guard(request) and spec.may(request, user)
    ]


def transition(
    request_id: int, action: str, *, by: User, now: dt.datetime | None = None, **payload
) -> ServiceRequest:
    """Apply `action` to the request, atomically, or raise and change nothing.

    `now` exists for replaying history (the demo seed); every live caller leaves it to
    `timezone.now()`, never the database clock.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            # The row lock serialises concurrent actions on one request: the second waits,
            # then sees the new state and is refused with 409 instead of acting twice.
            request = _lock(request_id, payload)
            spec = check(request, action, by)
            from_status = request.status
            before = _columns(request)
            change = spec.handler(request, by=by, now=now, clocks=Clocks.current(), **payload)
            request.status = _target(spec, request, payload)
            _save_changed(request, before)
            sync_deadlines(request)
            append_event(
                request,
                action=action,
                actor=by,
                now=now,
                from_status=from_status,
                to_status=request.status,
                note=change.note,
                data=change.data,
            )
            notices.after_transition(request, action, change.note, by, now)
            if action in HISTORY_ACTIONS:
                _judge_history(request, action, change, by, now)
    except changes.Recusal as refusal:
        # The refused change rolled back; the recusal itself is history worth keeping.
        _record_recusal(request_id, action, refusal, by, now)
        raise
    return request


def correct_request(
    request_id: int,
    *,
    by: User,
    reason: str,
    title: str | None = None,
    description: str | None = None,
    category: Category | None = None,
    now: dt.datetime | None = None,
) -> ServiceRequest:
    """An administrator corrects an open request's title, description or category (a typo, a
    misfiled category); fields left None stay as they are.

    The status does not change and the clocks read none of these fields. Closed, rejected,
    merged and withdrawn requests are not corrected: their record is what the enterprise and
    the department acted on, and the reports have counted it. The `corrected` event keeps the
    old and new value of each changed field, with the reason as its note.
    """
    now = now or timezone.now()
    with transaction.atomic():
        request = _lock(request_id, {})
        if by.role != Role.ADMIN:
            raise NotPermitted(_("Only an administrator corrects a request."))
        if request.status not in OPEN_STATUSES:
            raise InvalidTransition(
                _("A request that is %(status)s is no longer corrected.")
                % {"status": Status(request.status).label},
                request.status,
            )
        before = _columns(request)
        change = changes.correct(
            request, reason=reason, title=title, description=description, category=category
        )
        _save_changed(request, before)
        append_event(
            request,
            action="corrected",
            actor=by,
            now=now,
            from_status=request.status,
            note=change.note,
            data=change.data,
        )
    return request


def _columns(request: ServiceRequest) -> dict[str, object]:
    """The row's column values as loaded, to tell afterwards which ones an action changed."""
    return {field.name: getattr(request, field.attname) for field in request._meta.concrete_fields}


def _save_changed(request: ServiceRequest, before: dict[str, object]) -> None:
    """Save only the columns that differ from `before` (nothing, when none does).

    Why not the whole row: a save writes back every column as this instance holds it, so a
    write that landed after the read (another service in the same transaction, say) would
    be silently undone in the columns the action never meant to touch.
    """
    changed = [name for name, value in _columns(request).items() if value != before[name]]
    if changed:
        request.save(update_fields=[*changed, "updated_at"])


# Actions after which the request's history is judged for N11 (推诿扯皮, repeated 不满意).
HISTORY_ACTIONS = frozenset({"transfer", "review", "dispute"})


def _judge_history(request: ServiceRequest, action: str, change, by: User, now) -> None:
    """Hand the request's counts to the compliance engine (plain facts: compliance does not
    import this app). Runs under the row lock, inside the transition's transaction."""
    if action == "transfer":
        # The unit that passed it on answers for the transfer, not the one receiving it.
        department_id = change.data.get("from_department")
        official_id = by.pk if by.role == Role.HANDLER else None
    else:
        department_id, official_id = request.department_id, request.handler_id
    compliance_history.judge_request_history(
        request_id=request.pk,
        reference=request.reference or "",
        enterprise_id=request.enterprise_id,
        region=request.enterprise.region,
        department_id=department_id,
        official_id=official_id,
        transfers=request.transfer_count,
        rejected_reviews=request.reopen_count,
        now=now,
    )


def _record_recusal(request_id: int, action: str, refusal, by: User, now) -> None:
    """Append the `recusal` event in a transaction of its own, with the row locked. When the
    request's own liaison recused, the request passes to the next liaison `routing` names (or
    to nobody, and the region's administrators are told): the event keeps both, as `liaison`."""
    with transaction.atomic():
        locked = ServiceRequest.objects.select_for_update(of=("self",)).with_related()
        request = locked.get(pk=request_id)
        data = {
            "official": refusal.official.pk,
            "role": refusal.role,
            "declaration": refusal.declaration_id,
            "refused": action,
        }
        reassign = refusal.role == "liaison" and request.liaison_id == refusal.official.pk
        if reassign:
            passed_over = frozenset({refusal.official.pk})
            new = routing.route(request.enterprise, on=routing.today(now), passed_over=passed_over)
            taker = new.liaison.pk if new.liaison else None
            data["liaison"] = {"from": request.liaison_id, "to": taker}
            request.liaison = new.liaison
            request.save(update_fields=["liaison", "updated_at"])
        append_event(
            request,
            action="recusal",
            actor=by,
            now=now,
            from_status=request.status,
            note=refusal.message,
            data=data,
        )
        if reassign:
            admins = routing.region_admins(request.enterprise) if request.liaison is None else []
            notices.after_liaison_reassigned(request, by, now, admins)


def _lock(request_id: int, payload: dict) -> ServiceRequest:
    """Lock and read the request, and a merge target with it, in one query, in ascending id
    order; the locked target replaces the caller's copy in `payload`.

    This is the only read of the row: the action changes this instance, which is saved and
    returned. Its relations come in the same query so that the checks, the messages and the
    caller's response ask nothing more; only the request rows are locked (OF self), not the
    enterprise or the people.
    """
    ids = {request_id}
    into = payload.get("into")
    if isinstance(into, ServiceRequest):
        ids.add(into.pk)
    rows = (
        ServiceRequest.objects.select_for_update(of=("self",))
        .with_related()
        .filter(pk__in=ids)
        .order_by("pk")
    )
    locked = {row.pk: row for row in rows}
    if request_id not in locked:
        raise ServiceRequest.DoesNotExist
    if isinstance(into, ServiceRequest) and into.pk in locked:
        payload["into"] = locked[into.pk]
    return locked[request_id]


def submit_request(
    *,
    by: User,
    enterprise: Enterprise,
    category: Category,
    title: str,
    description: str,
    source: str = Source.WEB,
    now: dt.datetime | None = None,
) -> ServiceRequest:
    """File a new request (受理): both clocks start now."""
    now = now or timezone.now()
    if by.role == Role.ENTREPRENEUR:
        changes.require(
            source in (Source.WEB, Source.API),
            "source",
            _("Enterprises file through the web or the API."),
        )
    elif by.role in (Role.LIAISON, Role.LEADER, Role.ADMIN):
        changes.require(
            source in ON_BEHALF_SOURCES, "source", _("Choose where the request came from.")
        )
    else:
        raise NotPermitted(_("Your role does not file requests."))
    changes.require(
        enterprises_visible_to(by).filter(pk=enterprise.pk).exists(),
        "enterprise",
        _("You cannot file requests for this enterprise."),
    )
    changes.require(bool(title.strip()), "title", _("Give the request a title."))
    changes.require(bool(description.strip()), "description", _("Describe the problem."))
    clocks = Clocks.current()
    with transaction.atomic():
        liaison, recused = _linked_liaison(enterprise, by, now)
        # Nobody may take it: the region's administrators are told, and assign it themselves.
        admins = routing.region_admins(enterprise) if liaison is None else []
        request = ServiceRequest.objects.create(
            enterprise=enterprise,
            category=category,
            title=title,
            description=description,
            source=source,
            submitted_by=by,
            submitted_at=now,
            liaison=liaison,
            assign_due_at=clocks.assign_due(now),
            answer_due_at=clocks.answer_due(now),
        )
        # The human number is derived from the primary key, so it is unique without a counter.
        request.reference = f"QQ{timezone.localtime(now):%Y}{request.pk:07d}"
        sync_deadlines(request)
        ServiceRequest.objects.filter(pk=request.pk).update(reference=request.reference)
        append_event(
            request,
            action="submitted",
            actor=by,
            now=now,
            to_status=Status.SUBMITTED,
            note="",
            data={"source": source},
        )
        for official, declaration_id in recused:
            # Routed past a liaison with a conflict of interest: the timeline says so.
            append_event(
                request,
                action="recusal",
                actor=by,
                now=now,
                from_status=Status.SUBMITTED,
                note=_("%(name)s declared a tie to this enterprise and recused (回避).")
                % {"name": official.display_name},
                data={"official": official.pk, "role": "liaison", "declaration": declaration_id},
            )
        notices.after_submit(request, by, now, admins)
    return ServiceRequest.objects.with_related().get(pk=request.pk)


def _linked_liaison(
    enterprise: Enterprise, by: User, now: dt.datetime
) -> tuple[User | None, list[tuple[User, int]]]:
    """The liaison who follows the request (首接负责制; `routing` says who), and the linked
    liaisons passed over because they declared a tie to the enterprise (回避)."""
    first = by if by.role == Role.LIAISON else None
    chosen = routing.route(enterprise, on=routing.today(now), first=first)
    return chosen.liaison, chosen.recused
