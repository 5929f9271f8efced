"""Who hears what when a request moves: the recipients of each action's message.

The words live with every other outbound message in `notifications.messages`; this module only
decides, for one committed transition, which kind of message goes to whom.
"""

from django.urls import reverse
from django.utils import timezone

from notifications import messages
from officials.models import EnterpriseLink, LinkKind, Role, User
from requests_app.models import ServiceRequest, Status


def _members(request: ServiceRequest) -> list[User]:
    return list(request.enterprise.members.filter(is_active=True))


def _department_handlers(request: ServiceRequest) -> list[User]:
    if request.handler_id:
        return [request.handler]
    return list(
        User.objects.filter(role=Role.HANDLER, department_id=request.department_id, is_active=True)
    )


def _leaders(request: ServiceRequest) -> list[User]:
    links = EnterpriseLink.objects.active().filter(
        enterprise_id=request.enterprise_id, kind=LinkKind.LEADER, official__is_active=True
    )
    return [link.official for link in links.select_related("official")]


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def after_submit(request: ServiceRequest, by: User, now, region_admins: list[User]) -> None:
    """A new request: its liaison is told; with no liaison who may take it, the region's
    administrators are (a request always reaches someone who can assign it)."""
    if request.liaison_id:
        plan = [("new_request", [request.liaison])]
    else:
        plan = [("request_unrouted", list(region_admins))]
    _send(request, plan, "", by, now)


def after_liaison_reassigned(
    request: ServiceRequest, by: User, now, region_admins: list[User]
) -> None:
    """The liaison recused: the liaison who takes over is told, or the region's administrators
    when nobody else may take it."""
    if request.liaison_id:
        plan = [("liaison_reassigned", [request.liaison])]
    else:
        plan = [("request_unrouted", list(region_admins))]
    _send(request, plan, "", by, now)


def after_transition(request: ServiceRequest, action: str, note: str, by: User, now) -> None:
    """Write the inbox rows for this transition (inside its transaction; e-mail after commit)."""
    plan = []
    if action == "assign":
        plan = [
            ("request_assigned", _members(request)),
            ("handler_assigned", _department_handlers(request)),
        ]
    elif action == "transfer":
        plan = [("handler_assigned", _department_handlers(request))]
    elif action == "request_info":
        plan = [("info_requested", _members(request))]
    elif action == "feedback":
        plan = [("feedback_given", _members(request) + [request.liaison])]
    elif action == "review" and request.status == Status.CLOSED:
        plan = [("request_closed", _members(request) + [request.handler])]
    elif action == "extend":
        plan = [("extension_pending", _leaders(request))]
    _send(request, plan, note, by, now)


def _send(request: ServiceRequest, plan: list, note: str, by: User, now) -> None:
    if not plan:
        return
    context = {
        "reference": request.reference,
        "title": request.title,
        "enterprise": request.enterprise.name,
        "department": request.department.name if request.department_id else "—",
        "assign_due": _when(request.assign_due_at),
        "answer_due": _when(request.answer_due_at),
        "until": _when(request.extension_until),
        "note": note,
    }
    link = reverse("requests:detail", args=[request.pk])
    rows = []
    for kind, recipients in plan:
        # Nobody is told about what they did themselves.
        others = [user for user in recipients if user is not None and user.pk != by.pk]
        rows += messages.build(others, kind, context, link, now=now)
    messages.save_and_send(rows)
