"""Pages: filing and following a confidential report, and the inspector's console.

Thin views: they resolve access with the selectors (missing and not-yours are both 404), validate
with forms, call one service and render. Reports are 404 for every role but the inspectors of
their region; reading one, or a case file, leaves a row in the access log.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from compliance.models import (
    AccessLog,
    AccountabilityCase,
    CaseStatus,
    ConfidentialReport,
    ReportEvidence,
    ReportStatus,
    Severity,
)
from core.pagination import CappedPaginator
from core.replica import reads_from_replica
from inspection import access, confidential, evidence, histories, selectors, services, throttling
from inspection.errors import Conflict, InspectionError, InvalidInput
from inspection.forms import (
    AdditionForm,
    DecisionForm,
    NoteForm,
    OpenCaseForm,
    ReceiptForm,
    ReportForm,
    ReportMoveForm,
    SearchForm,
)
from officials.models import Role
from officials.selectors import enterprises_visible_to
from requests_app.attachments import check_uploads

PAGE_SIZE = 50
SEARCH_PAGE_SIZE = 10  # each result carries its whole timeline and a chain verification


def _console(request) -> None:
    if not request.user.has_perm("inspection.use_console"):
        raise PermissionDenied


def _refused(request, verdict: throttling.Verdict):
    """The page for a report or look-up the throttle refused (429, or 503 when it cannot count)."""
    code = 429 if verdict.outcome == "throttled" else 503
    response = render(request, "compliance/inspector/throttled.html", status=code)
    response["Retry-After"] = str(verdict.retry_after)
    return response


# --- filing and following a report (anyone, logged in or not) -----------------------------------


_REFUSED = {"throttled": 429, "unavailable": 503}


def _file(request, form: ReportForm, *, user, template: str, context: dict):
    """Validate, ask the throttle (a bad stamp is the form's error), file and show the receipt."""
    verdict = None
    files = request.FILES.getlist("files")
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        values.pop("files", None)
        if problems := check_uploads(files):
            # Judged before the throttle counts anything: the reporter fixes the files first.
            form.add_error("files", problems)
        else:
            verdict = throttling.admit_report(values.pop("stamp", ""))
        if verdict is not None and verdict.ok:
            try:
                report = confidential.file_report(
                    by=user, anonymous=user is None, files=files, **values
                )
            except InvalidInput as error:
                form.add_error("files", error.errors.get("files", []))
            else:
                # The receipt is shown in this response only, never put in a URL (where it
                # would land in browser histories and server logs).
                return _no_store(
                    render(request, "compliance/inspector/report_filed.html", {"report": report})
                )
        elif verdict is not None:
            # Refused: the form comes back with the reporter's text, to send again later.
            form.add_error(None, verdict.message)
    context = {**context, "form": form, "challenge": throttling.challenge()}
    refused = verdict is not None and not verdict.ok
    status = _REFUSED.get(verdict.outcome, 400) if refused else (400 if form.errors else 200)
    response = render(request, template, context, status=status)
    if refused and status in (429, 503):
        response["Retry-After"] = str(verdict.retry_after)
    return response


def _no_store(response):
    """A page that shows a receipt, or what it opens, is kept by no cache and no browser disk:
    the next person at a shared computer must not find it in the history."""
    add_never_cache_headers(response)
    patch_cache_control(response, no_store=True, private=True)
    return response


@require_http_methods(["GET", "POST"])
def report_file(request):
    """Logged out: the anonymous form. Logged in: a named report (anonymity is one link away)."""
    if not request.user.is_authenticated:
        return report_file_anonymous(request)
    user = request.user
    asked = request.POST.get("anonymous", "").lower() not in ("", "false", "0", "off")
    if request.method == "POST" and asked:
        return _must_log_out(request, status=400)
    enterprises = enterprises_visible_to(user) if user.role == Role.ENTREPRENEUR else None
    form = ReportForm(request.POST or None, enterprises=enterprises)
    return _file(
        request,
        form,
        user=user,
        template="compliance/inspector/report_file.html",
        context={"anonymous": False},
    )


def _must_log_out(request, status: int = 200):
    """A logged-in user asking for anonymity is told why to log out first, and offered it."""
    return render(
        request,
        "compliance/inspector/report_log_out_first.html",
        {"reason": confidential.LOGGED_IN_ANONYMITY},
        status=status,
    )


@require_http_methods(["GET", "POST"])
def report_file_anonymous(request):
    """The anonymous form: served to logged-out visitors only, and it files with no identity."""
    if request.user.is_authenticated:
        return _must_log_out(request, status=400 if request.method == "POST" else 200)
    form = ReportForm(request.POST or None)
    return _file(
        request,
        form,
        user=None,
        template="compliance/inspector/report_file.html",
        context={"anonymous": True},
    )


@require_http_methods(["GET", "POST"])
def report_status(request):
    """Follow a report by its receipt (posted, so it never appears in a URL): its status, what
    the reporter added, and a form to add more."""
    form = ReceiptForm(request.POST or None)
    report = None
    if request.method == "POST":
        verdict = throttling.admit_status_lookup()
        if not verdict.ok:
            return _refused(request, verdict)
        if form.is_valid():
            try:
                report = selectors.report_status(form.cleaned_data["receipt"])
            except Http404:
                form.add_error("receipt", _("No report has this receipt."))
    addition_form = None
    if report is not None:
        addition_form = AdditionForm(initial={"receipt": form.cleaned_data["receipt"]})
    return _status_page(request, form, report, addition_form)


def _status_page(
    request, form, report, addition_form, status: int | None = None, *, sent: bool = False
):
    context = {
        "sent": sent,
        "form": form,
        "report": report,
        "additions": selectors.additions_for_reporter(report) if report is not None else [],
        "addition_form": addition_form,
        "may_add": report is not None and report.status != ReportStatus.CLOSED,
        "challenge": throttling.challenge() if addition_form is not None else None,
    }
    if status is None:
        status = 400 if form.errors or (addition_form is not None and addition_form.errors) else 200
    response = render(request, "compliance/inspector/report_status.html", context, status=status)
    return _no_store(response)


@require_POST
def report_add(request):
    """Add text and files to a report through its receipt, as anonymously as it was filed.
    A wrong receipt changes nothing and says only that no report has it."""
    addition_form = AdditionForm(request.POST)
    receipt_form = ReceiptForm({"receipt": request.POST.get("receipt", "")})
    verdict = throttling.admit_status_lookup()
    if not verdict.ok:
        return _refused(request, verdict)
    if not receipt_form.is_valid() or not addition_form.is_valid():
        return _status_page(request, receipt_form, None, None, status=400)
    receipt = addition_form.cleaned_data["receipt"]
    try:
        report = selectors.report_status(receipt)
    except Http404:
        receipt_form.add_error("receipt", _("No report has this receipt."))
        return _status_page(request, receipt_form, None, None, status=404)
    files = request.FILES.getlist("files")
    if problems := check_uploads(files):
        addition_form.add_error("files", problems)
        return _status_page(request, receipt_form, report, addition_form)
    verdict = throttling.admit_report(addition_form.cleaned_data.get("stamp", ""))
    if not verdict.ok:
        addition_form.add_error(None, verdict.message)
        status = _REFUSED.get(verdict.outcome, 400)
        response = _status_page(request, receipt_form, report, addition_form, status=status)
        if status in (429, 503):
            response["Retry-After"] = str(verdict.retry_after)
        return response
    try:
        evidence.add_to_report(
            receipt=receipt, text=addition_form.cleaned_data.get("text", ""), files=files
        )
    except InvalidInput as error:
        for field, problems in error.errors.items():
            addition_form.add_error(field if field in addition_form.fields else None, problems)
        return _status_page(request, receipt_form, report, addition_form)
    except Conflict as error:
        addition_form.add_error(None, str(error))
        return _status_page(request, receipt_form, report, addition_form, status=409)
    except ConfidentialReport.DoesNotExist:  # the receipt found nothing when it was locked
        receipt_form.add_error("receipt", _("No report has this receipt."))
        return _status_page(request, receipt_form, None, None, status=404)
    # Said on this page, not as a flash message: that would set a cookie on the reporter.
    report = selectors.report_status(receipt)
    fresh = AdditionForm(initial={"receipt": receipt})
    return _status_page(request, receipt_form, report, fresh, sent=True)


# --- the console: alerts and findings ------------------------------------------------------------


@login_required
@require_GET
def alerts(request):
    _console(request)
    return render(
        request, "compliance/inspector/alerts.html", {"alerts": selectors.alerts_for(request.user)}
    )


@login_required
@require_GET
def finding_list(request):
    _console(request)
    findings = selectors.findings_visible_to(request.user).order_by("-created_at", "-id")
    severity = request.GET.get("severity", "")
    if severity in Severity.values:
        findings = findings.filter(severity=severity)
    page = Paginator(findings, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "compliance/inspector/findings.html",
        {"page": page, "severities": Severity.choices, "severity": severity},
    )


# --- cases ---------------------------------------------------------------------------------------


@login_required
@require_GET
def case_list(request):
    _console(request)
    cases = selectors.cases_visible_to(request.user)
    status = request.GET.get("status", "")
    if status in CaseStatus.values:
        cases = cases.filter(status=status)
    # The ids are paged (counted up to a cap), then the page's rows read with their relations.
    ids = selectors.case_ids_in_order(cases)
    page = CappedPaginator(ids, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.cases_in_order(page.object_list)
    return render(
        request,
        "compliance/inspector/cases.html",
        {"page": page, "statuses": CaseStatus.choices, "status": status},
    )


def _case_page(request, case: AccountabilityCase, forms: dict | None = None, status: int = 200):
    user = request.user
    may_act = selectors.is_inspector(user)
    decided = case.status == CaseStatus.DECIDED
    forms = forms or {}
    context = {
        "case": case,
        **selectors.case_file(case),
        "history": histories.history(user, case.request_id) if case.request_id else None,
        "may_act": may_act,
        "may_take": may_act and case.status == CaseStatus.OPEN,
        "may_decide": may_act and not decided and case.inspector_id in (None, user.pk),
        "may_correct": may_act and decided,
        "note_form": forms.get("note") or NoteForm(),
        "decision_form": forms.get("decide") or DecisionForm(),
        "correction_form": forms.get("correct") or DecisionForm(auto_id="correct_%s"),
        "report_visible": case.report_id is not None
        and selectors.reports_visible_to(user).filter(pk=case.report_id).exists(),
    }
    return render(request, "compliance/inspector/case_detail.html", context, status=status)


@login_required
@require_GET
def case_detail(request, pk):
    _console(request)
    case = selectors.get_visible_case(request.user, pk)
    access.log_read(by=request.user, target=AccessLog.Target.CASE, pk=case.pk, via=access.PAGE)
    return _case_page(request, case)


CASE_ACTIONS = {"take", "note", "decide", "correct"}


@login_required
@require_POST
def case_act(request, pk, action):
    _console(request)
    case = selectors.get_visible_case(request.user, pk)
    if action not in CASE_ACTIONS:
        raise Http404
    by = request.user
    try:
        if action == "take":
            services.take_case(case.pk, by=by)
            messages.success(request, _("You have taken the case."))
        elif action == "note":
            form = NoteForm(request.POST)
            if not form.is_valid():
                return _case_page(request, case, {"note": form}, status=400)
            services.add_note(case.pk, by=by, **form.cleaned_data)
            messages.success(request, _("The inquiry record was added."))
        else:
            services.check_decision(case, by=by, correction=action == "correct")
            prefix = {"auto_id": "correct_%s"} if action == "correct" else {}
            form = DecisionForm(request.POST, **prefix)
            if not form.is_valid():
                return _case_page(request, case, {action: form}, status=400)
            service = services.correct if action == "correct" else services.decide
            service(case.pk, by=by, **form.cleaned_data)
            messages.success(request, _("The decision was recorded."))
    except InvalidInput as error:
        messages.error(request, " ".join(m for ms in error.errors.values() for m in ms))
    except Conflict as error:
        messages.error(request, str(error))
    except InspectionError:
        raise PermissionDenied from None
    return redirect("inspector:case", pk=case.pk)


# --- confidential reports (inspectors of the region only) ----------------------------------------


@login_required
@require_GET
def report_list(request):
    if not selectors.is_inspector(request.user):
        raise Http404
    reports = selectors.reports_visible_to(request.user).order_by("-created_at", "-id")
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    # The list shows kind, place and status, not the words of a report: reading those is a
    # detail page, which is logged.
    return render(request, "compliance/inspector/reports.html", {"page": page})


def _report_page(request, report, forms: dict | None = None, status: int = 200):
    forms = forms or {}
    context = {
        "report": report,
        "filed_evidence": list(report.evidence.filter(addition=None).order_by("added_at", "id")),
        "additions": selectors.additions_for_reporter(report),
        "cases": list(report.cases.order_by("opened_at", "id")),
        "move_form": forms.get("move") or ReportMoveForm(),
        "case_form": forms.get("case") or OpenCaseForm(),
    }
    return render(request, "compliance/inspector/report_detail.html", context, status=status)


@login_required
@require_GET
def report_detail(request, pk):
    report = selectors.get_visible_report(request.user, pk)
    access.log_read(by=request.user, target=AccessLog.Target.REPORT, pk=report.pk, via=access.PAGE)
    return _report_page(request, report)


@login_required
@require_GET
def report_evidence(request, pk, evidence_id):
    """Download a report's evidence, for the region's inspectors alone, under a neutral name."""
    report = selectors.get_visible_report(request.user, pk)
    item = get_object_or_404(ReportEvidence, pk=evidence_id, report=report)
    access.log_read(by=request.user, target=AccessLog.Target.REPORT, pk=report.pk, via=access.PAGE)
    return FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=item.download_name,
        content_type=item.content_type,
    )


@login_required
@require_POST
def report_act(request, pk, action):
    report = selectors.get_visible_report(request.user, pk)
    try:
        if action == "move":
            form = ReportMoveForm(request.POST)
            if not form.is_valid():
                return _report_page(request, report, {"move": form}, status=400)
            confidential.move_report(report.pk, by=request.user, **form.cleaned_data)
            messages.success(request, _("The report's status was changed."))
        elif action == "open-case":
            form = OpenCaseForm(request.POST)
            if not form.is_valid():
                return _report_page(request, report, {"case": form}, status=400)
            case = confidential.open_case(report.pk, by=request.user, **form.cleaned_data)
            messages.success(request, _("A case was opened from the report."))
            return redirect("inspector:case", pk=case.pk)
        else:
            raise Http404
    except Conflict as error:
        messages.error(request, str(error))
    return redirect("inspector:report", pk=report.pk)


# --- search across case histories, and an official's timeline ------------------------------------


@login_required
@require_GET
@reads_from_replica
def search(request):
    _console(request)
    user = request.user
    form = SearchForm(
        request.GET or None,
        enterprises=enterprises_visible_to(user).order_by("name"),
        officials=selectors.officials_in_scope(user),
    )
    page, results = None, []
    if form.is_bound and form.is_valid():
        found = histories.search(user, form.criteria(), page_size=SEARCH_PAGE_SIZE)
        # Counted up to a cap ("1,000+"): a common word matches most of the table. What the
        # text search has counted already (the ids it read) is not counted again. The page's
        # histories are then built in a few queries, whatever its size.
        paginator = CappedPaginator(
            found.queryset, SEARCH_PAGE_SIZE, known=found.known, at_least=found.at_least
        )
        page = paginator.get_page(request.GET.get("page"))
        page.object_list = histories.of_requests(list(page.object_list))
        cases: dict[int, list] = {}
        ids = [history.request_id for history in page]
        # A result names its cases by number and status: none of their relations is read.
        visible = selectors.cases_visible_to(user).select_related(None)
        for case in visible.filter(request_id__in=ids):
            cases.setdefault(case.request_id, []).append(case)
        results = [(history, cases.get(history.request_id, [])) for history in page]
    return render(
        request,
        "compliance/inspector/search.html",
        {"form": form, "page": page, "results": results},
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def official_list(request):
    _console(request)
    officials = selectors.officials_in_scope(request.user).select_related("department")
    query = request.GET.get("q", "").strip()[:100]
    if query:
        officials = officials.filter(name__icontains=query) | officials.filter(
            username__icontains=query
        )
    page = Paginator(officials, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "compliance/inspector/officials.html", {"page": page, "q": query})


@login_required
@require_GET
def official_timeline(request, pk):
    _console(request)
    official = get_object_or_404(selectors.officials_in_scope(request.user), pk=pk)
    entries = selectors.official_timeline(request.user, official)
    return render(
        request,
        "compliance/inspector/official_timeline.html",
        {"official": official, "entries": entries},
    )
