"""Exports: the report as a PDF with Chinese text; the requests behind a figure as CSV and XLSX,
scoped like the pages; large lists as Celery jobs only their requester and admins can fetch."""

import csv
import datetime as dt
import functools
import io
import shutil
import subprocess

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader

from reports import exports
from reports.figures import Period
from reports.models import ExportJob, ExportStatus
from reports.selectors import quarterly_report, report_scope
from tests.conftest import at

Q3 = {"year": 2026, "quarter": 3}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@functools.cache
def _cjk_font_installed() -> bool:
    """Whether fontconfig knows a font for Chinese: WeasyPrint needs one to write the report's
    Chinese (production's image installs fonts-noto-cjk; so does .ci/browser-deps)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True)  # noqa: S603
    return bool(found.stdout.strip())


def _pdf_text(content: bytes) -> str:
    if not _cjk_font_installed():
        # Without it the PDF's text comes back as glyph numbers, Latin figures included.
        pytest.skip("needs a CJK font to read the PDF's text: .ci/browser-deps installs it")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_pdf_renders_with_the_headline_figures_in_chinese(cast, quarter):
    response = _client(cast.ada).get(
        reverse("reports:download", args=["pdf"]), Q3, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "2026-Q3" in text
    # Chinese labels of headline figures with their values beside them.
    assert "已办结" in text  # closed
    assert "已超期" in text  # overdue
    assert "基础设施" in text  # a category's Chinese name
    assert _pdf_figure(text, "closed", "zh-hans") == "3"
    assert _pdf_figure(text, "overdue", "zh-hans") == "4"


def _heading(key: str, language: str) -> str:
    with translation.override(language):
        return dict(exports.report_columns())[key]


def _pdf_figure(text: str, key: str, language: str) -> str:
    """The value beside a headline figure's heading in the PDF's text."""
    heading = _heading(key, language)
    line = next(line for line in text.splitlines() if line.startswith(heading + " "))
    return line[len(heading) :].split()[0]


def test_report_pdf_for_a_leader_counts_linked_enterprises_only(cast, quarter):
    report = quarterly_report(report_scope(cast.leona), Period(2026, 3), now=quarter.now)
    with translation.override("en"):
        text = _pdf_text(exports.report_pdf(report, "Leona"))
    assert _pdf_figure(text, "received", "en") == "5"


def _rows_of(response) -> list[list]:
    if response["Content-Type"].startswith("text/csv"):
        content = b"".join(response.streaming_content).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(content)))[1:]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)][1:]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(
    ("who", "figure", "expected"),
    [
        ("ada", "received", {"r1", "r2", "r3", "r4", "r5", "r6"}),
        ("leona", "received", {"r1", "r2", "r3", "r4", "r5"}),  # not globex's R6
        ("irene", "received", {"r6"}),
        ("hank", "overdue", {"r2"}),
        ("ada", "closed", {"r1", "r2", "r5"}),
    ],
)
def test_the_requests_behind_a_figure_export_within_scope(
    cast, quarter, fmt, who, figure, expected
):
    response = _client(cast[who]).get(
        reverse("reports:requests"), {**Q3, "figure": figure, "format": fmt}
    )
    assert response.status_code == 200
    by_pk = {getattr(quarter, key).pk: key for key in ("r1", "r2", "r3", "r4", "r5", "r6")}
    assert {by_pk[int(row[0])] for row in _rows_of(response)} == expected


def _big_export(settings, client, django_capture_on_commit_callbacks, **extra):
    settings.REPORTS_EXPORT_SYNC_ROWS = 2
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(
            reverse("reports:requests"), {**Q3, "figure": "received", "format": "xlsx", **extra}
        )
    return response


def test_a_large_export_runs_as_a_job_with_progress_and_a_download(
    cast, quarter, settings, django_capture_on_commit_callbacks
):
    client = _client(cast.leona)
    response = _big_export(settings, client, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:job", args=[job.pk])
    assert (job.status, job.total, job.done, job.requested_by) == (
        ExportStatus.DONE,
        5,
        5,
        cast.leona,
    )
    page = client.get(response["Location"])
    assert b"<progress" in page.content
    status = client.get(reverse("reports:job-status", args=[job.pk])).json()
    assert status["progress"] == 1.0
    assert status["download"] == reverse("reports:job-download", args=[job.pk])
    download = client.get(status["download"])
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 1 + 5  # the leader's scope


@pytest.mark.parametrize(
    ("who", "found"),
    [("leona", True), ("ada", True), ("lars", False), ("ivan", False), ("liam", False)],
)
def test_only_the_requester_and_admins_fetch_a_job(
    cast, quarter, settings, django_capture_on_commit_callbacks, who, found
):
    _big_export(settings, _client(cast.leona), django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    client = _client(cast[who])
    for name in ("reports:job", "reports:job-status", "reports:job-download"):
        response = client.get(reverse(name, args=[job.pk]))
        assert response.status_code == (200 if found else 404), name


def test_an_expired_export_is_gone(cast, quarter, settings, django_capture_on_commit_callbacks):
    settings.REPORTS_EXPORT_KEEP_HOURS = 2
    _big_export(settings, _client(cast.leona), django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    assert job.expires_at == quarter.now + dt.timedelta(hours=2)
    with time_machine.travel(quarter.now + dt.timedelta(hours=3), tick=False):
        assert (
            _client(cast.leona).get(reverse("reports:job-download", args=[job.pk])).status_code
            == 404
        )
        assert exports.purge_expired() == 1
    assert not ExportJob.objects.exists()


def test_a_bad_export_query_stores_nothing(
    cast, quarter, settings, django_capture_on_commit_callbacks
):
    settings.REPORTS_EXPORT_SYNC_ROWS = 0
    client = _client(cast.ada)
    for params in (
        {**Q3, "figure": "nope", "format": "csv"},
        {**Q3, "figure": "received", "format": "exe"},
        {"year": "x", "quarter": 3, "figure": "received", "format": "csv"},
    ):
        assert client.get(reverse("reports:requests"), params).status_code == 400
    assert (
        client.get(
            reverse("reports:requests"),
            {**Q3, "figure": "received", "format": "csv", "department": 987654},
        ).status_code
        == 404
    )
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_report_downloads_from_the_page_match_the_api(cast, quarter, api, fmt):
    page = _client(cast.ada).get(reverse("reports:download", args=[fmt]), Q3)
    via_api = api(cast.ada).get("/api/v1/reports/quarterly/", {**Q3, "format": fmt})
    assert page.status_code == 200
    if fmt == "csv":
        assert page.content == via_api.content
    else:
        first = load_workbook(io.BytesIO(page.content), read_only=True).active
        second = load_workbook(io.BytesIO(via_api.content), read_only=True).active
        assert list(first.iter_rows(values_only=True)) == list(second.iter_rows(values_only=True))


def test_failed_jobs_say_so(cast, db):
    job = ExportJob.objects.create(
        requested_by=cast.ada,
        params={"year": "bad"},
        format="csv",
        expires_at=at("2030-01-01 00:00"),
    )
    from reports.tasks import run_export

    with pytest.raises(Exception):
        run_export(job.pk)
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED
    assert job.error


def test_a_broker_that_is_down_leaves_the_job_waiting(
    cast, quarter, settings, django_capture_on_commit_callbacks, monkeypatch
):
    from reports import tasks

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.run_export, "delay", refuse)
    response = _big_export(settings, _client(cast.leona), django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert ExportJob.objects.get().status == ExportStatus.PENDING


# --- text as typed: nothing a spreadsheet would run (API.md "Reports") ----------------------------

TYPED = ["=1+1", '=HYPERLINK("http://evil.example","x")', "+1", "-1", "@SUM(A1)", "\tx", "\rx"]


def _typed_requests(cast):
    from tests.factories import RawServiceRequestFactory

    return {
        RawServiceRequestFactory(
            enterprise=cast.acme, title=title, submitted_at=at("2026-08-03 09:00")
        ).pk: title
        for title in TYPED
    }


def test_exported_titles_are_never_formulas_in_csv(cast, db):
    titles = _typed_requests(cast)
    response = _client(cast.ada).get(
        reverse("reports:requests"), {**Q3, "figure": "received", "format": "csv"}
    )
    rows = _rows_of(response)
    written = {int(row[0]): row[7] for row in rows}  # the title column
    # A leading apostrophe: the spreadsheet shows the text, and runs nothing.
    assert written == {pk: "'" + title for pk, title in titles.items()}


def test_exported_titles_are_text_cells_as_typed_in_xlsx(cast, db):
    titles = _typed_requests(cast)
    response = _client(cast.ada).get(
        reverse("reports:requests"), {**Q3, "figure": "received", "format": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = {row[0].value: row[7] for row in sheet.iter_rows(min_row=2)}
    assert {pk: cell.value for pk, cell in cells.items()} == titles
    assert {cell.data_type for cell in cells.values()} == {"s"}


def test_a_department_name_like_a_formula_stays_text_in_the_report(cast, db, api):
    from tests.factories import DepartmentFactory, RawServiceRequestFactory

    department = DepartmentFactory(name="=1+1", parent=cast.gulou)
    RawServiceRequestFactory(
        enterprise=cast.acme, department=department, submitted_at=at("2026-08-03 09:00")
    )
    client = api(cast.ada)
    as_csv = client.get("/api/v1/reports/quarterly/", {**Q3, "format": "csv"})
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert "'=1+1" in {row[1] for row in rows}
    as_xlsx = client.get("/api/v1/reports/quarterly/", {**Q3, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    (name,) = [row[1] for row in sheet.iter_rows(min_row=2) if row[1].value == "=1+1"]
    assert name.data_type == "s"


def test_control_characters_do_not_break_the_workbook(cast, db):
    from tests.factories import RawServiceRequestFactory

    RawServiceRequestFactory(
        enterprise=cast.acme, title="bell\x07 here", submitted_at=at("2026-08-03 09:00")
    )
    response = _client(cast.ada).get(
        reverse("reports:requests"), {**Q3, "figure": "received", "format": "xlsx"}
    )
    assert response.status_code == 200
    assert _rows_of(response)[0][7] == "bell here"


# --- files say what the dashboard says (issue 15) -------------------------------------------------

CODES = {
    # category codes, statuses and severities: what a reader must never see raw
    "infrastructure",
    "environment",
    "land",
    "legal",
    "other",
    "submitted",
    "assigned",
    "rectifying",
    "feedback",
    "closed",
    "rejected",
    "info",
    "warning",
    "violation",
}


def _report_rows(response) -> list[list]:
    if response["Content-Type"].startswith("text/csv"):
        return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_report_files_have_unique_headings_percentages_and_no_raw_codes(
    cast, quarter, fmt, language
):
    response = _client(cast.ada).get(
        reverse("reports:download", args=[fmt]), Q3, HTTP_ACCEPT_LANGUAGE=language
    )
    rows = _report_rows(response)
    header, total = rows[0], rows[1]
    assert len(header) == len(set(header)), [h for h in header if header.count(h) > 1]
    with translation.override(language):
        # The count and the rate of "assigned on time" are told apart.
        assigned = dict(exports.report_columns())
    assert assigned["assign_on_time"] != assigned["assign_on_time_rate"]
    # R1 and R5 assigned on time out of R1, R2, R3 (breached), R5, R6: 3 of 5 = 60.0%.
    rate = total[header.index(assigned["assign_on_time_rate"])]
    count = total[header.index(assigned["assign_on_time"])]
    if fmt == "csv":
        assert (rate, count) == ("60.0%", "3")
    else:
        sheet = load_workbook(io.BytesIO(response.content)).active
        cell = sheet.cell(row=2, column=header.index(assigned["assign_on_time_rate"]) + 1)
        # A number the spreadsheet shows as the dashboard does (60.0%), still a number.
        assert (cell.value, cell.number_format, count) == (0.6, "0.0%", 3)
    cells = {str(value) for row in rows for value in row if value is not None}
    assert not cells & CODES
    names = {row[1] for row in rows if row[0] in ("Category", "类别", "分类")}
    with translation.override(language):
        from officials.models import Category

        expected = {str(c) for c in Category.objects.filter(code__in=["infrastructure", "land"])}
    assert expected <= {str(row[1]) for row in rows}, names


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_answered_is_not_labelled_as_a_time(cast, quarter, language):
    with translation.override(language):
        headings = dict(exports.report_columns())
        time_label = translation.gettext("Answered")
    assert headings["answered"] != headings["median_hours_to_first_answer"]
    if language == "zh-hans":
        assert "时间" not in headings["answered"], headings["answered"]
    # Not the msgid the detail page uses for the time of the answer.
    assert not headings["answered"].startswith(time_label) or language == "en"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_figure_lists_show_statuses_and_categories_by_their_labels(cast, quarter, fmt, language):
    response = _client(cast.ada).get(
        reverse("reports:requests"),
        {**Q3, "figure": "received", "format": fmt},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    rows = _rows_of(response)
    statuses = {row[2] for row in rows}
    categories = {row[5] for row in rows}
    assert not (statuses | categories) & CODES
    from requests_app.models import Status

    with translation.override(language):
        assert str(Status.CLOSED.label) in statuses
        assert str(Status.REJECTED.label) in statuses
        assert str(category_of(quarter.r5)) in categories  # environment, in the language


def category_of(request):
    request.category.refresh_from_db()
    return request.category


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_pdf_shows_percentages_labels_and_the_dashboards_charts(
    cast, quarter, monkeypatch, language
):
    handed: list[str] = []
    real = exports.report_pdf_html

    def spy(*args, **kwargs):
        html = real(*args, **kwargs)
        handed.append(html)
        return html

    monkeypatch.setattr(exports, "report_pdf_html", spy)
    response = _client(cast.ada).get(
        reverse("reports:download", args=["pdf"]), Q3, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 200
    (html,) = handed
    # The three charts of the dashboard, drawn as SVG, with their titles.
    assert html.count('<svg class="chart"') == 3
    with translation.override(language):
        titles = [
            translation.gettext(t)
            for t in (
                "Requests by month",
                "Answered on time, by department",
                "Requests by category",
            )
        ]
        severity = translation.gettext("Violation")
        infra = str(category_of(quarter.r1))
    for title in titles:
        assert f'aria-label="{title}"' in html
    text = _pdf_text(response.content)
    assert "60.0%" in text  # assigned on time
    assert "0.6" not in text.split()
    assert severity in text
    assert infra in text
    words = set(text.replace(":", " ").split())
    assert not words & CODES, words & CODES
