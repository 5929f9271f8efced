"""Benchmark of the pages people read, on PostgreSQL: every list, detail, search, inbox, ledger,
dashboard and export page as each role sees it, at 1,000,000 requests.

Usage, on a throw-away database whose name contains "bench" (create it first):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/qinqing_read_bench
    python benchmarks/read_benchmark.py              # fill 1M requests, measure every page
    python benchmarks/read_benchmark.py --reuse      # keep a database that holds N already
    python benchmarks/read_benchmark.py --reuse --only 'api|queue' --repeat 20
    python benchmarks/read_benchmark.py --reuse --load --load-seconds 60

Pages are requested in-process (django.test.Client, force_login, no network), over a kept
database connection as in production: each once to warm, then --repeat times. It prints a
table (page, role, size, p50 and p95 in ms, queries, HTTP status), the pages that did not
answer 200, and the EXPLAIN (ANALYZE, BUFFERS) of the slowest single query seen. A dashboard's
first view empties every cache before each run; its "beat running" lines then let beat's two
tasks run first, untimed, as in production: the portal's current quarter kept again, every
inspection jurisdiction's, and every department's and jurisdiction's dashboard read lately.
With "read before" the reader's own scope was read by the warm-up run; without it nobody's
scope counts as read (a scope's first read). --load serves the portal with gunicorn (3 workers,
portal/gunicorn.py) and drives the queue page and the API list from a bounded Python client
(benchmarks/load_run.py).
Targets (issue 14): lists p50 ≤ 50 ms, search ≤ 100 ms, detail ≤ 20 ms, dashboard first view
≤ 1 s then ≤ 50 ms, console search ≤ 100 ms, queries constant between sizes 20 and 100; load
≥ 100 requests/s with p99 ≤ 250 ms and no errors.
"""

import argparse
import datetime as dt
import logging
import math
import os
import re
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# Kept connections, as production keeps them (portal/settings.py: 60 s there, 0 in development,
# the same default as benchmarks/load_run.py): a new PostgreSQL backend per page, 4-5 ms of
# connecting at 1M, would be timed otherwise. DATABASE_CONN_MAX_AGE=0 times it.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")

# The roles the benchmark logs in as, by the usernames the fill gives them.
PERSONAS = {
    "liaison": "liaison",
    "handler": "handler0",
    "leader": "leader",
    "city_inspector": "inspector",
    "district_inspector": "inspector_d0",
    "admin": "admin",
}
SIZES = (20, 100)
BEAT_PORTAL = "portal"  # beat's tasks (reports.tasks), with no scope noted as read
BEAT_READ = "read"  # beat's tasks, the reader's scope read before


@dataclass(frozen=True)
class Page:
    name: str
    role: str
    url: str
    sized: bool = False  # a list: measured at each of SIZES (?page_size=)
    fresh: bool = False  # every cache emptied before each run (a first view)
    # With `fresh`: beat's tasks then run, untimed, as in production: BEAT_PORTAL the portal's
    # current quarter only, nobody's scope read before; BEAT_READ the scopes read lately too.
    beat: str = ""


@dataclass
class Result:
    page: Page
    size: int | None
    times: list[float]
    queries: list[int]
    statuses: set[int]
    problems: set[str]

    def percentile(self, fraction: float) -> float:
        """Nearest rank: with 10 runs, p50 is the 5th fastest and p95 the slowest."""
        ordered = sorted(self.times)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


class SlowestQuery:
    """An execute wrapper keeping the slowest single statement seen, with its parameters."""

    def __init__(self):
        self.seconds, self.sql, self.params, self.where = 0.0, "", None, ""
        self.page = ""

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds = time.perf_counter() - started
            if seconds > self.seconds and not many:
                self.seconds, self.sql, self.params, self.where = seconds, sql, params, self.page


def setup_django():
    import django

    django.setup()


def quiet_logs() -> None:
    """One line a page: no login record per persona, no calendar warning per dashboard view
    (the year after this one has no official calendar yet, and every quarter's clocks say so)."""
    logging.getLogger("axes").setLevel(logging.WARNING)
    logging.getLogger("requests_app.working_time").setLevel(logging.ERROR)


def prepare(args) -> None:
    """Fill the database, or keep it when --reuse finds it holds the number asked for."""
    from django.utils import timezone

    from benchmarks.filling import check_database_name, fill, request_count

    check_database_name()
    if args.reuse:
        held = request_count()
        if held == args.requests:
            print(f"Reusing {held:,} requests.")
            return
        print(f"--reuse: the database holds {held:,} requests, not {args.requests:,}: filling.")
    started = time.perf_counter()
    fill(args.requests, now=timezone.now())
    print(f"Filled {args.requests:,} requests in {time.perf_counter() - started:.1f} s.")


def personas() -> dict:
    from officials.models import User

    users = {user.username: user for user in User.objects.filter(username__in=PERSONAS.values())}
    people = {role: users[username] for role, username in PERSONAS.items()}
    enrol_two_factor(people.values())
    return people


def enrol_two_factor(users) -> None:
    """Give the roles that must use two-factor (MFA_REQUIRED_ROLES) an authenticator, as they
    have in production: otherwise every page of theirs is a redirect to setting it up, and the
    figures would time the redirect. force_login then stands for a sign-in that passed it."""
    from allauth.mfa.models import Authenticator
    from django.conf import settings

    for user in users:
        if user.role in settings.MFA_REQUIRED_ROLES:
            Authenticator.objects.get_or_create(
                user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "bench"}}
            )


def samples(people: dict) -> dict:
    """Ids the pages need: a request each role may see (reopened, so its timeline is long),
    a linked enterprise, a department, and the current and previous quarters."""
    from django.utils import timezone

    from officials.models import Enterprise
    from reports.figures import Period
    from requests_app.selectors import requests_visible_to

    detail = {}
    for role, user in people.items():
        visible = requests_visible_to(user).filter(status="closed", reopen_count=1)
        detail[role] = visible.order_by("-id").values("pk", "reference").first()
    current = Period.containing(timezone.now())
    return {
        "detail": detail,
        "enterprise": Enterprise.objects.order_by("pk").values_list("pk", flat=True)[0],
        "department": people["handler"].department_id,
        "current": current,
        "previous": current.previous(),
    }


def pages(people: dict, ids: dict) -> list[Page]:
    from benchmarks.filling import SEARCH_FOUR, SEARCH_TWO

    current, previous = ids["current"], ids["previous"]
    quarter = {"year": current.year, "quarter": current.quarter}
    before = {"year": previous.year, "quarter": previous.quarter}
    start = current.start.date()
    found: list[Page] = []
    for role in people:
        found += [
            Page("queue /requests/", role, "/requests/", sized=True),
            Page("API list", role, "/api/v1/requests/", sized=True),
            Page("dashboard, first view", role, "/reports/", fresh=True),
            Page(
                "dashboard, first view, beat running",
                role,
                "/reports/",
                fresh=True,
                beat=BEAT_PORTAL,
            ),
            Page(
                "dashboard, first view, beat running, read before",
                role,
                "/reports/",
                fresh=True,
                beat=BEAT_READ,
            ),
            Page("dashboard, second view", role, "/reports/"),
        ]
        sample = ids["detail"][role]
        if sample:
            pk = sample["pk"]
            found += [
                Page("detail /requests/<id>/", role, f"/requests/{pk}/"),
                Page("API detail", role, f"/api/v1/requests/{pk}/"),
                Page("API events", role, f"/api/v1/requests/{pk}/events/", sized=True),
            ]
            if people[role].has_perm("requests.verify_chain"):
                found.append(Page("API verify", role, f"/api/v1/requests/{pk}/verify/"))
    reference = (ids["detail"]["admin"] or {}).get("reference") or "QQ"
    api = "/api/v1/requests/?"
    filters = {
        "ordering=submitted_at": {"ordering": "submitted_at"},
        "ordering=-submitted_at": {"ordering": "-submitted_at"},
        "ordering=answer_due_at": {"ordering": "answer_due_at"},
        "ordering=-answer_due_at": {"ordering": "-answer_due_at"},
        "status=rectifying": {"status": "rectifying"},
        "category=labor": {"category": "labor"},
        "overdue=true": {"overdue": "true"},
        "overdue=false": {"overdue": "false"},
        "department": {"department": ids["department"]},
        "enterprise": {"enterprise": ids["enterprise"]},
        "submitted_after": {"submitted_after": start},
        "submitted_before": {"submitted_before": start - dt.timedelta(days=30)},
        "search 2 chars": {"search": SEARCH_TWO},
        "search 4 chars": {"search": SEARCH_FOUR},
        "search reference": {"search": reference},
    }
    for label, query in filters.items():
        found.append(Page(f"API list {label}", "admin", api + urlencode(query), sized=True))
    for role in ("liaison", "admin"):
        search = urlencode({"search": SEARCH_TWO})
        found.append(Page("queue search 2 chars", role, f"/requests/?{search}", sized=True))
    for role in ("liaison", "handler", "leader"):
        found.append(Page("inbox /inbox/", role, "/inbox/", sized=True))
    for role in ("leader", "admin"):
        found += [
            Page("ledger /ledger/", role, "/ledger/", sized=True),
            Page("ledger struck off", role, "/ledger/?show=closed", sized=True),
            Page("extensions to decide", role, "/extensions/?show=all", sized=True),
        ]
    for role in ("city_inspector", "district_inspector"):
        for label, query in [
            ("text 2 chars", {"text": SEARCH_TWO}),
            ("text 4 chars", {"text": SEARCH_FOUR}),
            ("by enterprise", {"enterprise": ids["enterprise"]}),
        ]:
            url = "/inspector/search/?" + urlencode(query)
            found.append(Page(f"console search {label}", role, url, sized=True))
        found += [
            Page("console alerts", role, "/inspector/"),
            Page("case list", role, "/inspector/cases/", sized=True),
            Page("API case list", role, "/api/v1/accountability-cases/", sized=True),
        ]
    for role in ("admin", "liaison", "district_inspector"):
        for figure in ("received", "overdue"):
            url = "/reports/requests/?" + urlencode({**quarter, "figure": figure})
            found.append(Page(f"figure drill-down {figure}", role, url, sized=True))
    narrow = {**quarter, "figure": "received", "department": ids["department"]}
    found += [
        Page(
            "dashboard previous quarter, first view",
            "admin",
            "/reports/?" + urlencode(before),
            fresh=True,
        ),
        Page("dashboard previous quarter, second view", "admin", "/reports/?" + urlencode(before)),
        Page("export quarterly CSV", "admin", "/reports/quarterly.csv?" + urlencode(quarter)),
        Page("export quarterly XLSX", "admin", "/reports/quarterly.xlsx?" + urlencode(quarter)),
        Page(
            "export figure CSV (one department, one category)",
            "admin",
            "/reports/requests/?" + urlencode({**narrow, "category": "labor", "format": "csv"}),
        ),
    ]
    return found


def with_size(url: str, size: int | None) -> str:
    if size is None:
        return url
    return url + ("&" if "?" in url else "?") + f"page_size={size}"


def fetch(client, url: str, problems: set[str]) -> int:
    """GET the page and read its whole body (a streamed export streams inside the timing);
    an exception the page raised goes into `problems` (the client answers 500 for it)."""
    response = client.get(url)
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    response.close()
    if getattr(response, "exc_info", None):
        error = response.exc_info[1]
        problems.add(f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
    return response.status_code


def forget_caches(*, beat: str = "") -> None:
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
    if beat:
        from reports.models import ReadScope
        from reports.tasks import keep_current_quarter, keep_read_quarters

        # Both of beat's tasks, as production runs them; "beat running" alone forgets which
        # scopes were read first, so that the reader's is a scope's first read.
        if beat != BEAT_READ:
            ReadScope.objects.all().delete()
        keep_current_quarter()
        keep_read_quarters()


def measure(client, page: Page, size: int | None, repeat: int, slowest: SlowestQuery) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = with_size(page.url, size)
    result = Result(page, size, [], [], set(), set())
    if page.fresh:
        forget_caches(beat=page.beat)
    result.statuses.add(
        fetch(client, url, result.problems)
    )  # warm: code paths, plans, the page cache
    slowest.page = f"{page.name} ({page.role}, {size or '-'})"
    for _ in range(repeat):
        if page.fresh:
            forget_caches(beat=page.beat)
        with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(slowest):
            started = time.perf_counter()
            result.statuses.add(fetch(client, url, result.problems))
            result.times.append((time.perf_counter() - started) * 1000)
        result.queries.append(len(queries))
    return result


def clients(people: dict) -> dict:
    from django.test import Client

    logged_in = {}
    for role, user in people.items():
        client = Client(raise_request_exception=False)
        client.force_login(user)
        logged_in[role] = client
    return logged_in


def run_pages(args, people: dict) -> list[Result]:
    chosen = [
        page
        for page in pages(people, samples(people))
        if not args.only or re.search(args.only, f"{page.name} {page.role}")
    ]
    logged_in = clients(people)
    # A page's exception is reported in the failures below, not as a logged traceback.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    slowest = SlowestQuery()
    results = []
    print(f"\n{'page':<48} {'role':<19} {'size':>4} {'p50 ms':>9} {'p95 ms':>9} {'queries':>8}")
    for page in chosen:
        for size in SIZES if page.sized else (None,):
            result = measure(logged_in[page.role], page, size, args.repeat, slowest)
            results.append(result)
            print_row(result)
    failures = [r for r in results if r.statuses != {200}]
    if failures:
        print("\nNot 200:")
        for r in failures:
            print(f"  {r.page.name} ({r.page.role}, size {r.size or '-'}): {sorted(r.statuses)}")
            for problem in sorted(r.problems):
                print(f"      {problem}")
    report_growing_queries(results)
    explain(slowest)
    return results


def report_growing_queries(results: list[Result]) -> None:
    """Lists whose query count changes with the page size (the target: constant)."""
    by_page: dict[tuple[str, str], dict[int | None, int]] = {}
    for r in results:
        by_page.setdefault((r.page.name, r.page.role), {})[r.size] = max(r.queries)
    growing = [(key, counts) for key, counts in by_page.items() if len(set(counts.values())) > 1]
    if growing:
        print("\nQueries that grow with the page size:")
        for (name, role), counts in growing:
            sizes = ", ".join(f"{size}: {count}" for size, count in counts.items())
            print(f"  {name} ({role}): {sizes}")


def print_row(result: Result) -> None:
    low, high = min(result.queries), max(result.queries)
    queries = str(low) if low == high else f"{low}-{high}"
    status = "" if result.statuses == {200} else f"  HTTP {sorted(result.statuses)}"
    print(
        f"{result.page.name[:48]:<48} {result.page.role:<19} {result.size or '-':>4} "
        f"{result.percentile(0.5):9.1f} {result.percentile(0.95):9.1f} {queries:>8}{status}",
        flush=True,
    )


def explain(slowest: SlowestQuery) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the slowest statement seen, rolled back: ANALYZE runs it."""
    from django.db import connection, transaction

    if not slowest.sql:
        return
    print(f"\nSlowest single query: {slowest.seconds * 1000:.1f} ms, on {slowest.where}:")
    print(f"    {slowest.sql[:4000]}\n    params: {str(slowest.params)[:500]}")
    if not re.match(r"\s*(SELECT|WITH)\b", slowest.sql, re.IGNORECASE):
        print("(not a SELECT: not explained)")
        return
    # A report page's slow statement is its quarter's pass, which runs with the analytic
    # settings (reports.figures: no JIT, sorts in memory, no index scans): explained without
    # them, the plan shown would be one the page never ran.
    report = slowest.where.startswith(("dashboard", "export"))
    if report:
        from reports import figures

        print("(explained with the reports' analytic settings, as the page ran it)")
    settings = (figures.analytic_queries(), figures.analytic_plan()) if report else ()
    with transaction.atomic():
        with ExitStack() as stack, connection.cursor() as cursor:
            for setting in settings:
                stack.enter_context(setting)
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest.sql, slowest.params)
            print("\n".join("    " + row[0] for row in cursor.fetchall()))
        transaction.set_rollback(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="skip the fill if N are there")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--only", default="", help="regular expression on 'page role'")
    parser.add_argument("--load", action="store_true", help="then the gunicorn load run")
    parser.add_argument("--load-seconds", type=int, default=60)
    parser.add_argument("--load-clients", type=int, default=8)
    parser.add_argument("--no-pages", action="store_true", help="skip the in-process pages")
    args = parser.parse_args()
    setup_django()
    quiet_logs()
    from benchmarks.filling import Refused

    try:
        prepare(args)
    except Refused as refused:
        sys.exit(str(refused))
    print(f"Load average before measuring: {os.getloadavg()[0]:.1f}")
    people = personas()
    if not args.no_pages:
        run_pages(args, people)
    if args.load:
        from benchmarks.load_run import load_run

        load_run(people, seconds=args.load_seconds, concurrency=args.load_clients)
    print(f"\nLoad average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
