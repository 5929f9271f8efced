"""What each action does to the locked request row, and what it records on the timeline.

Only `workflow.transition()` (and `workflow.correct_request()` for `correct`) calls these, with
the row locked and the role and state already checked; they validate their own input
(InvalidInput) and never touch `status`. They change the instance they are given; the workflow
saves the columns that changed.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compliance.selectors import conflicts
from core.errors import InvalidInput
from core.template_filters import minute_text
from officials.models import Category, Department, Role, User
from requests_app.models import OPEN_STATUSES, ExtensionState, ServiceRequest
from requests_app.timeline import append_event
from requests_app.working_time import add_working_time

# How a liaison reached the enterprise for a follow-up call (回访), as API.md names them.
FOLLOW_UP_CHANNELS = {
    "phone": gettext_lazy("Phone call"),
    "visit": gettext_lazy("Visit"),
    "meeting": gettext_lazy("Meeting"),
}
CONTACT_NAME_MAX = 100


@dataclass
class Change:
    """What an action handler reports back for the timeline event."""

    note: str = ""
    data: dict = field(default_factory=dict)


# --- one function per action -----------------


def require(condition: bool, field_name: str, message: str) -> None:
    if not condition:
        raise InvalidInput({field_name: [message]})


class Recusal(InvalidInput):
    """A conflict of interest (回避): the official declared a tie to the request's enterprise.

    Refused like any bad input (400, per field); `workflow.transition` then records the recusal
    on the timeline in a transaction of its own, since the refused change rolls back.
    """

    def __init__(self, field_name: str, message: str, *, official: User, role: str, declaration):
        super().__init__({field_name: [message]})
        self.message = message
        self.official = official
        self.role = role
        self.declaration_id = declaration


def check_recusal(request, official: User, role: str, field_name: str) -> None:
    """Refuse to put `official` (as handler or liaison) on a request of an enterprise they
    declared a tie to."""
    declared = conflicts(request.enterprise_id, [official.pk])
    if official.pk not in declared:
        return
    if role == "liaison":
        message = _(
            "%(name)s declared a tie to this enterprise and must recuse (回避): another liaison "
            "or an administrator must handle this request."
        )
    else:
        message = _(
            "%(name)s declared a tie to this enterprise and must recuse (回避): choose another "
            "handler."
        )
    raise Recusal(
        field_name,
        message % {"name": official.display_name},
        official=official,
        role=role,
        declaration=declared[official.pk],
    )


def assign(
    request, *, by, now, clocks, department: Department, handler: User | None = None, note: str = ""
) -> Change:
    _check_handler(department, handler)
    if handler is not None:
        check_recusal(request, handler, "handler", "handler")
    if by.role == Role.LIAISON:
        check_recusal(request, by, "liaison", "liaison")
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
    require(
        handler.role == Role.HANDLER
        and handler.department_id == department.pk
        and handler.is_active,
        "handler",
        _("This person is not a handler of the chosen department."),
    )


def reject(request, *, by, now, clocks, reason: str) -> Change:
    require(bool(reason.strip()), "reason", _("Say why the request is out of scope."))
    return Change(note=reason)


def merge(request, *, by, now, clocks, into: ServiceRequest, note: str = "") -> Change:
    from requests_app.selectors import requests_visible_to

    require(into.pk != request.pk, "into", _("A request cannot be merged into itself."))
    require(
        requests_visible_to(by).filter(pk=into.pk).exists(),
        "into",
        _("No such request."),
    )
    # `into` is the target as transition() locked and read it together with this request, in
    # id order (so two merges that point at each other cannot deadlock): its status is current.
    require(into.status in OPEN_STATUSES, "into", _("The request to merge into is no longer open."))
    request.merged_into = into
    append_event(
        into,
        action="merge_received",
        actor=by,
        now=now,
        from_status=into.status,
        note=note,
        data={"request": request.pk, "reference": request.reference},
    )
    return Change(note=note, data={"into": into.pk, "reference": into.reference})


def start(request, *, by, now, clocks) -> Change:
    # Whoever signs for it works on it: a tie declared since the assignment counts too.
    check_recusal(request, by, "handler", "handler")
    if request.handler_id is None:
        request.handler = by
    return Change()


def transfer(request, *, by, now, clocks, department: Department, reason: str) -> Change:
    require(bool(reason.strip()), "reason", _("Say why the request is transferred."))
    require(
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


def request_info(request, *, by, now, clocks, question: str) -> Change:
    require(bool(question.strip()), "question", _("Ask a question."))
    request.answer_paused_at = now
    return Change(note=question)


def provide_info(request, *, by, now, clocks, answer: str) -> Change:
    require(bool(answer.strip()), "answer", _("Give an answer."))
    paused_at = request.answer_paused_at or now
    data = {}
    if request.answer_due_at and request.answer_due_at > paused_at:
        left = clocks.time_left(paused_at, request.answer_due_at)
        request.answer_due_at = clocks.resume(now, left)
        data["time_left_seconds"] = int(left.total_seconds())
    request.answer_paused_at = None
    return Change(note=answer, data=data)


def feedback(request, *, by, now, clocks, message: str) -> Change:
    require(bool(message.strip()), "message", _("Say what was done."))
    request.answered_at = request.answered_at or now
    # Each round (the first answer and each after a reopen) is judged against its own clock: a
    # late round stays counted even when a later one comes in time.
    if request.answer_due_at is not None and now > request.answer_due_at:
        request.late_rounds += 1
    return Change(note=message)


def extend(request, *, by, now, clocks, until: dt.datetime, plan: str) -> Change:
    require(bool(plan.strip()), "plan", _("An extension needs a plan: steps and dates."))
    require(until > now, "until", _("The new date must be in the future."))
    require(
        request.answer_due_at is None or until > request.answer_due_at,
        "until",
        _("The new date must be later than the current answer deadline."),
    )
    # A plan, not an open-ended postponement; and every later view of the request counts
    # working time up to this date, so it stays near. Found by adding time: constant cost.
    days = settings.DEADLINE_EXTENSION_MAX_DAYS
    latest = add_working_time(now, dt.timedelta(days=days), clocks.calendar)
    require(
        until <= latest,
        "until",
        _("An extension reaches at most %(days)d working days ahead: %(latest)s at the latest.")
        % {"days": days, "latest": minute_text(latest)},
    )
    request.extension_state = ExtensionState.PENDING
    request.extension_until = until
    request.extension_plan = plan
    return Change(note=plan, data={"until": until.isoformat()})


def approve_extension(request, *, by, now, clocks, note: str = "") -> Change:
    request.extension_state = ExtensionState.APPROVED
    request.answer_due_at = request.extension_until
    return Change(note=note, data={"until": request.extension_until.isoformat()})


def refuse_extension(request, *, by, now, clocks, reason: str) -> Change:
    """The plan is not accepted: the answer clock runs on as it was, and the handler may ask
    again with a better plan."""
    require(bool(reason.strip()), "reason", _("Say why the extension is refused."))
    request.extension_state = ExtensionState.REFUSED
    return Change(note=reason, data={"until": request.extension_until.isoformat()})


def _reopen(request, now, clocks) -> None:
    """重办: back to work with a fresh answer clock for the new round (the workflow then brings
    the deadline rows in step: a new cycle climbs the escalation ladder afresh)."""
    request.reopen_count += 1
    request.rating = None
    request.rated_on_follow_up = False
    request.extension_state = ExtensionState.NONE
    request.answer_due_at = clocks.answer_due(now)


def review(
    request,
    *,
    by,
    now,
    clocks,
    accepted: bool,
    rating: int | None = None,
    comment: str = "",
    follow_up: dict | None = None,
) -> Change:
    """The enterprise's verdict on the answer: given by the enterprise itself, or recorded by a
    liaison after a follow-up call (回访), which is then a timeline event of its own."""
    errors: dict = {}
    on_follow_up = by.role != Role.ENTREPRENEUR
    call = _follow_up_call(follow_up, now, errors) if on_follow_up else None
    if not on_follow_up and follow_up is not None:
        errors["follow_up"] = [_("Only a liaison records a follow-up call.")]
    if accepted and not (rating is not None and 1 <= rating <= 5):
        errors["rating"] = [_("Give a rating from 1 to 5 to accept.")]
    if not accepted:
        if not comment.strip():
            errors["comment"] = [_("Say why the answer is not acceptable.")]
        if rating is not None:
            errors["rating"] = [_("A rejection takes no rating: say what is still wrong.")]
    if errors:
        raise InvalidInput(errors)
    data = {"accepted": accepted, "rating": rating, "on_follow_up": on_follow_up}
    if call is not None:
        append_event(
            request,
            action="follow_up",
            actor=by,
            now=now,
            from_status=request.status,
            to_status=request.status,
            note=call["note"],
            data={**call, "rating": rating, "accepted": accepted},
        )
    if accepted:
        request.rating = rating
        # Only a rating the enterprise gave itself counts in `satisfaction`.
        request.rated_on_follow_up = on_follow_up
        request.closed_at = now
        return Change(note=comment, data=data)
    _reopen(request, now, clocks)
    data["reopen_count"] = request.reopen_count
    return Change(note=comment, data=data)


def _follow_up_call(follow_up: dict | None, now, errors: dict) -> dict | None:
    """The follow-up call a liaison's review records, as the event keeps it; problems go to
    `errors` under "follow_up" (per field, as the API's input serializer words them)."""
    if not isinstance(follow_up, dict):
        errors["follow_up"] = [
            _("A liaison's review records the follow-up call: channel, when, with whom, note.")
        ]
        return None
    channel = follow_up.get("channel")
    given = follow_up.get("contacted_at")
    aware = isinstance(given, dt.datetime) and timezone.is_aware(given)
    contacted_at: dt.datetime | None = given if aware else None
    name = str(follow_up.get("contact_name") or "").strip()
    note = str(follow_up.get("note") or "").strip()
    problems: dict[str, list[str]] = {}
    if channel not in FOLLOW_UP_CHANNELS:
        problems["channel"] = [_("Choose how the enterprise was reached.")]
    if contacted_at is None:
        problems["contacted_at"] = [_("Say when the call took place.")]
    elif contacted_at > now:
        problems["contacted_at"] = [_("The call cannot take place in the future.")]
    if not name:
        problems["contact_name"] = [_("Say whom you spoke to at the enterprise.")]
    elif len(name) > CONTACT_NAME_MAX:
        problems["contact_name"] = [_("This text is too long.")]
    if not note:
        problems["note"] = [_("Note what the enterprise said.")]
    if problems or contacted_at is None:
        errors["follow_up"] = problems
        return None
    return {
        "channel": channel,
        "contacted_at": contacted_at.isoformat(),
        "contact_name": name,
        "note": note,
    }


def dispute(request, *, by, now, clocks, reason: str) -> Change:
    """The enterprise disputes a close made on a liaison's follow-up call (the workflow checks
    the window): reopened, with a fresh answer clock, and the call's rating no longer counts."""
    require(bool(reason.strip()), "reason", _("Say why the request is not solved."))
    closed_at = request.closed_at
    _reopen(request, now, clocks)
    request.closed_at = None
    return Change(
        note=reason,
        data={
            "reopen_count": request.reopen_count,
            "closed_at": closed_at.isoformat() if closed_at else None,
        },
    )


def withdraw(request, *, by, now, clocks, reason: str = "") -> Change:
    return Change(note=reason)


def comment(request, *, by, now, clocks, text: str) -> Change:
    require(bool(text.strip()), "text", _("Write a comment."))
    return Change(note=text)


# --- an administrator's correction (not a transition: the status stays) -------------------------


def _too_long(field_name: str, value: str) -> bool:
    field = ServiceRequest._meta.get_field(field_name)
    limit = getattr(field, "max_length", None)
    return limit is not None and len(value) > limit


def correct(
    request,
    *,
    reason: str,
    title: str | None = None,
    description: str | None = None,
    category: Category | None = None,
) -> Change:
    """Set the given title, description and category; the event keeps each changed field's
    old and new value (the category by its code, as the API names it)."""
    require(bool(reason.strip()), "reason", _("Say why the request is corrected."))
    for name, value, empty in (
        ("title", title, _("Give the request a title.")),
        ("description", description, _("Describe the problem.")),
    ):
        if value is not None:
            require(bool(value.strip()), name, empty)
            require(not _too_long(name, value), name, _("This text is too long."))
    data: dict[str, dict] = {}
    for name, value in (("title", title), ("description", description)):
        if value is not None and value != getattr(request, name):
            data[name] = {"old": getattr(request, name), "new": value}
            setattr(request, name, value)
    if category is not None and category.pk != request.category_id:
        data["category"] = {"old": request.category.code, "new": category.code}
        request.category = category
    require(bool(data), "non_field_errors", _("Nothing differs from the request as it is."))
    return Change(note=reason, data=data)
