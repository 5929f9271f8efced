"""How requests look on a page: clock badges and readable timeline rows. No queries per row."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import bilingual
from core.markup import escape
from core.template_filters import minute_text
from officials.models import Category, Department, department_name
from requests_app.changes import FOLLOW_UP_CHANNELS
from requests_app.deadlines import Clocks, DeadlinePolicy
from requests_app.models import EscalationRule, RequestEvent, ServiceRequest, Status, rule_name
from requests_app.routing import as_seen_by
from requests_app.working_time import Calendar, working_time_between

# Timeline events in the past tense; transitions name them in the imperative.
EVENT_LABELS = {
    "submitted": gettext_lazy("Filed"),
    "assign": gettext_lazy("Assigned"),
    "reject": gettext_lazy("Rejected as out of scope"),
    "merge": gettext_lazy("Merged as duplicate"),
    "merge_received": gettext_lazy("A duplicate was merged into this request"),
    "start": gettext_lazy("Signed for"),
    "transfer": gettext_lazy("Transferred"),
    "request_info": gettext_lazy("Information requested"),
    "provide_info": gettext_lazy("Information provided"),
    "feedback": gettext_lazy("Feedback given"),
    "extend": gettext_lazy("Extension requested"),
    "approve_extension": gettext_lazy("Extension approved"),
    "refuse_extension": gettext_lazy("Extension refused"),
    "follow_up": gettext_lazy("Follow-up call (回访)"),
    "dispute": gettext_lazy("Disputed by the enterprise: reopened"),
    "review": gettext_lazy("Reviewed"),
    "withdraw": gettext_lazy("Withdrawn"),
    "comment": gettext_lazy("Comment"),
    "attachment_added": gettext_lazy("File attached"),
    "reminder": gettext_lazy("Reminder"),
    "escalated": gettext_lazy("Escalated to the linked leader"),
    "accountability_opened": gettext_lazy("Accountability case opened"),
    "recusal": gettext_lazy("Recusal: conflict of interest (回避)"),
    "reassigned": gettext_lazy("Reassigned"),  # a recusal, as the enterprise sees it
    "corrected": gettext_lazy("Corrected by an administrator"),
    "clock_rebased": gettext_lazy("Deadline moved by the working-day calendar"),
}
# The clocks a `clock_rebased` event names.
CLOCK_LABELS = {
    "assign": gettext_lazy("Assign deadline"),
    "answer": gettext_lazy("Answer deadline"),
}
# How the enterprise was reached; "message" only in reviews recorded before follow-up calls.
CHANNEL_LABELS = {**FOLLOW_UP_CHANNELS, "message": gettext_lazy("Message")}
# The fields an administrator's correction may change, in the order the timeline lists them.
CORRECTED_FIELDS = ("title", "description", "category")


# --- clock badges --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Badge:
    text: str
    level: str  # ok, warn, late, paused
    due: dt.datetime | None = None

    def __html__(self) -> str:
        """The badge as the pages show it (`{{ badge }}`): one home for its markup, and rendered
        without a template include, which cost more than the rest of a queue row."""
        level, text = escape(self.level), escape(self.text)
        if self.due is None:
            return mark_safe(f'<span class="badge {level}">{text}</span>')  # noqa: S308
        due = minute_text(self.due)  # digits, dashes and a colon
        return mark_safe(f'<span class="badge {level}" title="{due}">{text}</span>')  # noqa: S308

    # Templates turn a value into text with str() before escaping it: the markup, marked safe.
    __str__ = __html__


def _span(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)dd %(hours)dh") % {"days": days, "hours": hours}
    if hours and minutes:
        return _("%(hours)dh %(minutes)dm") % {"hours": hours, "minutes": minutes}
    if hours:
        return _("%(hours)dh") % {"hours": hours}
    return _("%(minutes)dm") % {"minutes": minutes}


def clock_badge(
    service_request, now: dt.datetime, policy: DeadlinePolicy, calendar: Calendar | None = None
) -> Badge | None:
    """Countdown of the running clock; amber in its last DEADLINE_WARN_FRACTION.

    The clock's length is working time, so with a `calendar` the time left is measured in working
    time too (a Friday evening with a Monday-morning deadline is amber). The calendar loads a
    year at a time and caches it: a whole page costs a query or two, not one per row.
    """
    if service_request.status == Status.INFO_NEEDED:
        return Badge(_("Clock paused"), "paused")
    clock, due = service_request.running_clock, service_request.next_due_at
    if clock is None or due is None:
        return None
    left = due - now
    if left < dt.timedelta(0):
        return Badge(_("%(time)s overdue") % {"time": _span(-left)}, "late", due)
    length = policy.assign_duration if clock == "assign" else policy.answer_duration
    limit = length * settings.DEADLINE_WARN_FRACTION
    # Working time never exceeds natural time: only a clock not already amber needs the calendar.
    warn = left < limit or (
        calendar is not None and working_time_between(now, due, calendar) < limit
    )
    return Badge(_("%(time)s left") % {"time": _span(left)}, "warn" if warn else "ok", due)


# --- the request lists ---------------------------------------------------------------------------


def list_rows(rows, *, pick: bool, show_enterprise: bool, deadline: bool = True) -> SafeString:
    """The rows of a request list (the queue, the histories, the requests behind a report's
    figure) as `<tr>` markup, from (request, clock badge, status label) triples; `pick` adds
    the bulk bar's tick box, `deadline` the clock's column.

    Written here rather than in the template: a row's twenty template variables and tags cost
    about 140 µs, the whole table more than the rest of the page (docs/performance.md). The
    markup is what templates/requests/list.html wrote (tests/requests_app/test_list_rows.py
    holds the two side by side). Every value is escaped (core.markup.escape); a Badge is markup.
    """
    label = _escaped(
        select=_("Select"),
        enterprise=_("Enterprise"),
        category=_("Category"),
        status=_("Status"),
        department=_("Department"),
        deadline=_("Deadline"),
        filed=_("Filed on"),
        extension=_("Extension"),
    )
    detail_url = _pk_url("requests:detail")
    out = []
    for sr, badge, status in rows:
        reference = escape(sr.reference)
        cells = []
        if pick:
            cells.append(
                f'<td class="pick"><input type="checkbox" name="ids" value="{sr.pk}"'
                f' aria-label="{label["select"]} {reference}"></td>'
            )
        cells.append(
            f'<td class="title"><a href="{escape(detail_url(sr.pk))}">{escape(sr.title)}</a>'
            f' <div class="ref muted">{reference}</div></td>'
        )
        if show_enterprise:
            enterprise = escape(sr.enterprise.name)
            cells.append(f'<td data-label="{label["enterprise"]}">{enterprise}</td>')
        cells.append(f'<td data-label="{label["category"]}">{escape(sr.category.name)}</td>')
        extension = ""
        if sr.extension_state and sr.status == Status.RECTIFYING:
            state = escape(sr.get_extension_state_display())
            extension = f'<div class="small muted">{label["extension"]}: {state}</div>'
        cells.append(
            f'<td data-label="{label["status"]}"><span class="badge status status-'
            f'{escape(sr.status)}">{escape(status)}</span>{extension}</td>'
        )
        cells.append(f'<td data-label="{label["department"]}">{_department(sr)}</td>')
        if deadline:
            cells.append(f'<td data-label="{label["deadline"]}">{escape(badge or "—")}</td>')
        filed = minute_text(sr.submitted_at)
        cells.append(f'<td class="nowrap" data-label="{label["filed"]}">{filed}</td>')
        out.append(f"<tr>{''.join(cells)}</tr>")
    return mark_safe("\n".join(out))  # noqa: S308 - every value escaped above


def _department(sr) -> str:
    """A row's department in the reader's language, escaped; "—" before it is routed (what
    the templates' `sr.department.display_name|default:"—"` wrote)."""
    name = sr.department.display_name if sr.department_id else ""
    return escape(name or "—")


def _escaped(**texts) -> dict[str, str]:
    """A row's cell labels, each translated and escaped once a page."""
    return {key: escape(text) for key, text in texts.items()}


def _pk_url(name: str, *rest):
    """`pk -> reverse(name, args=[pk, *rest])`, reversing once: reverse() costs some 40 µs a
    call, a list's links 4 ms at 100 rows. A number of nine digits stands for the key and is
    replaced; a pattern whose URL does not hold it exactly once is reversed every time."""
    marker = "987654321"
    pattern = reverse(name, args=[int(marker), *rest])
    if pattern.count(marker) != 1:
        return lambda pk: reverse(name, args=[pk, *rest])
    head, _marker, tail = pattern.partition(marker)
    return lambda pk: f"{head}{int(pk)}{tail}"


# --- the supervision ledger ----------------------------------------------------------------------


@dataclass
class LedgerRow:
    request: ServiceRequest
    badge: Badge | None
    progress: str  # the latest timeline event, as a label
    progress_at: dt.datetime | None
    status: str = ""  # the status's label (get_status_display translates every choice a call)


def ledger_rows(requests, now: dt.datetime, clocks: Clocks) -> list[LedgerRow]:
    """Rows of the ledger from requests annotated with their latest event (no queries per row)."""
    return [
        LedgerRow(
            request=row,
            badge=clock_badge(row, now, clocks.policy, clocks.calendar),
            progress=EVENT_LABELS.get(row.progress_action, row.progress_action or ""),
            progress_at=row.progress_at,
            status=status_label(row.status),
        )
        for row in requests
    ]


def ledger_markup(rows: list[LedgerRow], *, struck_off: bool) -> SafeString:
    """The ledger's rows as `<tr>` markup (for the same reason as `list_rows`): what
    templates/requests/ledger.html wrote, held beside it in tests/requests_app/test_list_rows.py.
    """
    label = _escaped(
        department=_("Department"),
        plan=_("Plan"),
        progress=_("Progress"),
        struck_off=_("Struck off"),
        when=_("Struck off on") if struck_off else _("Next due"),
    )
    detail_url = _pk_url("requests:detail")
    out = []
    for row in rows:
        sr = row.request
        handler = ""
        if sr.handler_id:
            handler = f'<div class="small muted">{escape(sr.handler.display_name)}</div>'
        if struck_off:
            when = (
                f'<span class="badge status status-closed">{label["struck_off"]}</span>'
                f'<div class="nowrap small">{minute_text(sr.closed_at)}</div>'
            )
        else:
            status = (
                f'<span class="badge status status-{escape(sr.status)}">{escape(row.status)}</span>'
            )
            state = row.badge.__html__() if row.badge else status
            due = minute_text(sr.answer_due_at) or "—"
            when = f'<span class="nowrap">{due}</span><br>{state}'
        progress = escape(row.progress or "—")
        if row.progress_at:
            moment = timezone.localtime(row.progress_at)
            progress += (
                f'<div class="small muted nowrap"><time datetime="{moment.isoformat()}">'
                f"{minute_text(moment)}</time></div>"
            )
        out.append(
            "<tr>"
            # The space lets a phone, where the reference runs on after the title, break there.
            f'<td class="title"><a href="{escape(detail_url(sr.pk))}">{escape(sr.title)}</a>'
            f' <div class="ref muted">{escape(sr.reference)}</div>'
            f' <div class="small muted">{escape(sr.enterprise.name)}</div></td>'
            f'<td data-label="{label["department"]}">{_department(sr)}{handler}</td>'
            f'<td class="plan" data-label="{label["plan"]}">{_lines(sr.extension_plan)}</td>'
            f'<td data-label="{label["when"]}">{when}</td>'
            f'<td data-label="{label["progress"]}">{progress}</td>'
            "</tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value escaped above


def extension_markup(rows, *, csrf_token: str, back: str) -> SafeString:
    """The rows of the extensions waiting for a decision as `<tr>` markup, from (request, may
    decide) pairs (for the same reason as `list_rows`): what templates/requests/extensions.html
    wrote, held beside it in tests/requests_app/test_list_rows.py. A row the user decides
    carries its approve form: `csrf_token` is the page's token (one for all its forms, as the
    template's `{% csrf_token %}` gave), `back` the page to come back to."""
    label = _escaped(
        number=_("Number"),
        department=_("Department"),
        deadline=_("Current deadline"),
        until=_("Asked until"),
        plan=_("Plan"),
        approve=_("Approve"),
        refuse=_("Refuse…"),
    )
    detail_url = _pk_url("requests:detail")
    approve_url = _pk_url("requests:act", "approve_extension")
    token, back = escape(csrf_token), escape(back)
    out = []
    for sr, may_decide in rows:
        detail = escape(detail_url(sr.pk))
        decide = ""
        if may_decide:
            decide = (
                f'<form method="post" action="{escape(approve_url(sr.pk))}" class="actions-row">'
                f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
                f'<input type="hidden" name="next" value="{back}">'
                f'<button type="submit" class="primary">{label["approve"]}</button>'
                f'<a class="button secondary" href="{detail}?act=refuse_extension'
                f'#action-refuse_extension">{label["refuse"]}</a></form>'
            )
        plan = linebreaksbr(sr.extension_plan, autoescape=True)
        out.append(
            "<tr>"
            f'<td class="ref" data-label="{label["number"]}">{escape(sr.reference)}</td>'
            f'<td class="title"><a href="{detail}">{escape(sr.title)}</a>'
            f'<div class="small muted">{escape(sr.enterprise.name)}</div></td>'
            f'<td data-label="{label["department"]}">{_department(sr)}</td>'
            f'<td data-label="{label["deadline"]}">{minute_text(sr.answer_due_at)}</td>'
            f'<td data-label="{label["until"]}">{minute_text(sr.extension_until)}</td>'
            f'<td data-label="{label["plan"]}">{plan}</td>'
            f"<td>{decide}</td>"
            "</tr>"
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every value escaped above


def _lines(text: str) -> str:
    """`|linebreaksbr|default:"—"`, as the template wrote the plan."""
    return linebreaksbr(text, autoescape=True) if text else "—"


@dataclass
class EventRow:
    event: RequestEvent  # as stored: its chain is checked from it
    label: str
    from_label: str
    to_label: str
    details: list[str]
    note: str = ""  # what the row says: the note as typed, or the sweep's rule by its name


# The sweep's events: their note is the escalation rule's name as stored when it fired; the row
# names the rule (data["rule"]) in the reader's language instead.
SWEEP_ACTIONS = frozenset({"reminder", "escalated", "accountability_opened"})


def _sweep_rule(event) -> int | None:
    if event.action in SWEEP_ACTIONS and event.actor_id is None and event.data:
        rule = event.data.get("rule")
        return rule if isinstance(rule, int) else None
    return None


def _rule_names(events: list[RequestEvent]) -> dict[int, str]:
    """The names of the escalation rules the sweep's events fired, in the active language; no
    query when there are none."""
    ids = {rule for event in events if (rule := _sweep_rule(event)) is not None}
    if not ids:
        return {}
    rules = EscalationRule.objects.filter(pk__in=ids).values_list("pk", "name", "name_en")
    return {pk: rule_name(name, name_en) for pk, name, name_en in rules}


def _note(event, rule_names: dict[int, str]) -> str:
    rule = _sweep_rule(event)
    if rule is not None and rule in rule_names:
        return rule_names[rule]
    if rule is not None:  # a rule no longer stored: its name as stored, the reader's half
        return bilingual.in_language(event.note)
    return event.note


def status_label(value: str) -> str:
    return Status(value).label if value in Status.values else value


def _event_details(event, departments: dict, categories: dict) -> list[str]:
    data, details = event.data or {}, []
    if event.action == "corrected":
        return _correction_details(data, categories)
    for key in ("department", "to_department"):
        if data.get(key) in departments:
            details.append(_("Department: %s") % departments[data[key]])
    if event.action == "follow_up":
        details += _follow_up_details(data)
    if event.action == "clock_rebased":
        details += _rebased_details(data)
    if event.action in ("review", "follow_up"):
        verdict = _("accepted") if data.get("accepted") else _("not accepted")
        details.append(_("Verdict: %s") % verdict)
        if data.get("rating"):
            details.append(_("Rating: %d / 5") % data["rating"])
        if data.get("channel") and event.action == "review":  # reviews before follow-up calls
            details.append(_("Channel: %s") % CHANNEL_LABELS.get(data["channel"], data["channel"]))
    if data.get("until"):
        until = dt.datetime.fromisoformat(data["until"])
        details.append(_("Until: %s") % minute_text(until))
    if data.get("reference"):
        details.append(_("Request: %s") % data["reference"])
    return details


def _rebased_details(data: dict) -> list[str]:
    """Which clock the calendar moved, from when to when."""
    clock = CLOCK_LABELS.get(data.get("clock"), data.get("clock"))
    old, new = (
        minute_text(dt.datetime.fromisoformat(data[key])) for key in ("old_due_at", "new_due_at")
    )
    return [_("%(clock)s: %(old)s → %(new)s") % {"clock": clock, "old": old, "new": new}]


def _follow_up_details(data: dict) -> list[str]:
    """How, when and with whom the liaison spoke (the note is the event's own)."""
    details = [_("Channel: %s") % CHANNEL_LABELS.get(data.get("channel"), data.get("channel"))]
    if data.get("contacted_at"):
        contacted_at = dt.datetime.fromisoformat(data["contacted_at"])
        details.append(_("Contacted on: %s") % minute_text(contacted_at))
    if data.get("contact_name"):
        details.append(_("Spoke with: %s") % data["contact_name"])
    return details


def _correction_details(data: dict, categories: dict) -> list[str]:
    """One line per corrected field: its name, the old value and the new one."""
    details = []
    for name in CORRECTED_FIELDS:
        if name not in data:
            continue
        old, new = data[name].get("old", ""), data[name].get("new", "")
        if name == "category":  # stored by code; shown by its name in the page's language
            old, new = categories.get(old, old), categories.get(new, new)
        label = ServiceRequest._meta.get_field(name).verbose_name
        details.append(
            _("%(field)s corrected: “%(old)s” → “%(new)s”")
            % {"field": capfirst(label), "old": old, "new": new}
        )
    return details


def _category_names(events: list[RequestEvent]) -> dict[str, str]:
    """Names of the categories corrections mention, by code; no query when there are none."""
    codes = {
        value
        for event in events
        if event.action == "corrected"
        for value in (event.data.get("category") or {}).values()
    }
    if not codes:
        return {}
    return {category.code: category.name for category in Category.objects.filter(code__in=codes)}


def timeline_events(service_request) -> list[RequestEvent]:
    """The request's events in order, actors selected: what `rows_of_events` and
    `latest_answer` read, loaded once for the detail page."""
    return list(service_request.events.select_related("actor").order_by("seq"))


def event_rows(service_request, viewer=None) -> list[EventRow]:
    """The timeline's rows; with a `viewer`, as they may read it (`routing.as_seen_by`)."""
    return rows_of_events(timeline_events(service_request), viewer)


def rows_of_events(events: list[RequestEvent], viewer=None) -> list[EventRow]:
    """`event_rows` of events already loaded (actors selected), of one request or of a whole
    page of them: the names they mention cost two queries at most, whatever their number."""
    if viewer is not None:
        events = [as_seen_by(event, viewer) for event in events]
    ids = {e.data.get(k) for e in events for k in ("department", "to_department") if e.data}
    departments = {
        pk: department_name(name, name_en)
        for pk, name, name_en in Department.objects.filter(pk__in=ids - {None}).values_list(
            "pk", "name", "name_en"
        )
    }
    categories = _category_names(events)
    rule_names = _rule_names(events)
    return [
        EventRow(
            event=event,
            label=EVENT_LABELS.get(event.action, event.action),
            from_label=status_label(event.from_status),
            to_label=status_label(event.to_status),
            details=_event_details(event, departments, categories),
            note=_note(event, rule_names),
        )
        for event in events
    ]


# --- the answer the enterprise judges ------------------------------------------------------------


@dataclass
class Answer:
    text: str
    at: dt.datetime
    by: str
    files: list


def latest_answer(events: list[RequestEvent], attachments: list) -> Answer | None:
    """The department's latest answer (feedback) in full, with the files sent with it: what
    the enterprise reads above its Accept and Reject. None before any answer.

    From the request's events as `timeline_events` loads them (in order, actors selected), not
    as a viewer sees them: the answer is shown whole to everyone who may read the request."""
    event = next((e for e in reversed(events) if e.action == "feedback"), None)
    if event is None:
        return None
    # The files stored in the same step, after the answer and by the same person.
    files = [
        a
        for a in attachments
        if a.uploaded_by_id == event.actor_id and a.uploaded_at >= event.created_at
    ]
    by = event.actor.display_name if event.actor is not None else ""
    return Answer(text=event.note, at=event.created_at, by=by, files=files)
