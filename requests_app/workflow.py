"""Every change of a request's status: one transition table and one `transition()` that applies it.

Nothing else in the code base assigns `ServiceRequest.status` (a test checks this). Each
transition runs in one database transaction with the request row locked (select_for_update),
checks role and state, saves, appends a hash-chained timeline event and refreshes the clocks.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from officials.models import Category, Department, Enterprise, EnterpriseLink, LinkKind, Role, User
from officials.selectors import enterprises_visible_to
from requests_app.deadlines import Clocks
from requests_app.models import (
    ON_BEHALF_SOURCES,
    OPEN_STATUSES,
    ExtensionState,
    ServiceRequest,
    Source,
    Status,
)
from requests_app.timeline import append_event


class WorkflowError(Exception):
    """Base of the errors a client can cause; the API maps each to its status code."""


class NotPermitted(WorkflowError):
    """The user may see the request but may not do this (HTTP 403)."""


class InvalidTransition(WorkflowError):
    """The action is not allowed in the request's current state (HTTP 409)."""

    def __init__(self, message: str, status: str):
        super().__init__(message)
        self.status = status


class InvalidInput(WorkflowError):
    """The action is allowed, but what came with it is not (HTTP 400, per field)."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Change:
    """What an action handler reports back for the timeline event."""

    note: str = ""
    data: dict = field(default_factory=dict)


Handler = Callable[..., Change]


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


# --- action handlers: each mutates the locked request and says what to record -----------------


def _require(condition: bool, field_name: str, message: str) -> None:
    if not condition:
        raise InvalidInput({field_name: [message]})


def _assign(
    request, *, by, now, clocks, department: Department, handler: User | None = None, note: str = ""
) -> Change:
    _check_handler(department, handler)
    request.department = department
    request.handler = handler
    request.assigned_at = request.assigned_at or now
    if request.liaison_id is None and by.role == Role.LIAISON:
        request.liaison = by  # 首接负责制: the liaison who takes it follows it to the end
    data = {"department": department.pk, "handler": handler.pk if handler else None}
    return Change(note=note, data=data)


def _check_handler(department: Department, handler: User | None) -> None:
    if handler is None:
        return
    _require(
        handler.role == Role.HANDLER
        and handler.department_id == department.pk
        and handler.is_active,
        "handler",
        _("This person is not a handler of the chosen department."),
    )


def _reject(request, *, by, now, clocks, reason: str) -> Change:
    _require(bool(reason.strip()), "reason", _("Say why the request is out of scope."))
    return Change(note=reason)


def _merge(request, *, by, now, clocks, into: ServiceRequest, note: str = "") -> Change:
    from requests_app.selectors import requests_visible_to

    _require(into.pk != request.pk, "into", _("A request cannot be merged into itself."))
    _require(
        requests_visible_to(by).filter(pk=into.pk).exists(),
        "into",
        _("No such request."),
    )
    # transition() already holds the lock on both rows (taken in id order, so two merges that
    # point at each other cannot deadlock).
    target = ServiceRequest.objects.get(pk=into.pk)
    _require(
        target.status in OPEN_STATUSES, "into", _("The request to merge into is no longer open.")
    )
    request.merged_into = target
    append_event(
        target,
        action="merge_received",
        actor=by,
        now=now,
        from_status=target.status,
        note=note,
        data={"request": request.pk, "reference": request.reference},
    )
    return Change(note=note, data={"into": target.pk, "reference": target.reference})


def _start(request, *, by, now, clocks) -> Change:
    if request.handler_id is None:
        request.handler = by
    return Change()


def _transfer(request, *, by, now, clocks, department: Department, reason: str) -> Change:
    _require(bool(reason.strip()), "reason", _("Say why the request is transferred."))
    _require(
        department.pk != request.department_id,
        "department",
        _("The request is already with this department."),
    )
    previous = request.department_id
    request.department = department
    request.handler = None
    request.transfer_count += 1
    # The clocks keep running: passing a request around never buys time.
    return Change(
        note=reason,
        data={
            "from_department": previous,
            "to_department": department.pk,
            "transfers": request.transfer_count,
        },
    )


def _request_info(request, *, by, now, clocks, question: str) -> Change:
    _require(bool(question.strip()), "question", _("Ask a question."))
    request.answer_paused_at = now
    return Change(note=question)


def _provide_info(request, *, by, now, clocks, answer: str) -> Change:
    _require(bool(answer.strip()), "answer", _("Give an answer."))
    paused_at = request.answer_paused_at or now
    data = {}
    if request.answer_due_at and request.answer_due_at > paused_at:
        left = clocks.time_left(paused_at, request.answer_due_at)
        request.answer_due_at = clocks.resume(now, left)
        data["time_left_seconds"] = int(left.total_seconds())
    request.answer_paused_at = None
    return Change(note=answer, data=data)


def _feedback(request, *, by, now, clocks, message: str) -> Change:
    _require(bool(message.strip()), "message", _("Say what was done."))
    request.answered_at = request.answered_at or now
    return Change(note=message)


def _extend(request, *, by, now, clocks, until: dt.datetime, plan: str) -> Change:
    _require(bool(plan.strip()), "plan", _("An extension needs a plan: steps and dates."))
    _require(until > now, "until", _("The new date must be in the future."))
    _require(
        request.answer_due_at is None or until > request.answer_due_at,
        "until",
        _("The new date must be later than the current answer deadline."),
    )
    request.extension_state = ExtensionState.PENDING
    request.extension_until = until
    request.extension_plan = plan
    return Change(note=plan, data={"until": until.isoformat()})


def _approve_extension(request, *, by, now, clocks, note: str = "") -> Change:
    request.extension_state = ExtensionState.APPROVED
    request.answer_due_at = request.extension_until
    return Change(note=note, data={"until": request.extension_until.isoformat()})


def _review(
    request,
    *,
    by,
    now,
    clocks,
    accepted: bool,
    rating: int | None = None,
    comment: str = "",
    channel: str = "",
) -> Change:
    data = {"accepted": accepted, "rating": rating, "channel": channel}
    if accepted:
        _require(
            rating is not None and 1 <= rating <= 5,
            "rating",
            _("Give a rating from 1 to 5 to accept."),
        )
        request.rating = rating
        request.closed_at = now
        return Change(note=comment, data=data)
    _require(bool(comment.strip()), "comment", _("Say why the answer is not acceptable."))
    # 重办: reopened, with a fresh answer clock for the new round of work.
    request.reopen_count += 1
    request.rating = None
    request.extension_state = ExtensionState.NONE
    request.answer_due_at = clocks.answer_due(now)
    data["reopen_count"] = request.reopen_count
    return Change(note=comment, data=data)


def _withdraw(request, *, by, now, clocks, reason: str = "") -> Change:
    return Change(note=reason)


def _comment(request, *, by, now, clocks, text: str) -> Change:
    _require(bool(text.strip()), "text", _("Write a comment."))
    return Change(note=text)


# --- who may act -------------------------------------------------------------------------------


def _own_department(request: ServiceRequest, user: User) -> bool:
    return user.role != Role.HANDLER or (
        user.department_id is not None and user.department_id == request.department_id
    )


def _pending_extension(request: ServiceRequest) -> bool:
    return request.extension_state == ExtensionState.PENDING


def _no_pending_extension(request: ServiceRequest) -> bool:
    return request.extension_state != ExtensionState.PENDING


S = Status
R = Role
_OPEN = frozenset(OPEN_STATUSES)
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
            _assign,
        ),
        Transition(
            "reject",
            frozenset({S.SUBMITTED}),
            S.REJECTED,
            frozenset({R.LIAISON, R.ADMIN}),
            gettext_lazy("Reject as out of scope"),
            _reject,
        ),
        Transition(
            "merge",
            frozenset({S.SUBMITTED, S.ASSIGNED}),
            S.MERGED,
            frozenset({R.LIAISON, R.ADMIN}),
            gettext_lazy("Merge as duplicate"),
            _merge,
        ),
        Transition(
            "start",
            frozenset({S.ASSIGNED}),
            S.RECTIFYING,
            frozenset({R.HANDLER}),
            gettext_lazy("Sign for it and start"),
            _start,
            may=_own_department,
        ),
        Transition(
            "transfer",
            frozenset({S.ASSIGNED, S.RECTIFYING}),
            S.ASSIGNED,
            frozenset({R.HANDLER, R.LIAISON, R.ADMIN}),
            gettext_lazy("Transfer to another department"),
            _transfer,
            may=_own_department,
        ),
        Transition(
            "request_info",
            frozenset({S.RECTIFYING}),
            S.INFO_NEEDED,
            frozenset({R.HANDLER}),
            gettext_lazy("Ask the enterprise for information"),
            _request_info,
            may=_own_department,
        ),
        Transition(
            "provide_info",
            frozenset({S.INFO_NEEDED}),
            S.RECTIFYING,
            frozenset({R.ENTREPRENEUR}),
            gettext_lazy("Answer the question"),
            _provide_info,
        ),
        Transition(
            "feedback",
            frozenset({S.RECTIFYING}),
            S.FEEDBACK,
            frozenset({R.HANDLER}),
            gettext_lazy("Give feedback"),
            _feedback,
            may=_own_department,
        ),
        Transition(
            "extend",
            frozenset({S.RECTIFYING}),
            None,
            frozenset({R.HANDLER}),
            gettext_lazy("Ask for an extension"),
            _extend,
            may=_own_department,
            guard=_no_pending_extension,
        ),
        Transition(
            "approve_extension",
            frozenset({S.RECTIFYING}),
            None,
            frozenset({R.LEADER, R.ADMIN}),
            gettext_lazy("Approve the extension"),
            _approve_extension,
            guard=_pending_extension,
        ),
        Transition(
            "review",
            frozenset({S.FEEDBACK}),
            S.CLOSED,  # or back to rectifying
            frozenset({R.ENTREPRENEUR, R.LIAISON}),
            gettext_lazy("Review the answer"),
            _review,
        ),
        Transition(
            "withdraw",
            _OPEN,
            S.WITHDRAWN,
            frozenset({R.ENTREPRENEUR}),
            gettext_lazy("Withdraw"),
            _withdraw,
        ),
        Transition(
            "comment", _ALL, None, frozenset(Role.values), gettext_lazy("Comment"), _comment
        ),
    ]
}
ACTIONS = tuple(TRANSITIONS)


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
    """Actions `user` may take on `request` now; no queries (used for every row of a list)."""
    return [
        action
        for action, spec in TRANSITIONS.items()
        if user.role in spec.roles
        and spec.may(request, user)
        and request.status in spec.sources
        and spec.guard(request)
    ]


def transition(
    request_id: int, action: str, *, by: User, now: dt.datetime | None = None, **payload
) -> ServiceRequest:
    """Apply `action` to the request, atomically, or raise and change nothing.

    `now` exists for replaying history (the demo seed); every live caller leaves it to
    `timezone.now()`, never the database clock.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # The row lock serialises concurrent actions on one request: the second waits, then
        # sees the new state and is refused with 409 instead of acting twice.
        request = _lock(request_id, payload)
        spec = check(request, action, by)
        from_status = request.status
        change = spec.handler(request, by=by, now=now, clocks=Clocks.current(), **payload)
        request.status = _target(spec, request, payload)
        request.save()
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
    return ServiceRequest.objects.with_related().get(pk=request.pk)


def _lock(request_id: int, payload: dict) -> ServiceRequest:
    """Lock the request, and a merge target with it, always in ascending id order."""
    ids = {request_id}
    if isinstance(payload.get("into"), ServiceRequest):
        ids.add(payload["into"].pk)
    locked = {
        row.pk: row
        for row in ServiceRequest.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }
    if request_id not in locked:
        raise ServiceRequest.DoesNotExist
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
        _require(
            source in (Source.WEB, Source.API),
            "source",
            _("Enterprises file through the web or the API."),
        )
    elif by.role in (Role.LIAISON, Role.LEADER, Role.ADMIN):
        _require(source in ON_BEHALF_SOURCES, "source", _("Choose where the request came from."))
    else:
        raise NotPermitted(_("Your role does not file requests."))
    _require(
        enterprises_visible_to(by).filter(pk=enterprise.pk).exists(),
        "enterprise",
        _("You cannot file requests for this enterprise."),
    )
    _require(bool(title.strip()), "title", _("Give the request a title."))
    _require(bool(description.strip()), "description", _("Describe the problem."))
    clocks = Clocks.current()
    with transaction.atomic():
        request = ServiceRequest.objects.create(
            enterprise=enterprise,
            category=category,
            title=title,
            description=description,
            source=source,
            submitted_by=by,
            submitted_at=now,
            liaison=_linked_liaison(enterprise, by, now),
            assign_due_at=clocks.assign_due(now),
            answer_due_at=clocks.answer_due(now),
        )
        # The human number is derived from the primary key, so it is unique without a counter.
        request.reference = f"QQ{timezone.localtime(now):%Y}{request.pk:07d}"
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
    return ServiceRequest.objects.with_related().get(pk=request.pk)


def _linked_liaison(enterprise: Enterprise, by: User, now: dt.datetime) -> User | None:
    if by.role == Role.LIAISON:
        return by
    link = (
        EnterpriseLink.objects.active(timezone.localtime(now).date())
        .filter(enterprise=enterprise, kind=LinkKind.LIAISON, official__is_active=True)
        .select_related("official")
        .order_by("start", "id")
        .first()
    )
    return link.official if link else None
