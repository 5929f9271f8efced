"""Benchmark of the deadline sweep on PostgreSQL: 1,000,000 requests, 100,000 of them past due.

Usage, on a throw-away database that the script empties and fills (create it first):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/qinqing_bench
    python benchmarks/sweep_benchmark.py
    python benchmarks/sweep_benchmark.py --requests 10000000 --due 1000000 --queue  # issue 14

It prints the fill time, the EXPLAIN plan of each rule's candidate query, the time and peak
memory of a sweep that fires 100,000 escalations, and of a sweep with nothing due. Targets
(issue 3, on a 2-core machine): ≤ 10 s, ≤ 200 MB, and ≤ 100 ms.
"""

import argparse
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


def setup_django():
    import django

    django.setup()


def fill(total: int, due: int) -> None:
    """Create reference data with the ORM, then the requests and events in set-based SQL."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from benchmarks.filling import indexes_deferred
    from officials.credit_code import check_character
    from officials.models import Category, Department, Enterprise, EnterpriseLink, Role, User
    from requests_app.models import EscalationRule

    call_command("migrate", verbosity=0)
    call_command("flush", "--noinput", verbosity=0)
    _rerun_data_migrations()  # flush also removed the categories, calendar and ladder
    city = Department.objects.create(name="City", region="city")
    departments = [
        Department.objects.create(name=f"Bureau {k}", parent=city, region=f"R{k}")
        for k in range(20)
    ]
    for department in departments:
        User.objects.create(username=f"h{department.pk}", role=Role.HANDLER, department=department)
        User.objects.create(
            username=f"i{department.pk}", role=Role.INSPECTOR, department=department
        )
    User.objects.create(username="inspector", role=Role.INSPECTOR)
    liaison = User.objects.create(username="liaison", role=Role.LIAISON)
    leader = User.objects.create(username="leader", role=Role.LEADER)
    enterprises = []
    for k in range(200):
        body = f"91350100{k:09d}"
        enterprises.append(
            Enterprise.objects.create(
                name=f"Enterprise {k}",
                credit_code=body + check_character(body),
                region=f"R{k % 20}",
            )
        )
    EnterpriseLink.objects.bulk_create(
        EnterpriseLink(official=leader, enterprise=e, kind="leader") for e in enterprises
    )
    category = Category.objects.get(code="labor")
    first_enterprise = enterprises[0].pk
    first_department = departments[0].pk
    every = total // due
    now = timezone.now()
    bulk = ["requests_app_servicerequest", "requests_app_requestevent"]
    with indexes_deferred(bulk, print), connection.cursor() as cursor:
        # Every `every`-th request waits to be assigned and its assign clock breached a day
        # ago; a tenth of the rest are being worked on with time left; the others are closed.
        cursor.execute(
            """
            INSERT INTO requests_app_servicerequest (
                reference, enterprise_id, category_id, title, description, source, status,
                submitted_at, department_id, handler_id, liaison_id, assign_due_at,
                answer_due_at, reopen_count, transfer_count, extension_state, extension_plan,
                updated_at, closed_at, late_rounds, rated_on_follow_up)
            SELECT 'B' || g, %(e0)s + (g %% 200), %(cat)s, 'Benchmark request ' || g,
                   'Text of request ' || g, 'web',
                   CASE WHEN g %% %(every)s = 0 THEN 'submitted'
                        WHEN g %% 10 = 1 THEN 'rectifying' ELSE 'closed' END,
                   %(now)s - interval '3 days' - (g %% 1000) * interval '1 minute',
                   CASE WHEN g %% %(every)s = 0 THEN NULL ELSE %(d0)s + (g %% 20) END,
                   NULL, %(liaison)s,
                   %(now)s - interval '1 day' - (g %% 1000) * interval '1 second',
                   %(now)s + interval '4 days' + (g %% 1000) * interval '1 second',
                   0, 0, '', '', %(now)s,
                   CASE WHEN g %% %(every)s <> 0 AND g %% 10 <> 1 THEN %(now)s END, 0, false
            FROM generate_series(1, %(total)s) AS g
            """,
            {
                "e0": first_enterprise,
                "cat": category.pk,
                "every": every,
                "now": now,
                "d0": first_department,
                "liaison": liaison.pk,
                "total": total,
            },
        )
        cursor.execute(
            """
            INSERT INTO requests_app_requestevent (request_id, seq, action, from_status,
                to_status, note, data, created_at, prev_hash, hash)
            SELECT id, 1, 'submitted', '', 'submitted', '', '{}', submitted_at,
                   repeat('0', 64), md5(id::text) || md5((id + 1)::text)
            FROM requests_app_servicerequest
            """
        )
        cursor.execute(
            """
            INSERT INTO requests_app_timelinehead (request_id, seq, hash)
            SELECT request_id, seq, hash FROM requests_app_requestevent
            """
        )
        # The sweep's narrow copy of the running clocks (the workflow keeps it in step).
        cursor.execute(
            """
            INSERT INTO requests_app_deadline (request_id, clock, cycle, due_at, running,
                paused, stage)
            SELECT id, 'assign', 0, assign_due_at, true, false, 1
            FROM requests_app_servicerequest WHERE status = 'submitted'
            UNION ALL
            SELECT id, 'answer', 0, answer_due_at, true, false, 0
            FROM requests_app_servicerequest WHERE status IN ('submitted', 'rectifying')
            """
        )
        # Steady state: the earlier 75% reminders of the breached requests already fired
        # (hence stage 1 on their assign clocks above).
        reminder = EscalationRule.objects.get(clock="assign", trigger="fraction")
        cursor.execute(
            """
            INSERT INTO requests_app_escalationfiring (request_id, rule_id, cycle, due_at,
                fired_at)
            SELECT id, %(rule)s, 0, assign_due_at, %(now)s - interval '2 days'
            FROM requests_app_servicerequest WHERE status = 'submitted'
            """,
            {"rule": reminder.pk, "now": now},
        )
    # After the indexes are built again: the planner's statistics of the expression indexes
    # (the queue's next due time) are gathered with them.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def undo_last_run() -> None:
    """Back to the filled state: only the pre-fired reminders, every timeline one event long."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM requests_app_requestevent WHERE seq > 1")
        cursor.execute("DELETE FROM portal_notification")
        cursor.execute("DELETE FROM compliance_accountabilitycase")
        cursor.execute(
            "DELETE FROM requests_app_escalationfiring WHERE fired_at > "
            "(SELECT min(fired_at) FROM requests_app_escalationfiring)"
        )
        cursor.execute(
            "UPDATE requests_app_timelinehead h SET seq = 1, hash = e.hash "
            "FROM requests_app_requestevent e WHERE e.request_id = h.request_id AND e.seq = 1 "
            "AND h.seq > 1"
        )
        # Only the rows a sweep moved: rewriting all three million would leave as many dead.
        cursor.execute(
            "UPDATE requests_app_deadline SET stage = 1 WHERE clock = 'assign' AND stage <> 1"
        )
        cursor.execute(
            "UPDATE requests_app_deadline SET stage = 0 WHERE clock = 'answer' AND stage <> 0"
        )
        cursor.execute("VACUUM ANALYZE")


def _rerun_data_migrations():
    import importlib

    from django.apps import apps as global_apps

    for module, function in [
        ("officials.migrations.0002_categories", "seed"),
        ("requests_app.migrations.0002_load_calendar", "load"),
        ("requests_app.migrations.0004_default_ladder", "seed"),
    ]:
        getattr(importlib.import_module(module), function)(global_apps, None)


def explain() -> None:
    """The plans of the sweep's statements for each rule, as the sweep sends them: the query
    that cuts the pending deadlines into batches, and for the first batch the lock and the
    statement that fires it (EXPLAIN only: nothing is changed)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from requests_app import escalation
    from requests_app.deadlines import Clocks
    from requests_app.sweep import postgres

    clocks = Clocks.current()
    now = timezone.now()
    for rule, position in escalation.ordered_rules():
        pending = escalation.pending_deadlines(rule, position, now, clocks)
        starts = escalation.batch_starts(pending)
        statements = [("batches", *starts.query.sql_with_params())]
        batches = escalation.batch_bounds(pending)
        if batches:
            start, end = batches[0]
            selection = escalation.pending_in_database(
                rule, position, escalation.threshold(rule, now, clocks)
            )
            lock = postgres.lock_query(pending=selection, start=start, end=end)
            statements.append(("lock of the first batch", *lock))
            batch = escalation.batch_of(pending, batches[0])
            ids = list(batch.values_list("request_id", flat=True))
            firing = postgres.fire_query(**escalation.fire_batch_args(rule, selection, ids, now))
            statements.append(("firing of the first batch", *firing))
        for label, sql, params in statements:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("EXPLAIN " + sql, params)
                plan = "\n    ".join(row[0][:160] for row in cursor.fetchall())
            print(f"\n-- {rule.name} ({label})\n    {plan}")


QUEUE_ROLES = ("liaison", "leader", "h{first}", "inspector", "admin")


def measure_queue(repeat: int = 10) -> None:
    """The queue page (`/requests/`, 50 rows) of each role, in-process: p50 and p95 in ms."""
    import logging
    import statistics

    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from officials.models import Department, Role, User

    logging.getLogger("axes").setLevel(logging.WARNING)  # a line per login otherwise
    User.objects.get_or_create(username="admin", defaults={"role": Role.ADMIN})
    first = Department.objects.exclude(parent=None).order_by("pk").first().pk
    from django.db import connection

    from benchmarks.read_benchmark import enrol_two_factor

    with override_settings(ALLOWED_HOSTS=["*"]):
        for name in QUEUE_ROLES:
            username = name.format(first=first)
            user = User.objects.get(username=username)
            enrol_two_factor([user])  # as in production; else a redirect to set it up
            client = Client()
            client.force_login(user)
            client.get("/requests/")  # warm
            times, queries = [], 0
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    status = client.get("/requests/").status_code
                    times.append((time.perf_counter() - started) * 1000)
                queries = len(captured)
            times.sort()
            print(
                f"queue /requests/ as {username:10} p50 {statistics.median(times):7.1f} ms, "
                f"p95 {times[-1]:7.1f} ms, {queries} queries, HTTP {status}"
            )


def run_sweep() -> None:
    """One sweep in this (fresh) process; prints JSON with its figures and peak memory.

    Besides the wall-clock time it reports the CPU time of this process (all its threads): on
    a shared machine the wall clock moves with the neighbours' load, the CPU time much less.
    """
    from requests_app.escalation import sweep

    python = time.process_time()
    started = time.perf_counter()
    result = sweep()
    seconds = time.perf_counter() - started
    python = time.process_time() - python
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": round(seconds, 3),
                "python_cpu": round(python, 2),
                "load": round(os.getloadavg()[0], 1),
                "peak_rss_mb": round(peak_mb, 1),
                "fired": dict(result.fired),
                "cases": result.cases,
                "notifications": result.notifications,
            }
        )
    )


def sweep_in_subprocess() -> dict:
    output = subprocess.run(  # noqa: S603 - this script, fixed arguments
        [sys.executable, __file__, "--sweep-only"],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--sweep-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--queue", action="store_true", help="also measure the queue page of each role"
    )
    parser.add_argument(
        "--fill-only",
        action="store_true",
        help="fill and stop (measure later with --reuse, on a quiet machine)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the filled data; undo the last run's firings instead",
    )
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    if args.sweep_only:
        run_sweep()
        return
    if connection.vendor != "postgresql":
        sys.exit("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    started = time.perf_counter()
    if args.reuse:
        undo_last_run()
    else:
        fill(args.requests, args.due)
        print(
            f"Filled {args.requests:,} requests ({args.due:,} past due) "
            f"in {time.perf_counter() - started:.1f} s."
        )
        if args.fill_only:
            return
    explain()
    if args.queue:
        print(f"\nLoad average before the queue: {os.getloadavg()[0]:.1f}")
        measure_queue()
    busy = sweep_in_subprocess()
    print(
        f"\nSweep with {sum(busy['fired'].values()):,} firings due: {busy['seconds']} s "
        f"(CPU of the sweeping process {busy['python_cpu']} s; load average {busy['load']}), "
        f"peak RSS {busy['peak_rss_mb']} MB, fired {busy['fired']}, "
        f"{busy['notifications']:,} notifications."
    )
    idle = [sweep_in_subprocess() for _ in range(3)]
    print(
        "Sweep with nothing due (3 runs): "
        + ", ".join(f"{round(run['seconds'] * 1000)} ms" for run in idle)
        + f"; peak RSS {max(run['peak_rss_mb'] for run in idle)} MB."
    )
    if args.queue:
        measure_growing_tables()


def measure_growing_tables(repeat: int = 10) -> None:
    """What partitioning by month would be for: the sizes of the tables that grow fastest, and
    the pages that read them (the inbox of whoever has most messages, a request's timeline),
    to compare with the same pages at 1M requests."""
    import statistics

    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    from notifications.models import Notification
    from officials.models import User
    from requests_app.models import RequestEvent

    with connection.cursor() as cursor:
        for table in ("requests_app_requestevent", "portal_notification"):
            cursor.execute(
                "SELECT reltuples::bigint, pg_size_pretty(pg_relation_size(oid)), "
                "pg_size_pretty(pg_indexes_size(oid)) FROM pg_class WHERE relname = %s",
                [table],
            )
            rows, heap, indexes = cursor.fetchone()
            print(f"{table}: about {rows:,} rows, {heap} heap, {indexes} indexes")
    top = Notification.objects.values("recipient").annotate(n=Count("pk")).order_by("-n").first()
    request_id = RequestEvent.objects.order_by("-id").values_list("request_id", flat=True)[0]
    pages = [("/inbox/", top["recipient"]), (f"/api/v1/requests/{request_id}/events/", None)]
    admin = User.objects.get(username="admin")
    with override_settings(ALLOWED_HOSTS=["*"]):
        for url, user_id in pages:
            client = Client()
            client.force_login(User.objects.get(pk=user_id) if user_id else admin)
            client.get(url)
            times = []
            for _ in range(repeat):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    status = client.get(url).status_code
                    times.append((time.perf_counter() - started) * 1000)
            print(
                f"{url:40} p50 {statistics.median(times):6.1f} ms, {len(captured)} queries, "
                f"HTTP {status}" + (f" ({top['n']:,} messages)" if user_id else "")
            )


if __name__ == "__main__":
    main()
