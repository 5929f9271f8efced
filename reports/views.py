"""Report pages: the dashboard, the requests behind a figure, downloads and export jobs.

Thin: parse the query (a bad one is a 400), resolve the scope (a department outside it is a
404), compute with the selectors, render. Exports obey the same scope as the pages.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from core.pagination import PAGE_SIZES, sized_paginator
from core.replica import reads_from_replica
from officials.models import Role
from reports import charts, exports, figures, jobs
from reports.exports import CONTENT_TYPES
from reports.figures import Period
from reports.forms import FORMATS, ReportQuery
from reports.models import ExportJob, ExportStatus
from reports.selectors import (
    BadQuery,
    departments_in_scope,
    figure_queryset,
    narrow_to_department,
    report_scope,
)
from reports.snapshots import dashboard_report
from requests_app.presenters import list_rows, status_label

# The page size of the drill-down list when none is chosen (core.pagination.PAGE_SIZES).
PAGE_SIZE = PAGE_SIZES[0]


def _require_reader(user) -> None:
    if not user.has_perm("reports.view"):
        raise PermissionDenied


def _bad_request(request, errors) -> HttpResponse:
    return render(request, "reports/bad_query.html", {"errors": errors}, status=400)


def _query_with_defaults(data) -> dict:
    """The dashboard opens on the current quarter when no quarter is asked for."""
    values = data.copy()
    if not values.get("year") and not values.get("quarter"):
        current = Period.containing(timezone.now())
        values["year"], values["quarter"] = str(current.year), str(current.quarter)
    return values


# --- the dashboard -------------------------------------------------------------------------------


def figure_url(period: Period, figure: str, **narrow) -> str:
    params: dict[str, str | int] = {
        "year": period.year,
        "quarter": period.quarter,
        "figure": figure,
    }
    params.update({k: v for k, v in narrow.items() if v not in (None, "")})
    return f"{reverse('reports:requests')}?{urlencode(params)}"


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _hours(value) -> str:
    return "—" if value is None else _("%(hours)s h") % {"hours": f"{value:.1f}"}


def headline_cards(report: dict, period: Period, department_id) -> list[dict]:
    """Each headline figure with the previous quarter's beside it, and the list it counts."""
    previous = report["previous"]
    cards = []
    for name in ("received", "closed", "overdue"):
        cards.append(
            {
                "label": figures.label_of(name),
                "value": report[name],
                "previous": previous[name],
                "href": figure_url(period, name, department=department_id),
                "previous_href": figure_url(period.previous(), name, department=department_id),
            }
        )
    cards.append(_late_rounds_card(report, period, department_id))
    for name, (numerator, denominator) in figures.RATES.items():
        cards.append(
            {
                "label": figures.RATE_LABELS[name],
                "value": _percent(report[name]),
                "previous": _percent(previous[name]),
                "detail": f"{report[numerator]} / {report[denominator]}",
                "href": figure_url(period, numerator, department=department_id),
                "previous_href": figure_url(period.previous(), numerator, department=department_id),
            }
        )
    for name, count in figures.TIMES.items():
        cards.append(
            {
                "label": figures.TIME_LABELS[name],
                "value": _hours(report[f"median_hours_{name}"]),
                "previous": _hours(previous[f"median_hours_{name}"]),
                "detail": _("90th percentile %(p90)s")
                % {"p90": _hours(report[f"p90_hours_{name}"])},
                "href": figure_url(period, count, department=department_id),
                "previous_href": figure_url(period.previous(), count, department=department_id),
            }
        )
    return cards


def _late_rounds_card(report: dict, period: Period, department_id) -> dict:
    """Answer rounds that came late, and in how many requests: those are the ones it lists."""
    requests = report["answered_late"]
    return {
        "label": figures.label_of("late_answer_rounds"),
        "value": report["late_answer_rounds"],
        "previous": report["previous"]["late_answer_rounds"],
        "detail": ngettext("in %(count)s request", "in %(count)s requests", requests)
        % {"count": requests},
        "href": figure_url(period, "answered_late", department=department_id),
        "previous_href": figure_url(period.previous(), "answered_late", department=department_id),
    }


def dashboard_charts(report: dict, period: Period, trend: list[dict], department_id) -> dict:
    months = [
        charts.Column(
            label=row["month"],
            values=(row["received"], row["closed"]),
            hrefs=(
                figure_url(row["period"], "received", department=department_id),
                figure_url(row["period"], "closed", department=department_id),
            ),
        )
        for row in trend
    ]
    on_time = [
        charts.Bar(
            label=row["department"]["name"],
            value=row["answer_on_time_rate"],
            text=_percent(row["answer_on_time_rate"]),
            href=figure_url(period, "answer_on_time", department=row["department"]["id"]),
        )
        for row in report["by_department"]
    ]
    volume = [
        charts.Bar(
            label=row["category_name"],
            value=row["received"],
            text=str(row["received"]),
            href=figure_url(period, "received", department=department_id, category=row["category"]),
        )
        for row in report["by_category"]
    ]
    return {
        "trend": charts.grouped_columns(
            months, series=[_("Received"), _("Closed")], title=_("Requests by month")
        ),
        "on_time": charts.horizontal_bars(
            on_time, title=_("Answered on time, by department"), maximum=1
        ),
        "volume": charts.horizontal_bars(volume, title=_("Requests by category")),
    }


@login_required
@require_GET
@reads_from_replica
def dashboard(request):
    _require_reader(request.user)
    query = ReportQuery(_query_with_defaults(request.GET))
    if not query.is_valid():
        return _bad_request(request, query.errors)
    scope = report_scope(request.user)
    department_id = query.cleaned_data["department"]
    narrowed = narrow_to_department(scope, department_id)
    period = query.period
    # Kept figures (reports.snapshots): a finished quarter's snapshot, the current one cached.
    report = dashboard_report(narrowed, period)
    by_department = [
        {
            **row,
            "links": {
                name: figure_url(period, name, department=row["department"]["id"])
                for name in ("received", "closed", "overdue", "answered_late")
            },
            "percent": {name: _percent(row[name]) for name in figures.RATES},
        }
        for row in report["by_department"]
    ]
    context = {
        "report": report,
        "period": period,
        "query": query.cleaned_data,
        "department": narrowed.department,
        "departments": departments_in_scope(
            scope, [row["department"]["id"] for row in report["by_department"]]
        ).order_by("path")[:500],
        "cards": headline_cards(report, period, department_id),
        "charts": dashboard_charts(report, period, report["trend"], department_id),
        "finished": period.end <= report["computed_at"],
        "refresh_minutes": max(1, settings.REPORTS_FIGURES_SECONDS // 60),
        "by_department": by_department,
        "years": range(period.year - 4, period.year + 2),
        "export_query": urlencode(
            {"year": period.year, "quarter": period.quarter, "department": department_id or ""}
        ),
        "figure_base": {"year": period.year, "quarter": period.quarter},
    }
    return render(request, "reports/dashboard.html", context)


# --- the requests behind a figure ----------------------------------------------------------------


@login_required
@require_GET
@reads_from_replica
def figure_requests(request):
    """The list a figure counts; `format=csv|xlsx` downloads it (large lists via a job)."""
    _require_reader(request.user)
    try:
        queryset, context = figure_queryset(request.user, request.GET)
    except BadQuery as bad:
        return _bad_request(request, bad.errors)
    fmt = request.GET.get("format", "")
    if fmt:
        if fmt not in FORMATS:
            return _bad_request(request, {"format": [_("Choose csv or xlsx.")]})
        return _export_requests(request, queryset, context, fmt)
    page = sized_paginator(listed(queryset), request.GET, PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    params = request.GET.copy()
    params.pop("page", None)
    rows = [(row, None, status_label(row.status)) for row in page]
    context.update(
        {
            "page": page,
            "row_markup": list_rows(rows, pick=False, show_enterprise=True, deadline=False),
            "figure_label": figures.label_of(context["query"].cleaned_data["figure"]),
            "params": params.urlencode(),
        }
    )
    return render(request, "reports/requests.html", context)


def listed(queryset):
    """The page's rows, newest first with the id breaking ties (read off req_submitted_id, or
    req_department_submitted for one department), with only what a row shows."""
    return queryset.for_rows().order_by("-submitted_at", "-id")


def _export_requests(request, queryset, context, fmt: str):
    total = queryset.count()
    if total > settings.REPORTS_EXPORT_SYNC_ROWS:
        params = {
            key: request.GET[key]
            for key in ("year", "quarter", "figure", "department", "category", "region")
            if request.GET.get(key)
        }
        with transaction.atomic():
            job = jobs.start_job(by=request.user, params=params, fmt=fmt, total=total)
        return redirect("reports:job", pk=job.pk)
    period = context["period"]
    name = f"requests-{period.label}.{fmt}"
    rows = exports.request_rows(queryset)
    response: HttpResponse | StreamingHttpResponse
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports.csv_lines(exports.request_header(), rows), content_type=CONTENT_TYPES["csv"]
        )
    else:
        response = HttpResponse(
            exports.xlsx_bytes(exports.request_header(), rows, period.label),
            content_type=CONTENT_TYPES["xlsx"],
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- the quarterly report as files ---------------------------------------------------------------


@login_required
@require_GET
@reads_from_replica
def report_download(request, fmt: str):
    """The quarterly report as CSV, XLSX, or PDF laid out for printing."""
    _require_reader(request.user)
    query = ReportQuery(request.GET)
    if not query.is_valid():
        return _bad_request(request, query.errors)
    scope = narrow_to_department(report_scope(request.user), query.cleaned_data["department"])
    period = query.period
    # The figures of the dashboard the reader was looking at, not a second computation.
    report = dashboard_report(scope, period)
    name = f"quarterly-{period.label}.{fmt}"
    if fmt == "pdf":
        label = scope.department.display_name if scope.department else _scope_label(request.user)
        body = exports.report_pdf(report, label)
        content_type = "application/pdf"
    else:
        header, rows = exports.report_table(report)
        if fmt == "csv":
            body = exports.csv_bytes(header, rows)
        else:
            body = exports.xlsx_bytes(header, rows, period.label)
        content_type = CONTENT_TYPES[fmt]
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _scope_label(user) -> str:
    if user.role == Role.ADMIN:
        return _("The whole city")
    if user.department_id:
        return user.department.display_name
    return user.display_name


# --- export jobs ---------------------------------------------------------------------------------


def _visible_job(user, pk) -> ExportJob:
    """The job, or 404 when it is missing, expired, or someone else's (admins see all)."""
    jobs = ExportJob.objects.filter(expires_at__gt=timezone.now())
    if user.role != Role.ADMIN:
        jobs = jobs.filter(requested_by=user)
    job = jobs.filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


@login_required
@require_GET
def export_job(request, pk: int):
    job = _visible_job(request.user, pk)
    return render(
        request, "reports/job.html", {"job": job, "done": job.status == ExportStatus.DONE}
    )


@login_required
@require_GET
def export_job_status(request, pk: int):
    job = _visible_job(request.user, pk)
    return JsonResponse(
        {
            "status": job.status,
            "label": str(job.get_status_display()),
            "done": job.done,
            "total": job.total,
            "progress": round(job.progress, 4),
            "download": reverse("reports:job-download", args=[job.pk])
            if job.status == ExportStatus.DONE
            else None,
        }
    )


@login_required
@require_GET
def export_job_download(request, pk: int):
    job = _visible_job(request.user, pk)
    if job.status != ExportStatus.DONE or not job.file:
        raise Http404
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.filename)
