"""Pages of the request loop: lists and queues, filing, the detail page and its action forms.

Every view is thin: it resolves access with the selectors, validates with the API's input
serializers, calls the workflow and renders. Missing and not-yours are both 404.
"""

from contextlib import nullcontext

from csp.decorators import csp
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.http import FileResponse, Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from core.errors import InvalidInput, InvalidTransition, NotPermitted
from core.forms import QuickSelect, flatten_errors
from core.pagination import PAGE_SIZES, sized_paginator
from officials.models import Category, Role
from officials.selectors import enterprises_visible_to
from requests_app import saved_views, workflow
from requests_app.approvers import decidable_by, prefetch_linked_leaders
from requests_app.attachments import (
    PREVIEW_IMAGES,
    PREVIEWABLE,
    check_uploads,
    may_attach,
    store_uploads,
)
from requests_app.bulk import BULK_ACTIONS, BULK_MAX, bulk_act
from requests_app.checkpoints import verify_chain
from requests_app.deadlines import Clocks, dispute_until
from requests_app.filters import RequestFilter
from requests_app.forms import (
    ACTION_FORMS,
    FOLLOW_UP_PREFIX,
    AttachForm,
    RequestCreateForm,
    action_form,
    bulk_assign_choices,
    form_key,
)
from requests_app.models import (
    OPEN_STATUSES,
    Attachment,
    ExtensionState,
    RequestEvent,
    Status,
)
from requests_app.presenters import (
    clock_badge,
    extension_markup,
    latest_answer,
    ledger_markup,
    ledger_rows,
    list_rows,
    rows_of_events,
    status_label,
    timeline_events,
)
from requests_app.selectors import get_visible_request, queue_for, requests_visible_to
from requests_app.serializers import ACTION_INPUTS, RequestCreateInput

# The page size of the request lists when none is chosen (core.pagination.PAGE_SIZES).
PAGE_SIZE = PAGE_SIZES[0]

LIST_TITLES = {
    Role.ENTREPRENEUR: gettext_lazy("My requests"),
    Role.LIAISON: gettext_lazy("Queue of my enterprises"),
    Role.HANDLER: gettext_lazy("My department's queue"),
    Role.LEADER: gettext_lazy("Requests of linked enterprises"),
    Role.INSPECTOR: gettext_lazy("Case histories"),
    Role.ADMIN: gettext_lazy("Requests"),
}
# --- lists ---------------------------------------------------------------------------------------


def _list_queryset(user, status: str) -> tuple:
    """(the list's requests, whether it is a queue: open requests, next clock due first)."""
    # Those who work no queue (entrepreneurs, inspectors) read whole histories.
    if not user.has_perm("requests.work_queue") or (status and status not in OPEN_STATUSES):
        return requests_visible_to(user).for_rows().order_by("-submitted_at", "-id"), False
    return queue_for(user), True


def _filter_choices(user, chosen_enterprise: str) -> dict:
    enterprises = list(
        enterprises_visible_to(user).order_by("name").values_list("pk", "name")[:200]
    )
    # Up to 200 options: written by QuickSelect, not by a loop of the template (core.forms).
    select = QuickSelect(attrs={"id": "f-enterprise"}, choices=[("", _("All")), *enterprises])
    return {
        "statuses": Status.choices,
        "categories": list(Category.objects.all()),
        # None for one enterprise or none: nothing to choose.
        "enterprises": select.render("enterprise", chosen_enterprise) if enterprises[1:] else None,
    }


def _bulk_choices(user) -> dict | None:
    """What the queue's bulk bar offers the user: the actions their role may take (each
    request is still checked on its own), and the departments to send to."""
    actions = [
        (name, workflow.TRANSITIONS[name].label)
        for name in BULK_ACTIONS
        if user.role in workflow.TRANSITIONS[name].roles
    ]
    if not actions:
        return None
    department_select, handler_select = bulk_assign_choices()
    return {
        "actions": actions,
        "department_select": department_select,
        "handler_select": handler_select,
        "max": BULK_MAX,
    }


# The columns a person may sort the list by: (label's column, the API ordering, asc or desc)
# — the API's own orderings (requests_app.filters), each read off an index.
SORTABLE = {"filed": "submitted_at", "deadline": "answer_due_at"}


def _column_sorts(params, *, queue: bool) -> dict[str, dict]:
    """For each sortable column: the link that sorts by it (or turns it around) and the
    current direction for `aria-sort` ("none" when the list is not sorted by it). With no
    `ordering` a queue is in next-due order, the deadline column's, and other lists newest
    first."""
    current = params.get("ordering", "")
    if not current:
        current = "answer_due_at" if queue else "-submitted_at"
    sorts = {}
    for column, field in SORTABLE.items():
        if current.lstrip("-") == field:
            direction = "descending" if current.startswith("-") else "ascending"
            following = field if current.startswith("-") else f"-{field}"
        else:
            direction = "none"
            following = f"-{field}" if column == "filed" else field
        query = params.copy()
        query.pop("page", None)
        if queue and following == "answer_due_at":
            query.pop("ordering", None)  # the queue's own order: the next clock due
        else:
            query["ordering"] = following
        sorts[column] = {"href": f"?{query.urlencode()}", "direction": direction}
    return sorts


@login_required
@require_GET
def request_list(request):
    user = request.user
    base, queue = _list_queryset(user, request.GET.get("status", ""))
    filterset = RequestFilter(request.GET or None, queryset=base)
    page = sized_paginator(filterset.qs, request.GET, PAGE_SIZE).get_page(request.GET.get("page"))
    now, clocks = timezone.now(), Clocks.current()
    filters = _filter_choices(user, request.GET.get("enterprise", ""))
    # The status's label, one translation a row: the model's get_status_display translates
    # every choice of the field on every call (a tenth of the queue page's time).
    rows = [
        (row, clock_badge(row, now, clocks.policy, clocks.calendar), status_label(row.status))
        for row in page
    ]
    show_enterprise = user.role != Role.ENTREPRENEUR or bool(filters["enterprises"])
    bulk = _bulk_choices(user) if queue else None
    context = {
        "title": LIST_TITLES.get(user.role, LIST_TITLES[Role.ADMIN]),
        "page": page,
        "rows": rows,
        "row_markup": list_rows(rows, pick=bulk is not None, show_enterprise=show_enterprise),
        "filters": filters,
        "values": request.GET,
        "may_file": user.has_perm("requests.file"),
        "show_enterprise": show_enterprise,
        "works_queue": user.has_perm("requests.work_queue"),
        "sorts": _column_sorts(request.GET, queue=queue),
        "bulk": bulk,
        "saved_views": list(saved_views.views_of(user)),
        "current_query": saved_views.kept_query(request.GET),
    }
    return render(request, "requests/list.html", context)


def _pending_extensions(user, *, mine: bool):
    """Pending extensions the user sees; with `mine`, only those the user decides."""
    pending = requests_visible_to(user).filter(
        status=Status.RECTIFYING, extension_state=ExtensionState.PENDING
    )
    if mine:
        pending = pending.filter(decidable_by(user))
    return pending.with_related().order_by("extension_until", "id")


@login_required
@require_GET
def extension_list(request):
    """Extensions waiting for a decision (挂账督办): by default those the user decides (the
    linked leader's, or the department head's where the enterprise has no linked leader);
    every pending one the user may see on the second tab."""
    user = request.user
    if not user.has_perm("requests.list_extensions"):
        raise PermissionDenied
    mine = request.GET.get("show") != "all"
    pending = _pending_extensions(user, mine=mine)
    page = sized_paginator(pending, request.GET, PAGE_SIZE).get_page(request.GET.get("page"))
    prefetch_linked_leaders(page, user)
    rows = [(row, "approve_extension" in workflow.allowed_actions(row, user)) for row in page]
    markup = extension_markup(rows, csrf_token=get_token(request), back=request.get_full_path())
    context = {"page": page, "rows": rows, "row_markup": markup, "mine": mine}
    return render(request, "requests/extensions.html", context)


def _ledger_queryset(user, struck_off: bool):
    """Requests with an approved extension: still open, or closed and struck off (事结销号).

    The latest timeline event rides along as two correlated subqueries over the (request, seq)
    unique index, so a page of any length is one query.
    """
    latest = RequestEvent.objects.filter(request=OuterRef("pk")).order_by("-seq")
    scoped = requests_visible_to(user).filter(extension_state=ExtensionState.APPROVED)
    if struck_off:
        scoped = scoped.filter(status=Status.CLOSED).order_by("-closed_at", "-id")
    else:
        scoped = scoped.filter(status__in=OPEN_STATUSES).order_by("answer_due_at", "id")
    return scoped.for_ledger().annotate(
        progress_action=Subquery(latest.values("action")[:1]),
        progress_at=Subquery(latest.values("created_at")[:1]),
    )


@login_required
@require_GET
def ledger(request):
    """The supervision ledger (挂账督办) of leaders: plan, next due date and progress."""
    if not request.user.has_perm("requests.view_ledger"):
        raise PermissionDenied
    struck_off = request.GET.get("show") == "closed"
    queryset = _ledger_queryset(request.user, struck_off)
    page = sized_paginator(queryset, request.GET, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = ledger_rows(page, timezone.now(), Clocks.current())
    context = {
        "page": page,
        "rows": rows,
        "row_markup": ledger_markup(rows, struck_off=struck_off),
        "struck_off": struck_off,
        # Extensions still to be decided are not on the ledger yet: the ledger says how many
        # wait for this user, and links to them.
        "to_decide": _pending_extensions(request.user, mine=True).count(),
    }
    return render(request, "requests/ledger.html", context)


# --- filing --------------------------------------------------------------------------------------


def _create_context(request, data, errors) -> dict:
    enterprises = list(enterprises_visible_to(request.user).order_by("name"))
    form = RequestCreateForm(data, user=request.user, enterprises=enterprises, errors=errors)
    return {"enterprises": enterprises, "form": form}


@login_required
def request_create(request):
    """File a request (受理), with its files; a bad file means nothing is created."""
    if not request.user.has_perm("requests.file"):
        raise PermissionDenied
    errors: dict = {}
    if request.method == "POST":
        data = RequestCreateInput(data=request.POST, context={"request": request})
        files = request.FILES.getlist("files")
        valid = data.is_valid()
        errors = flatten_errors(data.errors) if not valid else {}
        if problems := check_uploads(files):
            errors["files"] = problems
        if not errors:
            try:
                # One transaction: a file refused while storing takes the request back with it.
                with transaction.atomic():
                    created = workflow.submit_request(by=request.user, **data.validated_data)
                    store_uploads(created, by=request.user, files=files)
            except InvalidInput as error:
                errors = flatten_errors(error.errors)
            except NotPermitted:
                raise PermissionDenied from None
            else:
                messages.success(request, _("Request %(ref)s filed.") % {"ref": created.reference})
                return redirect("requests:detail", pk=created.pk)
    data = request.POST if request.method == "POST" else None
    context = _create_context(request, data, errors)
    return render(request, "requests/create.html", context)


# --- the detail page -----------------------------------------------------------------------------


def _dispute_until(service_request):
    """Until when the enterprise may dispute a close made on a follow-up call (None: it may not,
    or not any more)."""
    if service_request.status != Status.CLOSED or not service_request.rated_on_follow_up:
        return None
    until = dispute_until(service_request.closed_at)
    return until if timezone.now() <= until else None


def _with_thumbnails(rows, attachments) -> list:
    """Timeline rows, each added image carrying its attachment (`row.thumbnail`) to be shown."""
    images = {a.pk: a for a in attachments if a.content_type in PREVIEW_IMAGES}
    for row in rows:
        added = row.event.action == "attachment_added"
        row.thumbnail = images.get((row.event.data or {}).get("attachment")) if added else None
    return rows


def _render_detail(request, service_request, *, failed=None, attach_errors=None):
    """The detail page; `failed` is an action form to show again with its errors."""
    user, clocks = request.user, Clocks.current()
    keys = [
        form.key or form.action
        for action in workflow.allowed_actions(service_request, user)
        for form in ACTION_FORMS[action]
    ]
    forms = [
        failed
        if failed is not None and failed.key == key
        else action_form(key, user, service_request=service_request)
        for key in keys
    ]
    attachments = list(service_request.attachments.order_by("id"))
    events = timeline_events(service_request)
    context = {
        "sr": service_request,
        "answer": latest_answer(events, attachments)
        if service_request.answered_at is not None
        else None,
        "status_label": status_label(service_request.status),
        "badge": clock_badge(service_request, timezone.now(), clocks.policy, clocks.calendar),
        "events": _with_thumbnails(rows_of_events(events, user), attachments),
        "attachments": attachments,
        "previewable": PREVIEWABLE,
        "forms": forms,
        # A list's "Refuse…" link opens that form (?act=refuse_extension).
        "open_form": failed.key if failed is not None else request.GET.get("act", ""),
        "may_attach": may_attach(service_request, user),
        "attach_form": AttachForm(errors={"files": attach_errors} if attach_errors else None),
        "dispute_until": _dispute_until(service_request),
        "may_verify": user.has_perm("requests.verify_chain"),
        "show_hashes": user.has_perm("requests.verify_chain"),
    }
    return render(request, "requests/detail.html", context)


@login_required
@require_GET
def request_detail(request, pk):
    return _render_detail(request, get_visible_request(request.user, pk))


def _detail(service_request) -> str:
    return reverse("requests:detail", args=[service_request.pk])


def _next_page(request) -> str | None:
    """Where a form asked to go back to (the extensions list), if it is one of ours."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and safe else None


def _page_errors(errors) -> dict[str, list[str]]:
    """Errors by the page's field names: the follow-up call's flat again ("follow_up_note")."""
    if isinstance(errors, dict) and isinstance(errors.get("follow_up"), dict):
        errors = dict(errors)
        for name, messages_ in errors.pop("follow_up").items():
            errors[f"{FOLLOW_UP_PREFIX}{name}"] = messages_
    return flatten_errors(errors)


def _conflict(request, service_request, error: InvalidTransition):
    context = {"sr": service_request, "message": str(error)}
    return render(request, "errors/409.html", context, status=409)


def _action_data(request, action: str):
    """The posted form, with a merge target given by its number turned into its id, and a
    follow-up call's flat fields ("follow_up_channel") as the API's `follow_up` object."""
    data = request.POST.copy()
    for name in [name for name in data if name.startswith(FOLLOW_UP_PREFIX)]:
        # DRF reads "follow_up.channel" of a form as `follow_up: {"channel": ...}`.
        data.setlist(f"follow_up.{name.removeprefix(FOLLOW_UP_PREFIX)}", data.pop(name))
    if action == "review" and data.get("accepted") not in ("true", "false"):
        # An unticked radio would reach DRF's BooleanField as False: a rejection nobody chose.
        return data, {"accepted": [_("Choose whether you accept the answer.")]}
    into = data.get("into", "").strip()
    if action == "merge" and into and not into.isdigit():
        pk = (
            requests_visible_to(request.user)
            .filter(reference__iexact=into)
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return data, {"into": [_("No request with this number is visible to you.")]}
        data["into"] = str(pk)
    return data, {}


# The answers that come with their documents: the department's answer (feedback) and the
# enterprise's answer to a question (provide_info), each one form.
ACTIONS_WITH_FILES = frozenset({"feedback", "provide_info"})


@login_required
@require_POST
def request_act(request, pk, action):
    """Run one workflow action from its form: 403, 409, errors next to fields, or done."""
    service_request = get_visible_request(request.user, pk)
    if action not in ACTION_INPUTS:
        raise Http404
    try:
        workflow.check(service_request, action, request.user)
    except NotPermitted:
        raise PermissionDenied from None
    except InvalidTransition as error:
        return _conflict(request, service_request, error)
    data, errors = _action_data(request, action)
    serializer = ACTION_INPUTS[action](data=data, context={"request": request})
    files = request.FILES.getlist("files") if action in ACTIONS_WITH_FILES else []
    if problems := check_uploads(files):
        errors = {**errors, "files": problems}
    if not errors and serializer.is_valid():
        try:
            # With files, one transaction: a file refused while storing takes the action back
            # with it. Without, the workflow's own: a refusal it records (a recusal) stays.
            with transaction.atomic() if files else nullcontext():
                workflow.transition(
                    service_request.pk, action, by=request.user, **serializer.validated_data
                )
                store_uploads(service_request, by=request.user, files=files)
        except InvalidInput as error:
            errors = _page_errors(error.errors)
        except InvalidTransition as error:  # someone else acted first
            return _conflict(request, service_request, error)
        else:
            label = workflow.TRANSITIONS[action].label
            messages.success(request, _("Done: %(action)s.") % {"action": label})
            return redirect(_next_page(request) or _detail(service_request))
    else:
        if not serializer.is_valid():
            errors = {**_page_errors(serializer.errors), **errors}
    # The form it came from (accept or reject, for a review); without a verdict, the first.
    key = form_key(action, request.POST) or (ACTION_FORMS[action][0].key or action)
    failed = action_form(key, request.user, request.POST, errors, service_request=service_request)
    return _render_detail(request, service_request, failed=failed)


@login_required
@require_POST
def saved_view_create(request):
    """Keep the list's current filters under a name, then show the list with them."""
    try:
        view = saved_views.save_view(request.user, request.POST.get("name", ""), request.POST)
    except InvalidInput as error:
        for problems in flatten_errors(error.errors).values():
            for problem in problems:
                messages.error(request, problem)
        return redirect(f"{reverse('requests:list')}?{saved_views.kept_query(request.POST)}")
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(f"{reverse('requests:list')}?{view.query}")


@login_required
@require_POST
def saved_view_delete(request, pk):
    view = get_object_or_404(saved_views.views_of(request.user), pk=pk)  # another's: 404
    view.delete()
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("requests:list")


def _bulk_back(request):
    return redirect(_next_page(request) or reverse("requests:list"))


@login_required
@require_POST
def request_bulk(request):
    """The queue's bulk assign or transfer: one input for every ticked request, each then run
    through the workflow on its own (requests_app.bulk); the outcome is told on the list."""
    if _bulk_choices(request.user) is None:
        raise PermissionDenied  # a role that may take none of the bulk actions
    action = request.POST.get("action", "")
    if action not in BULK_ACTIONS:
        messages.error(request, _("Choose assign or transfer."))
        return _bulk_back(request)
    try:
        ids = sorted({int(value) for value in request.POST.getlist("ids")})
    except ValueError:
        ids = []
    if not ids or len(ids) > BULK_MAX:
        messages.error(request, _("Tick between 1 and %(max)s requests first.") % {"max": BULK_MAX})
        return _bulk_back(request)
    data = request.POST.copy()
    # One text box: an assignment's note, or a transfer's reason.
    data["note"] = data["reason"] = data.get("text", "")
    serializer = ACTION_INPUTS[action](data=data, context={"request": request})
    if not serializer.is_valid():
        for name, problems in flatten_errors(serializer.errors).items():
            for problem in problems:
                messages.error(request, f"{_bulk_field_label(name)}: {problem}")
        return _bulk_back(request)
    outcome = bulk_act(request.user, action, ids, serializer.validated_data)
    label = workflow.TRANSITIONS[action].label
    if outcome.done:
        messages.success(
            request,
            ngettext(
                "%(action)s: %(count)s request done (%(refs)s).",
                "%(action)s: %(count)s requests done (%(refs)s).",
                len(outcome.done),
            )
            % {"action": label, "count": len(outcome.done), "refs": ", ".join(outcome.done)},
        )
    for reference, why in outcome.skipped:
        messages.warning(
            request, _("%(ref)s was left as it was: %(why)s") % {"ref": reference, "why": why}
        )
    if not outcome.done and not outcome.skipped:
        messages.error(request, _("None of the ticked requests is visible to you."))
    return _bulk_back(request)


def _bulk_field_label(name: str) -> str:
    labels = {
        "department": _("Department"),
        "handler": _("Handler"),
        "reason": _("Note or reason"),
        "note": _("Note or reason"),
    }
    return str(labels.get(name, name))


@login_required
@require_POST
def request_attach(request, pk):
    service_request = get_visible_request(request.user, pk)
    if not may_attach(service_request, request.user):
        raise PermissionDenied
    files = request.FILES.getlist("files")
    problems = [] if files else [_("Choose a file.")]
    if not problems:
        try:
            store_uploads(service_request, by=request.user, files=files)
        except InvalidInput as error:
            problems = flatten_errors(error.errors).get("files", [])
        else:
            messages.success(request, _("Files attached."))
            return redirect("requests:detail", pk=service_request.pk)
    return _render_detail(request, service_request, attach_errors=problems)


@login_required
@require_POST
def request_verify(request, pk):
    """Re-compute the timeline's hash chain for an inspector: intact, or where it breaks."""
    service_request = get_visible_request(request.user, pk)
    if not request.user.has_perm("requests.verify_chain"):
        raise PermissionDenied
    result = verify_chain(service_request)
    if result.ok:
        messages.success(
            request, _("The history is intact: %(n)d events verified.") % {"n": result.events}
        )
    for found in result.messages:  # each says exactly what was found (timeline.Finding)
        messages.error(request, found)
    return redirect("requests:detail", pk=service_request.pk)


@login_required
@require_GET
def attachment_download(request, pk, attachment_id):
    """Stream an attachment under its original name, to those who may see its request."""
    service_request = get_visible_request(request.user, pk)
    attachment = get_object_or_404(Attachment, pk=attachment_id, request=service_request)
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )


# What a previewed file may do in the browser: show itself, nothing else. No script, style,
# connection, form or frame of its own, and no page but ours may frame it (an image in an
# <img> is not framed at all). Its type was judged from its bytes when it was stored, and
# `nosniff` (SecurityMiddleware) holds the browser to that type.
#
# `sandbox` (no tokens: no script, an opaque origin, no forms, popups or navigation of ours) is
# set here, by the response, rather than as the attribute of the <iframe> that shows a PDF
# (templates/requests/attachment_view.html): Chromium refuses to load its PDF viewer in any
# frame with a `sandbox` attribute, whatever tokens it allows (allow-scripts and
# allow-same-origin included: the frame shows an error page), but shows the PDF under this
# header. The same sandbox thus holds in every browser, also when the URL is opened by itself.
PREVIEW_CSP = {
    "default-src": ["'none'"],
    "img-src": ["'self'"],
    "style-src": ["'unsafe-inline'"],  # the browser's own image and PDF viewers
    "object-src": ["'self'"],
    "frame-ancestors": ["'self'"],
    "base-uri": ["'none'"],
    "form-action": ["'none'"],
    "sandbox": [True],
}


@login_required
@require_GET
def attachment_view(request, pk, attachment_id):
    """A PDF shown in a frame of a page of ours (the preview below), with its download and the
    way back; any other type is its preview (an image) or its download."""
    service_request = get_visible_request(request.user, pk)
    attachment = get_object_or_404(Attachment, pk=attachment_id, request=service_request)
    if attachment.content_type != "application/pdf":
        return redirect("requests:attachment-preview", pk=pk, attachment_id=attachment.pk)
    context = {"sr": service_request, "attachment": attachment}
    return render(request, "requests/attachment_view.html", context)


@login_required
@require_GET
@csp(PREVIEW_CSP)
@xframe_options_sameorigin
def attachment_preview(request, pk, attachment_id):
    """An image or PDF shown inline, to those who may see its request; any other type is the
    download (attachment_download)."""
    service_request = get_visible_request(request.user, pk)
    attachment = get_object_or_404(Attachment, pk=attachment_id, request=service_request)
    if attachment.content_type not in PREVIEWABLE:
        return redirect("requests:attachment", pk=pk, attachment_id=attachment.pk)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=False,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["Cache-Control"] = "private, max-age=300"
    return response
