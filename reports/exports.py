"""Exports: the quarterly report as CSV, XLSX and PDF, and the requests behind a figure as CSV
and XLSX, streamed row by row (large lists by a Celery worker into an `ExportJob`)."""

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.files import File
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from compliance.models import Severity
from officials.models import Category, Department
from reports import charts, figures
from reports.models import ExportJob, ExportStatus
from reports.selectors import figure_queryset
from requests_app.models import Status
from requests_app.working_time import local_zone

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

PROGRESS_EVERY = 2000  # rows between progress writes: cheap, yet a bar that moves

# Text starting with one of these is a formula (or a command) to a spreadsheet that opens the
# file; an export holds what people typed (titles, names), never something to run.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --- the quarterly report as a table -------------------------------------------------------------


class Percent(float):
    """A rate (a fraction from 0 to 1) that a file shows as a percentage, like the dashboard.

    A float still, so a workbook keeps it a number (formatted "0.0%") that sorts and sums;
    CSV and PDF write the dashboard's text, e.g. "36.2%".
    """

    def __str__(self) -> str:
        return percent(self)


percent = charts.percent


def _rate(value) -> "Percent | None":
    return None if value is None else Percent(value)


# Count labels that mean something else in the catalogue: the msgid "Answered" is also the time
# a request was answered (答复时间) on its detail page, so the count gets a context of its own.
COUNT_LABELS = {"answered": pgettext_lazy("report figure", "Answered")}
# Counts of something other than requests: their label already says what they count.
NOT_REQUESTS = {"late_answer_rounds"}


def report_columns() -> list[tuple[str, str]]:
    """(key in the report's JSON, column heading), in the order of the JSON's figures.

    Every heading is unique in the reader's language: a count that shares its label with a rate
    ("Assigned on time") is headed as requests, and the rate as a rate.
    """
    counts = {name: str(COUNT_LABELS.get(name, label)) for name, label in _count_labels().items()}
    columns = [
        (name, label if name in NOT_REQUESTS else _("%(figure)s (requests)") % {"figure": label})
        for name, label in counts.items()
    ]
    for name, label in figures.RATE_LABELS.items():
        text = str(label)
        if text in counts.values():
            text = _("%(figure)s (rate)") % {"figure": text}
        columns.append((name, text))
    for name, label in figures.TIME_LABELS.items():
        columns.append((f"median_hours_{name}", _("%(figure)s, median") % {"figure": label}))
        columns.append((f"p90_hours_{name}", _("%(figure)s, 90th percentile") % {"figure": label}))
    return columns


def _count_labels() -> dict:
    return {d.name: d.label for d in figures.count_definitions(False)}


def _values(item: dict, columns: list[tuple[str, str]]) -> list:
    """A row's figures, rates as percentages."""
    return [_rate(item[key]) if key in figures.RATES else item[key] for key, _label in columns]


def category_names() -> dict[str, str]:
    """Category code → its name in the reader's language (the kept figures hold the code; the
    name they carry is in whichever language computed them)."""
    return {category.code: str(category) for category in Category.objects.all()}


def severity_label(severity: str) -> str:
    return str(Severity(severity).label) if severity in Severity.values else severity


def report_table(report: dict) -> tuple[list[str], list[list]]:
    """One row for the whole scope, then one per department, category and region."""
    columns = report_columns()
    header = [_("Breakdown"), _("Name"), *(label for _key, label in columns)]
    rows = [[_("Total"), report["period"], *_values(report, columns)]]
    for item in report["by_department"]:
        name = item["department"]["name"]
        rows.append([_("Department"), name, *_values(item, columns)])
    names = category_names()
    for item in report["by_category"]:
        name = names.get(item["category"], item["category"])
        rows.append([_("Category"), name, *_values(item, columns)])
    for item in report["by_region"]:
        rows.append([_("Region"), item["region"], *_values(item, columns)])
    extra = [
        [_("Accountability cases opened"), report["accountability_cases"]],
        [_("Accountability cases decided"), report["accountability_cases_decided"]],
        *(
            [_("Findings: %(severity)s") % {"severity": severity_label(k)}, v]
            for k, v in report["findings"].items()
        ),
    ]
    for label, value in extra:
        rows.append([_("Total"), label, value])
    return header, rows


def csv_cell(value):
    """Text as typed, for a CSV: a leading apostrophe keeps formula-like text plain text.

    A CSV has no cell types, so the apostrophe (what spreadsheets read as "this is text") is
    the only way to say it; numbers and dates are written as they are.
    """
    if isinstance(value, Percent):
        return str(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _xlsx_text(sheet):
    """Text as typed, for a workbook: every string a string cell, never a formula.

    A string cell is never evaluated, so the text stays exactly as typed; but openpyxl makes a
    string starting with "=" a formula and one like "#N/A" an error value, so those get a cell
    typed by hand. Control characters XML cannot hold are left out (openpyxl would refuse the
    whole file for one of them).
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value):
        if isinstance(value, Percent):
            # A number shown as the dashboard shows it: it still sorts and sums as a number.
            typed = WriteOnlyCell(sheet, float(value))
            typed.number_format = "0.0%"
            return typed
        if not isinstance(value, str):
            return value
        text = ILLEGAL_CHARACTERS_RE.sub("", value)
        if not text.startswith(("=", "#")):
            return text
        typed = WriteOnlyCell(sheet, text)
        typed.data_type = "s"
        return typed

    return cell


def csv_bytes(header: list, rows: Iterable[list]) -> bytes:
    buffer = io.StringIO()
    # A byte order mark so that spreadsheet programs read the Chinese text as UTF-8.
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(value) for value in header])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(header: list, rows: Iterable[list], title: str) -> bytes:
    with tempfile.TemporaryFile() as handle:
        write_xlsx(handle, header, rows, title)
        handle.seek(0)
        return handle.read()


def write_xlsx(handle, header: list, rows: Iterable[list], title: str, progress=None) -> int:
    """Write a workbook in openpyxl's write-only mode: rows go to disk as they come."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    as_text = _xlsx_text(sheet)
    sheet.append([as_text(value) for value in header])
    written = 0
    for row in rows:
        sheet.append([as_text(value) for value in row])
        written += 1
        if progress is not None and written % PROGRESS_EVERY == 0:
            progress(written)
    workbook.save(handle)
    return written


def report_pdf(report: dict, scope_label: str) -> bytes:
    """The quarterly report laid out for printing (A4); Chinese in the system's CJK font."""
    from weasyprint import HTML

    return HTML(string=report_pdf_html(report, scope_label)).write_pdf()


def report_pdf_html(report: dict, scope_label: str) -> str:
    """The printed report as HTML: the dashboard's figures as it shows them, and its charts."""
    previous = report.get("previous", {})
    names = category_names()
    headline_rows = [
        (label, _pdf_value(key, report.get(key)), _pdf_value(key, previous.get(key)))
        for key, label in report_columns()
    ]
    findings = [
        (severity_label(severity), count, previous.get("findings", {}).get(severity, ""))
        for severity, count in report["findings"].items()
    ]
    by_department = [
        {**row, "percent": {name: percent(row[name]) for name in figures.RATES}}
        for row in report["by_department"]
    ]
    by_category = [
        {
            **row,
            "name": names.get(row["category"], row["category"]),
            "percent": {name: percent(row[name]) for name in figures.RATES},
        }
        for row in report["by_category"]
    ]
    recurring = [
        {**item, "name": names.get(item.get("category"), item.get("category"))}
        for item in report.get("recurring", [])
    ]
    return render_to_string(
        "reports/quarterly_pdf.html",
        {
            "report": report,
            "scope_label": scope_label,
            "headline_rows": headline_rows,
            "findings": findings,
            "by_department": by_department,
            "by_category": by_category,
            "recurring": recurring,
            "charts": charts.report_charts(report, category_names=names),
        },
    )


def _pdf_value(key: str, value) -> str:
    if key in figures.RATES:
        return percent(value)
    if value is None:
        return "—"
    if key.startswith(("median_hours_", "p90_hours_")):
        return f"{value:.1f}"
    return str(value)


# --- the requests behind a figure -----------------------------------------------------------------

REQUEST_FIELDS = [
    "pk",
    "reference",
    "status",
    "enterprise__name",
    "enterprise__region",
    "category__code",
    "department_id",  # written as the department's name in the reader's language
    "title",
    "submitted_at",
    "assigned_at",
    "answered_at",
    "closed_at",
    "assign_due_at",
    "answer_due_at",
    "reopen_count",
    "late_rounds",
    "rating",
    "rated_on_follow_up",
]


def request_header() -> list[str]:
    return [
        _("id"),
        _("reference"),
        _("status"),
        _("enterprise"),
        _("region"),
        _("category"),
        _("department"),
        _("title"),
        _("submitted"),
        _("assigned"),
        _("first answer"),
        _("closed"),
        _("assign due"),
        _("answer due"),
        _("times reopened"),
        _("answer rounds late"),
        _("rating"),
        _("rated on a follow-up call"),
    ]


def _cell(value, yes_no: tuple[str, str] | None = None):
    if isinstance(value, dt.datetime):
        # Spreadsheets hold no time zones: write local (China Standard Time) wall-clock time.
        return timezone.localtime(value, local_zone()).replace(tzinfo=None)
    if isinstance(value, bool):
        yes, no = yes_no or (_("yes"), _("no"))
        return yes if value else no
    return "" if value is None else value


def request_rows(queryset: QuerySet) -> Iterator[list]:
    """Rows of the request export, fetched in chunks with a server-side cursor.

    Statuses and categories go out as their labels in the reader's language. The labels are
    read now, not when the rows are: a streamed response is written after the view returns.
    """
    statuses = {value: str(label) for value, label in Status.choices}
    names = category_names()
    departments = {d.pk: d.display_name for d in Department.objects.all()}
    return _request_rows(queryset, statuses, names, (_("yes"), _("no")), departments)


_STATUS = REQUEST_FIELDS.index("status")
_CATEGORY = REQUEST_FIELDS.index("category__code")
_DEPARTMENT = REQUEST_FIELDS.index("department_id")


def _request_rows(
    queryset: QuerySet, statuses: dict, names: dict, yes_no: tuple[str, str], departments: dict
) -> Iterator[list]:
    for values in (
        queryset.order_by("submitted_at", "pk")
        .values_list(*REQUEST_FIELDS)
        .iterator(chunk_size=2000)
    ):
        row = list(values)
        row[_STATUS] = statuses.get(row[_STATUS], row[_STATUS])
        row[_CATEGORY] = names.get(row[_CATEGORY], row[_CATEGORY])
        row[_DEPARTMENT] = departments.get(row[_DEPARTMENT], "")
        yield [_cell(value, yes_no) for value in row]


def csv_lines(header: list, rows: Iterable[list]) -> Iterator[str]:
    """CSV text line by line, for a streaming response."""

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())
    yield "\ufeff" + writer.writerow([csv_cell(value) for value in header])
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


# --- jobs ----------------------------------------------------------------------------------------


def run_job(job_id: int) -> None:
    """Write the job's file: the requests behind its figure, scoped to whoever asked for it."""
    # The same parsing and scoping as the page (reports/selectors.py figure_queryset).
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    if job.status in (ExportStatus.DONE, ExportStatus.FAILED):
        # Delivered twice by the broker (acks late): the file is there, or the job was failed
        # as stalled (reports.stalled.fail_stalled) and its requester told to ask again.
        return
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.RUNNING, done=0, progressed_at=timezone.now()
    )
    user = job.requested_by
    with translation.override(user.language or settings.LANGUAGE_CODE):
        queryset, _context = figure_queryset(user, job.params)
        total = queryset.count()
        ExportJob.objects.filter(pk=job.pk).update(total=total)

        def progress(done: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(done=done, progressed_at=timezone.now())

        name = f"requests-{job.params.get('year')}-Q{job.params.get('quarter')}"
        with tempfile.TemporaryFile() as handle:
            if job.format == "xlsx":
                written = write_xlsx(
                    handle, request_header(), request_rows(queryset), name, progress=progress
                )
            else:
                written = _write_csv(handle, queryset, progress)
            handle.seek(0)
            filename = f"{name}.{job.format}"
            job.file.save(filename, File(handle), save=False)
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE,
        done=written,
        file=job.file.name,
        filename=filename,
        finished_at=timezone.now(),
    )


def _write_csv(handle, queryset, progress) -> int:
    written = 0
    lines = csv_lines(request_header(), request_rows(queryset))
    handle.write(next(lines).encode("utf-8"))
    for line in lines:
        handle.write(line.encode("utf-8"))
        written += 1
        if written % PROGRESS_EVERY == 0:
            progress(written)
    return written


def fail_job(job_id: int, error: str) -> None:
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportStatus.FAILED, error=error[:300], finished_at=timezone.now()
    )


def purge_expired(now=None) -> int:
    """Delete export files past their keeping time; answers how many were removed."""
    now = now or timezone.now()
    removed = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).only("pk", "file"):
        if job.file:
            job.file.delete(save=False)
        job.delete()
        removed += 1
    return removed
