"""A realistic portal for the read benchmark, filled in set-based SQL: departments, officials,
enterprises and links with the ORM, then requests, their sealed timelines, inbox rows,
extensions and accountability cases in a few statements (COPY for what Python must seal).

The shape (g is the request's number, 1..N):
- four quarters: the current one and the three before it; done requests spread over them,
  open requests filed in the last six days (so some clocks are breached, most are not);
- statuses as a live portal holds them (g % 100): 0-1 submitted, 2-3 assigned, 4-6 rectifying,
  7 info_needed, 8-9 feedback, 10-11 rejected, 12 withdrawn, 13 merged, the rest closed; one
  rectifying request in four has an approved extension, one in four a pending one, and one
  closed request in fifty was on the ledger (approved extension, struck off);
- clocks consistent with the status: assign due a day after filing, answer three days after;
  assigned, answered and closed times after them; late rounds and ratings from those times;
- every request's timeline as the workflow would have written it, each event sealed with the
  portal's timeline key (requests_app.sealing), chained, and its last state equal to the row,
  so the detail page, the API's verify and the inspector console find no tampering;
- four districts of five bureaus, a handler per bureau, a liaison linked to 100 enterprises
  (one enterprise in ten), a leader linked to 50 and over one district, a city and a district
  inspector, an admin; the linked liaison's inbox holds 100,000 messages (scaled down with N).
"""

import datetime as dt
import time
from contextlib import contextmanager

from django.db import connection

from benchmarks.timelines import seal_timelines

DISTRICTS = 4
BUREAUS_PER_DISTRICT = 5
ENTERPRISES = 1000
LIAISON_LINKS = 100
LEADER_LINKS = 50
# Words of titles and descriptions: 2-character and 4-character Chinese searches hit one in 20.
TOPICS = (
    "用电报装",
    "融资贷款",
    "用工招聘",
    "土地审批",
    "税费减免",
    "物流运输",
    "环保验收",
    "消防检查",
    "证照办理",
    "供水供气",
    "网络宽带",
    "人才落户",
    "厂房租赁",
    "政策兑现",
    "知识产权",
    "出口退税",
    "道路施工",
    "噪音扰民",
    "拖欠账款",
    "子女入学",
)
SEARCH_TWO, SEARCH_FOUR = "融资", "融资贷款"


class Refused(Exception):
    """The database is not one this benchmark may empty."""


def check_database_name() -> str:
    """The filled database must say it is a benchmark's: the fill empties it."""
    from django.conf import settings

    name = connection.settings_dict["NAME"] or ""
    if set(settings.DATABASES) != {"default"}:
        # A replica router would send some pages' reads elsewhere: only DATABASE_URL is ours.
        others = ", ".join(sorted(set(settings.DATABASES) - {"default"}))
        raise Refused(f"Only DATABASE_URL may be configured (also configured: {others}).")
    if connection.vendor != "postgresql":
        raise Refused("This benchmark runs on PostgreSQL: set DATABASE_URL.")
    if "bench" not in name:
        raise Refused(f"Refusing to fill {name!r}: its name must contain 'bench'.")
    return name


def request_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM requests_app_servicerequest")
        return cursor.fetchone()[0]


def fill(total: int, *, now: dt.datetime, log=print) -> None:
    """Empty the database and fill it with `total` requests (see the module's docstring)."""
    from django.core.management import call_command

    from benchmarks.sweep_benchmark import _rerun_data_migrations

    check_database_name()
    call_command("migrate", verbosity=0)
    call_command("flush", "--noinput", verbosity=0)
    _rerun_data_migrations()  # flush also removed the categories, calendar and ladder
    people = _reference_data()
    with indexes_deferred(BULK_TABLES, log):
        _bulk(total, now, people, log)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# The tables the fill writes in bulk: their secondary indexes are built once at the end.
BULK_TABLES = ["requests_app_servicerequest", "requests_app_requestevent", "portal_notification"]


@contextmanager
def indexes_deferred(tables: list[str], log):
    """Drop the indexes of `tables` that back no constraint, and build them again after.

    Inserting a million rows into a dozen btrees and a GIN index row by row is most of a fill;
    building each once from the finished table is many times faster. The definitions come
    from the catalogue, so an index another migration adds is rebuilt too.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.relname = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [tables],
        )
        saved = cursor.fetchall()
        for name, _ in saved:
            cursor.execute(f"DROP INDEX {name}")
    try:
        yield
    finally:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _, definition in saved:
                cursor.execute(definition)
            cursor.execute("RESET maintenance_work_mem")
        log(f"  {len(saved)} indexes built again: {time.perf_counter() - started:.1f} s")


def _bulk(total: int, now: dt.datetime, people: dict, log) -> None:
    steps = [
        ("requests", lambda: _requests(total, now, people)),
        ("timelines", lambda: seal_timelines(people["leader"].pk)),
        ("deadlines", _deadlines),
        ("inbox rows", lambda: _inbox(total, now, people)),
        ("accountability cases", lambda: _cases(people)),
    ]
    for label, step in steps:
        started = time.perf_counter()
        step()
        log(f"  {label}: {time.perf_counter() - started:.1f} s")


def _reference_data() -> dict:
    """Departments, officials, enterprises and links, with the ORM (a few thousand rows)."""
    from officials.credit_code import check_character
    from officials.models import (
        Category,
        Department,
        Enterprise,
        EnterpriseLink,
        LinkKind,
        Role,
        User,
    )

    categories = list(Category.objects.order_by("pk"))
    city = Department.objects.create(name="市营商环境局", region="City")
    districts: list[Department] = []
    bureaus: list[Department] = []
    for d in range(DISTRICTS):
        district = Department.objects.create(name=f"第{d + 1}区", parent=city, region=f"D{d}")
        districts.append(district)
        for b in range(BUREAUS_PER_DISTRICT):
            bureau = Department.objects.create(name=f"第{d + 1}区第{b + 1}局", parent=district)
            bureau.categories.add(categories[len(bureaus) % len(categories)])
            bureaus.append(bureau)
    handlers = [
        User.objects.create(username=f"handler{k}", role=Role.HANDLER, department=bureau)
        for k, bureau in enumerate(bureaus)
    ]
    people = {
        "admin": User.objects.create(
            username="admin", role=Role.ADMIN, is_staff=True, is_superuser=True
        ),
        "liaison": User.objects.create(username="liaison", role=Role.LIAISON),
        "leader": User.objects.create(username="leader", role=Role.LEADER, department=districts[0]),
        "city_inspector": User.objects.create(
            username="inspector", role=Role.INSPECTOR, department=city
        ),
        "district_inspector": User.objects.create(
            username="inspector_d0", role=Role.INSPECTOR, department=districts[0]
        ),
        "handler": handlers[0],
    }
    others = [
        User.objects.create(username=f"liaison_d{d}", role=Role.LIAISON) for d in range(DISTRICTS)
    ]
    enterprises = []
    for k in range(ENTERPRISES):
        body = f"91350100{k:09d}"
        enterprises.append(
            Enterprise(
                name=f"企业{k:04d}有限公司",
                credit_code=body + check_character(body),
                region=f"D{k % DISTRICTS}",
            )
        )
    enterprises = Enterprise.objects.bulk_create(enterprises)
    links = [
        EnterpriseLink(official=people["liaison"], enterprise=e, kind=LinkKind.LIAISON)
        for e in enterprises[:LIAISON_LINKS]
    ] + [
        EnterpriseLink(official=people["leader"], enterprise=e, kind=LinkKind.LEADER)
        for e in enterprises[:LEADER_LINKS]
    ]
    EnterpriseLink.objects.bulk_create(links)
    return {
        **people,
        "first_enterprise": enterprises[0].pk,
        "bureaus": [b.pk for b in bureaus],
        "handlers": [h.pk for h in handlers],
        "district_liaisons": [u.pk for u in others],
        "categories": [c.pk for c in categories],
    }


# Clocks and times are written per status; an open request's steps are minutes apart, a done
# one's hours and days (its rounds sometimes late). Every time is before `now`. The rows go in
# in the order they were submitted, as a live portal appends them: a quarter's requests then
# lie together in the table, as in production, rather than spread over every page of it.
REQUESTS = """
INSERT INTO requests_app_servicerequest (
    reference, enterprise_id, category_id, title, description, source, status, submitted_at,
    department_id, handler_id, liaison_id, assign_due_at, answer_due_at, answer_paused_at,
    assigned_at, answered_at, closed_at, reopen_count, transfer_count, rating,
    rated_on_follow_up, late_rounds, extension_state, extension_until, extension_plan,
    updated_at)
SELECT 'QQ' || extract(year FROM s AT TIME ZONE 'Asia/Shanghai') || lpad(g::text, 7, '0'),
       %(e0)s + e, cat, '关于' || topic || '的诉求（' || g || '）',
       '企业反映' || topic || '方面的问题，希望相关部门协调解决。编号' || g, 'web', status, s,
       CASE WHEN assigned THEN bureau END, CASE WHEN assigned THEN handler END,
       CASE WHEN e < %(links)s THEN %(liaison)s
            ELSE (%(district_liaisons)s::bigint[])[1 + e %% %(districts)s] END,
       s + interval '1 day', s + interval '3 days',
       CASE WHEN status = 'info_needed' THEN s + interval '30 minutes' END,
       CASE WHEN assigned THEN
           CASE WHEN open THEN s + interval '10 minutes' ELSE s + (1 + g %% 30) * interval '1 hour'
           END END,
       CASE WHEN status = 'feedback' THEN s + interval '50 minutes'
            WHEN status = 'closed' THEN s + (3 + g %% 30) * interval '1 hour'
                                        + (g %% 5) * interval '1 day' END,
       CASE WHEN status = 'closed' THEN s + (3 + g %% 30) * interval '1 hour'
                                        + (1 + g %% 5) * interval '1 day' END,
       CASE WHEN status = 'closed' AND g %% 17 = 0 THEN 1 ELSE 0 END, 0,
       CASE WHEN status = 'closed' THEN 1 + g %% 5 END,
       status = 'closed' AND g %% 7 = 0,
       0,
       extension, CASE WHEN extension <> '' THEN s + interval '10 days' END,
       CASE WHEN extension <> '' THEN '分阶段整改：先协调' || topic || '，十日内办结。' ELSE '' END,
       %(now)s
FROM (
    SELECT g, status, e, cat, topic, open, assigned, bureau, handler, s,
           CASE WHEN status = 'rectifying' AND (g / 100) %% 4 = 0 THEN 'approved'
                WHEN status = 'rectifying' AND (g / 100) %% 4 = 1 THEN 'pending'
                WHEN status = 'closed' AND (g / 100) %% 50 = 0 THEN 'approved'
                ELSE '' END AS extension
    FROM (
        SELECT g, status, e, cat, topic, open,
               status NOT IN ('submitted', 'rejected', 'withdrawn', 'merged') AS assigned,
               (%(bureaus)s::bigint[])[1 + (e %% %(districts)s) * %(per_district)s
                                         + g %% %(per_district)s] AS bureau,
               (%(handlers)s::bigint[])[1 + (e %% %(districts)s) * %(per_district)s
                                          + g %% %(per_district)s] AS handler,
               CASE WHEN open THEN %(now)s - interval '1 hour' - (g %% 8640) * interval '1 minute'
                    ELSE %(start)s + (g::bigint * 7919 %% %(span)s) * interval '1 minute' END AS s
        FROM (
            SELECT g, status, status IN ('submitted', 'assigned', 'rectifying', 'info_needed',
                                         'feedback') AS open,
                   (g * 31) %% %(enterprises)s AS e,
                   (%(categories)s::bigint[])[1 + g %% %(category_count)s] AS cat,
                   (%(topics)s::text[])[1 + (g / 7) %% %(topic_count)s] AS topic
            FROM (
                SELECT g, CASE WHEN g %% 100 < 2 THEN 'submitted'
                               WHEN g %% 100 < 4 THEN 'assigned'
                               WHEN g %% 100 < 7 THEN 'rectifying'
                               WHEN g %% 100 = 7 THEN 'info_needed'
                               WHEN g %% 100 < 10 THEN 'feedback'
                               WHEN g %% 100 < 12 THEN 'rejected'
                               WHEN g %% 100 = 12 THEN 'withdrawn'
                               WHEN g %% 100 = 13 THEN 'merged'
                               ELSE 'closed' END AS status
                FROM generate_series(1, %(total)s) AS g
            ) numbered
        ) shaped
    ) placed
) extended
ORDER BY s, g
"""


def _requests(total: int, now: dt.datetime, people: dict) -> None:
    from reports.figures import Period

    current = Period.containing(now)
    start = current.previous().previous().previous().start
    # Done requests were filed from the first quarter's start to 8 days ago: closed by now.
    span = int((now - dt.timedelta(days=8) - start).total_seconds() // 60)
    with connection.cursor() as cursor:
        cursor.execute(
            REQUESTS,
            {
                "e0": _first_enterprise(),
                "links": LIAISON_LINKS,
                "liaison": people["liaison"].pk,
                "district_liaisons": people["district_liaisons"],
                "districts": DISTRICTS,
                "per_district": BUREAUS_PER_DISTRICT,
                "bureaus": people["bureaus"],
                "handlers": people["handlers"],
                "enterprises": ENTERPRISES,
                "categories": people["categories"],
                "category_count": len(people["categories"]),
                "topics": list(TOPICS),
                "topic_count": len(TOPICS),
                "now": now,
                "start": start,
                "span": span,
                "total": total,
            },
        )
        # Rounds answered after their clock, as the workflow counts them.
        cursor.execute(
            "UPDATE requests_app_servicerequest SET late_rounds = 1 "
            "WHERE status = 'closed' AND answered_at > answer_due_at"
        )
        # A merged request points at the request filed just before it.
        cursor.execute(
            "UPDATE requests_app_servicerequest SET merged_into_id = id - 1 "
            "WHERE status = 'merged' AND id > (SELECT min(id) FROM requests_app_servicerequest)"
        )


def _first_enterprise() -> int:
    from officials.models import Enterprise

    return Enterprise.objects.order_by("pk").values_list("pk", flat=True)[0]


def _deadlines() -> None:
    """The sweep's narrow copy of the running clocks, as the workflow keeps it."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO requests_app_deadline (request_id, clock, cycle, due_at, running,
                paused, stage)
            SELECT id, 'assign', 0, assign_due_at, true, false,
                   CASE WHEN assign_due_at < now() THEN 2 ELSE 0 END
            FROM requests_app_servicerequest WHERE status = 'submitted'
            UNION ALL
            SELECT id, 'answer', 0, answer_due_at, status <> 'info_needed',
                   status = 'info_needed', CASE WHEN answer_due_at < now() THEN 2 ELSE 0 END
            FROM requests_app_servicerequest
            WHERE status IN ('submitted', 'assigned', 'rectifying', 'info_needed')
            """
        )


def _inbox(total: int, now: dt.datetime, people: dict) -> None:
    """100,000 messages for the linked liaison (one per ten requests below 1M), one in ten
    unread; 2,000 each for the handler and the leader."""
    from notifications.models import Kind

    kinds = [Kind.NEW_REQUEST, Kind.REQUEST_ASSIGNED, Kind.FEEDBACK_GIVEN, Kind.INFO_REQUESTED]
    with connection.cursor() as cursor:
        for user, count in [
            (people["liaison"], max(1000, total // 10)),
            (people["handler"], 2000),
            (people["leader"], 2000),
        ]:
            cursor.execute(
                """
                INSERT INTO portal_notification (recipient_id, kind, subject, body, body_html,
                    link, created_at, read_at, email_wanted, emailed_at, email_attempts)
                SELECT %(user)s, (%(kinds)s::text[])[1 + g %% 4],
                       '诉求 QQ' || lpad(g::text, 7, '0') || ' 有新进展',
                       '您关注的诉求有新进展，请及时处理。', '',
                       '/requests/' || (SELECT min(id) FROM requests_app_servicerequest) + g
                                     %% %(total)s || '/',
                       %(now)s - g * interval '5 minutes',
                       CASE WHEN g %% 10 <> 0 THEN %(now)s - g * interval '4 minutes' END,
                       true, %(now)s - g * interval '5 minutes', 1
                FROM generate_series(1, %(count)s) AS g
                """,
                {"user": user.pk, "kinds": kinds, "count": count, "total": total, "now": now},
            )


def _cases(people: dict) -> None:
    """An accountability case for each request answered late (one in 50 of them), by breach."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO compliance_accountabilitycase (source, status, region, cause, rule,
                breach_at, opened_at, department_id, official_id, request_id, decided_at,
                cause_code, cause_params)
            SELECT 'breach', CASE WHEN r.id % 3 = 0 THEN 'decided' ELSE 'open' END, e.region,
                   r.reference || '：答复超时', 'answer breach', r.answer_due_at, r.answer_due_at,
                   r.department_id, r.handler_id, r.id,
                   CASE WHEN r.id % 3 = 0 THEN r.answer_due_at + interval '5 days' END,
                   'breach', jsonb_build_object('reference', r.reference, 'rule', '答复超时',
                                                'rule_en', 'Answer overdue')
            FROM requests_app_servicerequest r
            JOIN officials_enterprise e ON e.id = r.enterprise_id
            WHERE r.late_rounds > 0 AND r.id % 47 = 0
            """
        )
