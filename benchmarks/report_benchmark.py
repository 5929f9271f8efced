"""Benchmark of the quarterly report on PostgreSQL: 1,000,000 requests over four quarters.

Usage, on a throw-away database that the script empties and fills (create it first):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/qinqing_rbench
    python benchmarks/report_benchmark.py

It reuses the sweep benchmark's fill (reference data with the ORM, requests and events in
set-based SQL), then spreads the requests over the four quarters before the current one and
gives them the life of a worked request (assigned, answered, closed, rated, some on a follow-up
call, some reopened, some answer rounds late), with a feedback event each. It prints the time of
the dashboard page (city and one department: the first view, which computes and keeps the
quarter, then kept views, with their query counts) and the plan of its counting pass, the city's
quarterly report computed afresh, a department's, and the time and peak memory (ru_maxrss) of a
worker writing the XLSX of a quarter's requests. `--current-quarter` puts every request in the
current quarter (the dashboard's busiest case); `--dashboard-only` stops after the dashboard.
Targets: the dashboard ≤ 1 s first, then ≤ 50 ms (issue 14); the reports ≤ 5 s and ≤ 1 s, and
≤ 300 MB for 200,000 rows (issue 5).
"""

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from benchmarks.sweep_benchmark import fill, setup_django  # noqa: E402


def shape(now, *, current_quarter: bool = False) -> None:
    """Spread the requests over the four quarters before `now`'s and work most of them.

    With `current_quarter`, all of them fall in `now`'s quarter up to today instead: the
    dashboard's busiest case, a quarter holding the whole table.
    """
    from django.db import connection

    from reports.figures import Period

    current = Period.containing(now)
    first = current.previous().previous().previous().previous()
    days = (current.start - first.start).days
    if current_quarter:
        first, days = current, max(1, (now - current.start).days)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE requests_app_servicerequest SET
                submitted_at = %(start)s + (id %% %(days)s) * interval '1 day'
                               + (id %% 720) * interval '1 minute',
                category_id = (SELECT min(id) FROM officials_category) + id %% 9
            """,
            {"start": first.start, "days": days},
        )
        cursor.execute(
            """
            UPDATE requests_app_servicerequest SET
                assign_due_at = submitted_at + interval '1 day',
                answer_due_at = submitted_at + interval '3 days',
                assigned_at = CASE WHEN status <> 'submitted'
                                   THEN submitted_at + (id %% 30) * interval '1 hour' END,
                answered_at = CASE WHEN status = 'closed'
                                   THEN submitted_at + (id %% 5) * interval '1 day' END,
                closed_at = CASE WHEN status = 'closed'
                                 THEN submitted_at + (1 + id %% 5) * interval '1 day' END,
                rating = CASE WHEN status = 'closed' THEN 1 + id %% 5 END,
                rated_on_follow_up = (status = 'closed' AND id %% 7 = 0),
                reopen_count = CASE WHEN id %% 17 = 0 THEN 1 ELSE 0 END
            """,
            {},
        )
        # Rounds answered late, as the workflow counts them: the first answer after its clock,
        # and one reopened request in two late again in its second round.
        cursor.execute(
            """
            UPDATE requests_app_servicerequest SET
                late_rounds = (answered_at > answer_due_at)::int
                              + (reopen_count > 0 AND id %% 2 = 0)::int
            WHERE answered_at IS NOT NULL
            """,
            {},
        )
        cursor.execute(
            """
            INSERT INTO requests_app_requestevent (request_id, seq, action, from_status,
                to_status, note, data, created_at, prev_hash, hash)
            SELECT id, 2, 'feedback', 'rectifying', 'feedback', 'done', '{}', answered_at,
                   md5(id::text) || md5((id + 1)::text), md5(id::text) || md5((id + 2)::text)
            FROM requests_app_servicerequest WHERE answered_at IS NOT NULL
            """
        )
        cursor.execute(
            """
            UPDATE requests_app_servicerequest SET
                title = (ARRAY['厂区门口道路破损', '用工招聘困难', '融资贷款审批慢',
                               '污水管道堵塞', 'Power cuts at the plant'])[1 + id %% 5]
                        || ' ' || id
            WHERE id %% 10 = 0
            """,
            {},
        )
        cursor.execute("VACUUM ANALYZE")


def backend_cpu_seconds(connection) -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (same machine only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # the database runs elsewhere: no figure
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(label: str, function):
    """Run `function`; print its wall time and the CPU time it took here and in PostgreSQL.

    The CPU figures are what the work costs on a machine shared with others (wall time then
    includes waiting for a core); PostgreSQL's parallel workers are not in the backend figure.
    """
    from django.db import connection

    backend_before = backend_cpu_seconds(connection)
    cpu_before, started = time.process_time(), time.perf_counter()
    result = function()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    backend = backend_cpu_seconds(connection) - backend_before
    print(f"{label}: {seconds:.2f} s (CPU: Python {cpu:.2f} s, PostgreSQL backend {backend:.2f} s)")
    return result, seconds


def dashboard_views(user, period, department=None, *, quiet=False) -> dict:
    """The dashboard page of `period` as `user` sees it: the first view (nothing kept: it
    computes, and stores a finished quarter or caches the current one), then a kept view.
    Prints wall time and query count of each; returns the seconds."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from reports.models import QuarterSnapshot

    client = Client()
    client.force_login(user)
    params = {"year": period.year, "quarter": period.quarter}
    if department is not None:
        params["department"] = department.pk
    label = f"Dashboard {period.label}" + (f", {department.name}" if department else ", city")
    QuarterSnapshot.objects.all().delete()
    cache.clear()
    seconds = {}
    for view in ("first", "kept", "kept again"):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(reverse("reports:dashboard"), params)
            seconds[view] = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        if not quiet:
            print(f"{label}, {view} view: {seconds[view] * 1000:.0f} ms, {len(queries)} queries")
    return seconds


def explain_pass(period) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the counting pass, as the dashboard runs it."""
    from django.db import connection
    from django.utils import timezone

    from reports import figures
    from reports.models import ReportSettings
    from reports.selectors import cube_query

    received = figures.received_in(figures.requests_table(), period)
    queryset = cube_query(received, period, timezone.now(), ReportSettings.current())
    sql, params = queryset.query.sql_with_params()
    with figures.analytic_queries(), figures.analytic_plan(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        plan = [row[0] for row in cursor.fetchall()]
    print("Plan of the counting pass:")
    for line in plan[:12]:
        print("   ", line)


def export_in_subprocess(job_id: int) -> dict:
    output = subprocess.run(  # noqa: S603 - this script, fixed arguments
        [sys.executable, __file__, "--export-job", str(job_id)],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def run_export(job_id: int) -> None:
    """One export job in this (fresh) process; prints JSON with its time and peak memory."""
    from reports.exports import run_job
    from reports.models import ExportJob

    started = time.perf_counter()
    run_job(job_id)
    seconds = time.perf_counter() - started
    job = ExportJob.objects.get(pk=job_id)
    print(
        json.dumps(
            {
                "seconds": round(seconds, 2),
                "rows": job.done,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "bytes": job.file.size,
            }
        )
    )
    job.file.delete(save=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep the filled data")
    parser.add_argument(
        "--current-quarter",
        action="store_true",
        help="put every request in the current quarter (the dashboard's busiest case)",
    )
    parser.add_argument("--dashboard-only", action="store_true", help="skip reports and export")
    parser.add_argument("--export-job", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.utils import timezone

    if args.export_job:
        run_export(args.export_job)
        return
    if connection.vendor != "postgresql":
        sys.exit("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    from officials.models import Department, Role, User
    from reports import flags
    from reports.figures import Period
    from reports.models import ExportJob
    from reports.selectors import narrow_to_department, quarterly_report, report_scope

    now = timezone.now()
    if not args.reuse:
        started = time.perf_counter()
        fill(args.requests, args.requests // 10)
        shape(now, current_quarter=args.current_quarter)
        print(f"Filled {args.requests:,} requests in {time.perf_counter() - started:.1f} s.")
    period = Period.containing(now).previous()
    admin, _created = User.objects.get_or_create(
        username="bench-admin", defaults={"role": Role.ADMIN}
    )
    # The sweep fill leaves the first bureau without requests; the second has its share.
    department = Department.objects.exclude(parent=None).order_by("pk")[1]
    shown = Period.containing(now) if args.current_quarter else period
    explain_pass(shown)
    # A server process loads jieba's dictionary and the calendar once, not per view: do it here
    # (timed on its own) so the first view below is what a reader of a running server waits.
    from reports.recurring import tokens

    timed("Loading jieba's dictionary (once per process)", lambda: tokens("厂区道路"))
    timed(
        "A first view of an empty quarter (once per process)",
        lambda: dashboard_views(admin, Period(2001, 1), quiet=True),
    )
    dashboard = {
        "city": dashboard_views(admin, shown),
        "department": dashboard_views(admin, shown, department),
    }
    if args.dashboard_only:
        print(json.dumps({k: {v: round(s, 3) for v, s in d.items()} for k, d in dashboard.items()}))
        return
    # The quarter just ended has its flags awarded (the beat task does it on the quarter's
    # first day), so reports read them rather than scoring every department again.
    timed(f"Awarding the flags of {period.label}", lambda: flags.award_flags(period))
    city, city_cold = timed(
        f"City report {period.label} (first, jieba loading)",
        lambda: quarterly_report(report_scope(admin), period),
    )
    _city, city_warm = timed(
        f"City report {period.label} (again)",
        lambda: quarterly_report(report_scope(admin), period),
    )
    scope = narrow_to_department(report_scope(admin), department.pk)
    dept, dept_seconds = timed(
        f"Report of {department.name} {period.label}", lambda: quarterly_report(scope, period)
    )
    print(
        f"  city: received {city['received']:,}, closed {city['closed']:,}, median hours to close "
        f"{city['median_hours_to_close']}; department: received {dept['received']:,}"
    )
    job = ExportJob.objects.create(
        requested_by=admin,
        params={"year": period.year, "quarter": period.quarter, "figure": "received"},
        format="xlsx",
        expires_at=now + dt.timedelta(hours=1),
    )
    export = export_in_subprocess(job.pk)
    print(
        f"XLSX export of {export['rows']:,} rows: {export['seconds']} s, "
        f"peak RSS {export['peak_rss_mb']} MB, {export['bytes'] / 1e6:.1f} MB file."
    )
    print(
        json.dumps(
            {
                "city_cold_s": round(city_cold, 2),
                "city_warm_s": round(city_warm, 2),
                "department_s": round(dept_seconds, 2),
                "dashboard_s": {
                    k: {v: round(s, 3) for v, s in d.items()} for k, d in dashboard.items()
                },
                "export": export,
            }
        )
    )


if __name__ == "__main__":
    main()
