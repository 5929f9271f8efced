"""What a batch of firings writes: the timeline events, the accountability cases, the messages.

`escalation.fire` calls these for the requests whose firings it has just inserted (and holds
locked), with the rows it read of them; everything here is set-based over the batch.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from compliance.models import AccountabilityCase, CaseSource, CaseStatus
from core.bulk import insert_rows, int_array
from notifications import messages
from officials.models import Department, EnterpriseLink, LinkKind, Role, User
from requests_app.models import Clock, EscalationAction, Recipient, ServiceRequest
from requests_app.timeline import CANONICAL, NewEvent

EVENT_ACTIONS = {
    EscalationAction.REMIND: "reminder",
    EscalationAction.ESCALATE: "escalated",
    EscalationAction.ACCOUNTABILITY: "accountability_opened",
}
NOTIFICATION_KINDS = {
    EscalationAction.REMIND: "reminder",
    EscalationAction.ESCALATE: "escalated",
    EscalationAction.ACCOUNTABILITY: "accountability_opened",
}
# How a message names the clock that ran out (the admin's labels name the clock itself).
CLOCK_DEADLINES = {
    Clock.ASSIGN: gettext_lazy("assign deadline"),
    Clock.ANSWER: gettext_lazy("answer deadline"),
    Clock.EXTENSION: gettext_lazy("extended deadline"),
}
NOT_ASSIGNED = gettext_lazy("no department yet (the liaison)")


def due_field(clock: str) -> str:
    """The request's column that holds the due time of `clock` (an extension moves the answer)."""
    return "assign_due_at" if clock == Clock.ASSIGN else "answer_due_at"


def events(rule, rows) -> list[NewEvent]:
    """One hash-chained event per request, continuing each request's chain (rows are locked)."""
    action = EVENT_ACTIONS[rule.action]
    return [
        NewEvent(
            request_id=row["pk"],
            action=action,
            status=row["status"],
            note=rule.name,
            data={
                "rule": rule.pk,
                "clock": rule.clock,
                "due_at": row["due"].isoformat(),
                "cycle": row["cycle"],
            },
        )
        for row in rows
    ]


# The fields of a request that `Context.recipients` reads.
_DECIDES_RECIPIENTS = ("handler_id", "department_id", "liaison_id", "enterprise_id")


def event_data_in_database(rule) -> tuple[str, list]:
    """PostgreSQL: the data of `events` as canonical JSON text, for a query with the columns
    `cycle` and `due_at` (see `timeline.append_in_database`). Returns SQL and parameters.

    The keys in sorted order, as the canonical form has them; the due time in the form
    `isoformat()` gives a UTC datetime, microseconds only when there are any.
    """
    clock = CANONICAL.encode(rule.clock).replace("%", "%%")
    template = f'{{"clock":{clock},"cycle":%1$s,"due_at":%2$s,"rule":{int(rule.pk)}}}'
    utc = "(due_at AT TIME ZONE 'UTC')"
    iso = (
        f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS') """
        f"|| CASE to_char({utc}, 'US') WHEN '000000' THEN '' ELSE '.' || to_char({utc}, 'US') END "
        "|| '+00:00'"
    )
    return f"format(%s, cycle, to_json({iso})::text)", [template]


@dataclass
class Context:
    """Everything a batch's messages and cases need, loaded in a fixed number of queries."""

    departments: dict[int, Department]
    enterprises: dict[int, tuple[str, str]]  # id -> (name, region)
    users: dict[int, User]
    handlers_by_department: dict[int, list[User]]
    leaders_by_enterprise: dict[int, list[User]]
    inspectors: list[tuple[User, set[str] | None]]
    _told: dict[tuple, list[User]] = field(default_factory=dict)

    @classmethod
    def load(cls, rows, recipients) -> "Context":
        """`recipients`: the rule's recipient codes (inspectors are read only when named)."""
        from officials.models import Enterprise
        from officials.selectors import jurisdiction_regions

        department_ids = {row["department_id"] for row in rows if row["department_id"]}
        enterprise_ids = {row["enterprise_id"] for row in rows}
        departments = Department.objects.in_bulk(department_ids)
        enterprises = {
            pk: (name, region)
            for pk, name, region in Enterprise.objects.filter(pk__in=enterprise_ids).values_list(
                "pk", "name", "region"
            )
        }
        user_ids = {row[key] for row in rows for key in ("handler_id", "liaison_id") if row[key]}
        user_ids |= {d.head_id for d in departments.values() if d.head_id}
        users = User.objects.in_bulk(user_ids)
        handlers = defaultdict(list)
        for user in User.objects.filter(
            role=Role.HANDLER, is_active=True, department_id__in=department_ids
        ):
            handlers[user.department_id].append(user)
        leaders = defaultdict(list)
        for link in (
            EnterpriseLink.objects.active()
            .filter(
                kind=LinkKind.LEADER,
                enterprise_id__in=enterprise_ids,
                official__is_active=True,
            )
            .select_related("official")
        ):
            leaders[link.enterprise_id].append(link.official)
        inspectors = []
        inspecting = User.objects.filter(role=Role.INSPECTOR, is_active=True)
        if Recipient.INSPECTORS not in recipients:
            inspecting = inspecting.none()  # one query per inspector saved on every batch
        for user in inspecting.select_related("department"):
            regions = jurisdiction_regions(user)
            inspectors.append((user, None if regions is None else {r["region"] for r in regions}))
        return cls(departments, enterprises, users, handlers, leaders, inspectors)

    def told(self, codes: list[str], row) -> list[User]:
        """Everyone `codes` name for this request; requests with the same people share the list."""
        key = (tuple(codes), *(row[name] for name in _DECIDES_RECIPIENTS))
        found = self._told.get(key)
        if found is None:
            found = self._told[key] = [
                user for code in codes for user in self.recipients(code, row)
            ]
        return found

    def recipients(self, code: str, row) -> list[User]:
        if code == Recipient.ASSIGNEE:
            if row["handler_id"]:
                return [self.users[row["handler_id"]]]
            if row["department_id"]:
                return self.handlers_by_department.get(row["department_id"], [])
            return [self.users[row["liaison_id"]]] if row["liaison_id"] else []
        if code == Recipient.LIAISON:
            return [self.users[row["liaison_id"]]] if row["liaison_id"] else []
        if code == Recipient.LEADER:
            return self.leaders_by_enterprise.get(row["enterprise_id"], [])
        if code == Recipient.DEPARTMENT_HEAD:
            department = self.departments.get(row["department_id"])
            return [self.users[department.head_id]] if department and department.head_id else []
        if code == Recipient.INSPECTORS:
            region = self.enterprises[row["enterprise_id"]][1]
            return [
                user for user, regions in self.inspectors if regions is None or region in regions
            ]
        return []


def open_cases(rule, rows, now, context: Context) -> int:
    """One case per breach: the request, its department and handler, the breach time."""
    columns = (
        "source",
        "status",
        "request_id",
        "department_id",
        "official_id",
        "region",
        "cause",
        "rule",
        "breach_at",
        "opened_at",
    )
    cases = [
        (
            CaseSource.BREACH.value,
            CaseStatus.OPEN.value,
            row["pk"],
            row["department_id"],
            # The handler answers for a breach; before assignment, the liaison who held it.
            row["handler_id"] or (None if row["department_id"] else row["liaison_id"]),
            context.enterprises[row["enterprise_id"]][1],
            f"{row['reference']}: {rule.name}"[:300],
            rule.name[:100],
            row["due"],
            now,
        )
        for row in rows
    ]
    insert_rows(AccountabilityCase, columns, cases)
    return len(cases)


def notify(rule, rows, now, context: Context) -> int:
    kind = NOTIFICATION_KINDS[rule.action]
    clock = CLOCK_DEADLINES[rule.clock]  # lazy: each recipient reads it in their own language
    # reverse() once: building a link per row is a noticeable share of a 100,000-row sweep.
    link = reverse("requests:detail", args=[0]).replace("/0/", "/{}/")
    told = [(row, context.told(rule.recipients, row)) for row in rows]
    if connection.vendor == "postgresql":
        return _notify_in_database(rule, kind, link, told, now)
    items = []
    for row, recipients in told:
        department = context.departments.get(row["department_id"])
        message_context = {
            "reference": row["reference"],
            "title": row["title"],
            "enterprise": context.enterprises[row["enterprise_id"]][0],
            # Never assigned: the case concerns the liaison who did not hand it on.
            "department": department.name if department else NOT_ASSIGNED,
            "clock": clock,
            "due": timezone.localtime(row["due"]).strftime("%Y-%m-%d %H:%M"),
        }
        items.append((recipients, message_context, link.format(row["pk"])))
    return messages.save_rows(messages.rows_for_many(kind, items, now=now))


def _notify_in_database(rule, kind, link, told, now) -> int:
    """PostgreSQL: the same words, filled in by the database from the requests' own rows.

    Rendering and shipping 200,000 messages from Python was the largest share of a large
    sweep; only the (request, recipient) pairs travel. The columns match `_notify`'s context.
    """
    from officials.models import Enterprise

    prefix, suffix = link.split("{}")
    query = f"""
        SELECT r.id AS item, r.reference, r.title, e.name AS enterprise,
               d.name AS department, NULL::text AS clock,
               to_char(r.{due_field(rule.clock)} AT TIME ZONE %s, 'YYYY-MM-DD HH24:MI') AS due,
               %s || r.id || %s AS link
        FROM {ServiceRequest._meta.db_table} AS r
        JOIN {Enterprise._meta.db_table} AS e ON e.id = r.enterprise_id
        LEFT JOIN {Department._meta.db_table} AS d ON d.id = r.department_id
        WHERE r.id = ANY(%s::bigint[])
    """
    params = [
        timezone.get_current_timezone_name(),
        prefix,
        suffix,
        int_array(row["pk"] for row, _ in told),
    ]
    return messages.save_from_query(
        kind,
        [(row["pk"], recipients) for row, recipients in told],
        query,
        params,
        # Never assigned: the case concerns the liaison who did not hand it on.
        defaults={"clock": CLOCK_DEADLINES[rule.clock], "department": NOT_ASSIGNED},
        now=now,
    )
