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

from reports import figures
from reports.models import ExportJob, ExportStatus
from reports.selectors import figure_queryset
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


def report_columns() -> list[tuple[str, str]]:
    """(key in the report's JSON, column heading), in the order of the JSON's figures."""
    columns = [(name, str(label)) for name, label in _count_labels().items()]
    columns += [(name, str(label)) for name, label in figures.RATE_LABELS.items()]
    for name, label in figures.TIME_LABELS.items():
        columns.append((f"median_hours_{name}", _("%(figure)s, median") % {"figure": label}))
        columns.append((f"p90_hours_{name}", _("%(figure)s, 90th percentile") % {"figure": label}))
    return columns


def _count_labels() -> dict:
    return {d.name: d.label for d in figures.count_definitions(False)}


def report_table(report: dict) -> tuple[list[str], list[list]]:
    """One row for the whole scope, then one per department, category and region."""
    columns = report_columns()
    header = [_("Breakdown"), _("Name"), *(label for _key, label in columns)]
    rows = [[_("Total"), report["period"], *(report[key] for key, _label in columns)]]
    for item in report["by_department"]:
        name = item["department"]["name"]
        rows.append([_("Department"), name, *(item[key] for key, _label in columns)])
    for item in report["by_category"]:
        rows.append([_("Category"), item["category"], *(item[key] for key, _label in columns)])
    for item in report["by_region"]:
        rows.append([_("Region"), item["region"], *(item[key] for key, _label in columns)])
    extra = [
        [_("Accountability cases opened"), report["accountability_cases"]],
        [_("Accountability cases decided"), report["accountability_cases_decided"]],
        *(
            [_("Findings: %(severity)s") % {"severity": k}, v]
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

    previous = report.get("previous", {})
    headline_rows = [
        (label, _pdf_value(report.get(key)), _pdf_value(previous.get(key)))
        for key, label in report_columns()
    ]
    html = render_to_string(
        "reports/quarterly_pdf.html",
        {"report": report, "scope_label": scope_label, "headline_rows": headline_rows},
    )
    return HTML(string=html).write_pdf()


def _pdf_value(value) -> str:
    return "—" if value is None else str(value)


# --- the requests behind a figure -----------------------------------------------------------------

REQUEST_FIELDS = [
    "pk",
    "reference",
    "status",
    "enterprise__name",
    "enterprise__region",
    "category__code",
    "department__name",
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


def _cell(value):
    if isinstance(value, dt.datetime):
        # Spreadsheets hold no time zones: write local (China Standard Time) wall-clock time.
        return timezone.localtime(value, local_zone()).replace(tzinfo=None)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return "" if value is None else value


def request_rows(queryset: QuerySet) -> Iterator[list]:
    """Rows of the request export, fetched in chunks with a server-side cursor."""
    for values in (
        queryset.order_by("submitted_at", "pk")
        .values_list(*REQUEST_FIELDS)
        .iterator(chunk_size=2000)
    ):
        yield [_cell(value) for value in values]


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
