"""Benchmark of the request search (requests_app.search) on PostgreSQL: the API's `?search=`,
the console search and the bare query, as an admin and a city inspector, over requests whose
titles and descriptions are Chinese text.

Usage, on a throw-away database that the script empties and fills (create it first):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/qinqing_search_bench
    python benchmarks/search_benchmark.py --total 1000000          # fill, then measure
    python benchmarks/search_benchmark.py --total 1000000 --reuse  # measure what is there

The requests come from the sweep benchmark's set-based `fill`; their texts are then rewritten
from a vocabulary where a few words are in most requests (企业, 问题) and topic words follow a
skewed distribution, so that a search finds from a few dozen rows to a third of the table.
It prints, for each search, how many requests match, p50/p95 of the query (count + first
page), of the API list and of the console page, their query counts, and the plans.
Target (issue 14): ≤ 100 ms at 1M requests.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

# Words in most requests, and topic words (the first ones far more common than the last).
COMMON = ["企业", "问题", "希望", "尽快", "协调", "解决", "相关", "部门", "反映", "目前"]
TOPICS = (  # noqa: SIM905 (a list literal of 77 words is harder to read)
    "道路 施工 用电 供水 融资 贷款 税务 退税 招工 用工 消防 验收 环评 "
    "排污 许可 证照 办理 拖欠 账款 补贴 申报 政策 兑现 物流 园区 厂房 "
    "租金 人才 住房 子女 入学 网络 宽带 噪音 投诉 检查 安全 生产 出口 "
    "通关 电价 燃气 污水 管网 社保 审批 用地 规划 产权 登记 公积金 医保 "
    "培训 技改 专利 商标 土地 拆迁 停车 交通 公交 垃圾 绿化 路灯 排水 "
    "防汛 疫情 资金 担保 上市 外贸 汇率 电商 快递 冷链 仓储"
).split()
SEARCHES = [
    ("2-char, common", "企业"),
    ("2-char", "社保"),
    ("2-char", "审批"),
    ("2-char, rare", "冷链"),
    ("4-char", "社保审批"),
    ("4-char", "道路施工"),
    ("1-char", "税"),
    ("reference", "B12345"),
    ("latin, mixed case", "b99999"),
]


def setup_django():
    import django

    django.setup()


def fill(total: int) -> None:
    from django.db import connection

    from benchmarks.sweep_benchmark import fill as fill_requests

    fill_requests(total, max(total // 10, 1))
    words = "ARRAY[" + ",".join(f"'{word}'" for word in TOPICS) + "]"
    common = "ARRAY[" + ",".join(f"'{word}'" for word in COMMON) + "]"
    # A topic word: index n * r^3 for r uniform in [0, 1) from a hash of (row, slot).
    topic = (
        f"({words})[1 + floor({len(TOPICS)} * power("
        "(abs(hashint8(id * 64 + {slot})) % 1000000) / 1000000.0, 3))::int]"
    )
    filler = f"({common})[1 + abs(hashint8(id * 64 + {{slot}} + 32)) % {len(COMMON)}]"
    title = " || ".join(topic.format(slot=k) for k in range(3)) + " || '的问题'"
    description = " || ".join(
        f"{topic.format(slot=10 + k)} || {filler.format(slot=10 + k)} || '，'" for k in range(10)
    )
    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute("DROP INDEX IF EXISTS req_search_bigrams")
        cursor.execute(
            f"UPDATE requests_app_servicerequest SET title = {title}, "
            f"description = {description} || '请' || ({common})[1 + id % 10] || '帮助。'"
        )
        print(f"texts (and their bigrams) written in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        cursor.execute(
            "CREATE INDEX req_search_bigrams ON requests_app_servicerequest "
            "USING gin (search_bigrams)"
        )
        print(f"index built in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT pg_size_pretty(pg_relation_size('req_search_bigrams')), "
            "pg_size_pretty(pg_table_size('requests_app_servicerequest'))"
        )
        index_size, table_size = cursor.fetchone()
        print(f"index {index_size}, table {table_size}")


def timed(call, runs: int) -> tuple[float, float, int]:
    """p50 and p95 in ms, and the query count of one run (after a warm-up run)."""
    from django.db import connection

    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    # A wrapper, not CaptureQueriesContext: a page's request closes and reopens the connection.
    with connection.execute_wrapper(count):
        call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(queries)


def measure(runs: int, explain: bool) -> None:
    from django.db import connection
    from django.test import Client
    from rest_framework.test import APIClient

    from inspection import histories
    from inspection.histories import Criteria
    from officials.models import Role, User
    from requests_app.search import matching
    from requests_app.selectors import requests_visible_to

    admin, _ = User.objects.get_or_create(
        username="bench-admin", defaults={"role": Role.ADMIN, "is_staff": True}
    )
    inspector = User.objects.get(username="inspector")
    api = APIClient()
    api.force_authenticate(admin)
    console = Client(HTTP_ACCEPT_LANGUAGE="en")
    console.force_login(inspector)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM requests_app_servicerequest")
        print(f"\n{cursor.fetchone()[0]:,} requests; {runs} runs each, p50 / p95 in ms\n")
    header = f"{'search':<20} {'text':<10} {'matches':>9}  {'query':>13}  {'API':>17}"
    print(header + f"  {'console':>17}  {'history':>13}")
    for kind, text in SEARCHES:
        found = matching(requests_visible_to(admin), text)
        matches = found.count()

        def query(found=found):
            found.count()
            list(found.order_by("-submitted_at", "-id")[:20])

        def api_list(text=text):
            assert api.get("/api/v1/requests/", {"search": text}).status_code == 200

        def console_page(text=text):
            response = console.get("/inspector/search/", {"go": "1", "text": text})
            assert response.status_code == 200

        def history_page(text=text):
            results = histories.search(inspector, Criteria(text=text))
            results[0:20]

        cells = []
        for call in (query, api_list, console_page, history_page):
            p50, p95, count = timed(call, runs)
            cells.append(f"{p50:6.1f}/{p95:6.1f} ({count:>2}q)")
        print(f"{kind:<20} {text:<10} {matches:>9,}  " + "  ".join(cells))
        if explain:
            page = found.order_by("-submitted_at", "-id")[:20]
            print(page.explain(analyze=True, buffers=True))
            print(found.values("pk").order_by().explain(analyze=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="measure the data already there")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--explain", action="store_true", help="print each search's plans")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a throw-away PostgreSQL database.")
    if not args.reuse:
        started = time.perf_counter()
        fill(args.total)
        print(f"filled {args.total:,} requests in {time.perf_counter() - started:.0f} s")
    measure(args.runs, args.explain)


if __name__ == "__main__":
    main()
