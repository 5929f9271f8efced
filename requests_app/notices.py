"""Who hears what when a request moves: one table of (event, message kind, audience, condition).

The words live with every other outbound message in `notifications.messages`; this module only
decides, for one committed change, which kind of message goes to whom. `WHO_HEARS` is the whole
rule: the README's "Who hears what" table is printed from it (`manage.py who_hears_what`), and
`tests/notifications/test_who_hears_what.py` drives each row through the real workflow.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from core.template_filters import minute_text
from notifications import messages
from officials.models import Role, User, lazy_display_name
from requests_app.approvers import extension_approvers
from requests_app.deadlines import dispute_until
from requests_app.models import ServiceRequest, Status
from requests_app.routing import region_admins


@dataclass(frozen=True)
class Notice:
    event: str  # a workflow action, or "submit" / "liaison_recused"
    kind: str  # a key of notifications.messages.MESSAGES
    audience: str  # a key of AUDIENCES
    when: str = "always"  # a key of CONDITIONS


@dataclass(frozen=True)
class Moment:
    """What the table's conditions and audiences may look at."""

    request: ServiceRequest
    by: User
    region_admins: list[User]


def _members(moment: Moment) -> list[User]:
    return list(moment.request.enterprise.members.filter(is_active=True))


def _handlers(moment: Moment) -> list[User]:
    """The request's handler; before anyone signed for it, every handler of its department."""
    request = moment.request
    if request.handler_id:
        return [request.handler]
    if not request.department_id:
        return []
    return list(
        User.objects.filter(role=Role.HANDLER, department_id=request.department_id, is_active=True)
    )


def _liaison(moment: Moment) -> list[User]:
    return [moment.request.liaison] if moment.request.liaison_id else []


def _approvers(moment: Moment) -> list[User]:
    # Nobody linked and no department head: the region's administrators decide (API.md).
    return extension_approvers(moment.request) or moment.region_admins


def _region_admins(moment: Moment) -> list[User]:
    return moment.region_admins


# key: (who, as the README says it; the people)
AUDIENCES: dict[str, tuple[str, Callable[[Moment], list[User]]]] = {
    "enterprise": ("the enterprise's people", _members),
    "handler": ("the handler (before signing: every handler of the department)", _handlers),
    "liaison": ("the request's liaison", _liaison),
    "approvers": (
        "the enterprise's linked leader; else the department head; else the region's admins",
        _approvers,
    ),
    "region_admins": ("the administrators of the enterprise's region", _region_admins),
}

# key: (when, as the README says it; the test)
CONDITIONS: dict[str, tuple[str, Callable[[Moment], bool]]] = {
    "always": ("", lambda moment: True),
    "has_liaison": ("it has a liaison", lambda moment: moment.request.liaison_id is not None),
    "no_liaison": (
        "no liaison may take it",
        lambda moment: moment.request.liaison_id is None,
    ),
    "closed_by_enterprise": (
        "the enterprise accepted",
        lambda moment: moment.request.status == Status.CLOSED and moment.by.role != Role.LIAISON,
    ),
    "rejected_by_enterprise": (
        "the enterprise rejected the answer",
        lambda moment: moment.request.status != Status.CLOSED and moment.by.role != Role.LIAISON,
    ),
    "closed_on_follow_up": (
        "a liaison closed it on a follow-up call",
        lambda moment: moment.request.status == Status.CLOSED and moment.by.role == Role.LIAISON,
    ),
    "reopened_on_follow_up": (
        "a liaison reopened it on a follow-up call",
        lambda moment: moment.request.status != Status.CLOSED and moment.by.role == Role.LIAISON,
    ),
}

WHO_HEARS: tuple[Notice, ...] = (
    Notice("submit", "new_request", "liaison", "has_liaison"),
    Notice("submit", "request_unrouted", "region_admins", "no_liaison"),
    Notice("liaison_recused", "liaison_reassigned", "liaison", "has_liaison"),
    Notice("liaison_recused", "request_unrouted", "region_admins", "no_liaison"),
    Notice("assign", "request_assigned", "enterprise"),
    Notice("assign", "handler_assigned", "handler"),
    Notice("reject", "request_rejected", "enterprise"),
    Notice("merge", "request_merged", "enterprise"),
    Notice("transfer", "request_assigned", "enterprise"),
    Notice("transfer", "handler_assigned", "handler"),
    Notice("request_info", "info_requested", "enterprise"),
    Notice("provide_info", "info_provided", "handler"),
    Notice("feedback", "feedback_given", "enterprise"),
    Notice("review", "request_closed", "handler", "closed_by_enterprise"),
    Notice("review", "request_closed", "liaison", "closed_by_enterprise"),
    Notice("review", "answer_rejected", "handler", "rejected_by_enterprise"),
    Notice("review", "answer_rejected", "liaison", "rejected_by_enterprise"),
    Notice("review", "follow_up_closed", "enterprise", "closed_on_follow_up"),
    Notice("review", "request_closed", "handler", "closed_on_follow_up"),
    Notice("review", "follow_up_reopened", "enterprise", "reopened_on_follow_up"),
    Notice("review", "answer_rejected", "handler", "reopened_on_follow_up"),
    Notice("dispute", "request_disputed", "handler"),
    Notice("dispute", "request_disputed", "liaison"),
    Notice("extend", "extension_pending", "approvers"),
    Notice("approve_extension", "extension_approved", "handler"),
    Notice("refuse_extension", "extension_refused", "handler"),
    Notice("withdraw", "request_withdrawn", "handler"),
    Notice("withdraw", "request_withdrawn", "liaison"),
)


def _when(moment) -> str:
    return minute_text(moment) if moment else "—"


def _dispute_until(request: ServiceRequest) -> str:
    if request.status != Status.CLOSED or not request.rated_on_follow_up:
        return "—"
    return _when(dispute_until(request.closed_at))


def notify(
    request: ServiceRequest,
    event: str,
    note: str,
    by: User,
    now,
    region_admins: list[User] | None = None,
) -> None:
    """Write the inbox rows that `event` owes (inside its transaction; e-mail after commit)."""
    moment = Moment(request, by, list(region_admins or []))
    plan: dict[str, list[User]] = {}
    for notice in WHO_HEARS:
        if notice.event != event or not CONDITIONS[notice.when][1](moment):
            continue
        plan.setdefault(notice.kind, []).extend(AUDIENCES[notice.audience][1](moment))
    if not plan:
        return
    context = {
        "reference": request.reference,
        "title": request.title,
        "enterprise": request.enterprise.name,
        "department": lazy_display_name(request.department) if request.department_id else "—",
        "assign_due": _when(request.assign_due_at),
        "answer_due": _when(request.answer_due_at),
        "until": _when(request.extension_until),
        "dispute_until": _dispute_until(request),
        "note": note,
    }
    link = reverse("requests:detail", args=[request.pk])
    rows = []
    for kind, recipients in plan.items():
        # Nobody is told about what they did themselves.
        others = [user for user in recipients if user is not None and user.pk != by.pk]
        rows += messages.build(others, kind, context, link, now=now)
    messages.save_and_send(rows)


def after_submit(request: ServiceRequest, by: User, now, region_admins: list[User]) -> None:
    """A new request: its liaison is told; with no liaison who may take it, the region's
    administrators are (a request always reaches someone who can assign it)."""
    notify(request, "submit", "", by, now, region_admins)


def after_liaison_reassigned(
    request: ServiceRequest, by: User, now, region_admins: list[User]
) -> None:
    """The liaison recused: the liaison who takes over is told, or the region's administrators
    when nobody else may take it."""
    notify(request, "liaison_recused", "", by, now, region_admins)


def after_transition(request: ServiceRequest, action: str, note: str, by: User, now) -> None:
    """The messages one committed transition owes."""
    # Only an extension nobody is linked to decide falls back to the region's administrators.
    admins = region_admins(request.enterprise) if action == "extend" else []
    notify(request, action, note, by, now, admins)
