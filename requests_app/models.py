"""Service requests (诉求), their hash-chained timeline, attachments and the working calendar."""

import datetime as dt
import hashlib
import json
import operator
import uuid
from dataclasses import dataclass
from functools import reduce

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from core import bilingual
from officials.models import Category, Department, Enterprise


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ASSIGNED = "assigned", _("Assigned")
    RECTIFYING = "rectifying", _("Rectifying")
    INFO_NEEDED = "info_needed", _("Information needed")
    FEEDBACK = "feedback", _("Feedback given")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    MERGED = "merged", _("Merged")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = frozenset(
    {
        Status.SUBMITTED,
        Status.ASSIGNED,
        Status.RECTIFYING,
        Status.INFO_NEEDED,
        Status.FEEDBACK,
    }
)
# The answer clock runs in these states; it pauses in info_needed and stops at feedback.
ANSWER_CLOCK_STATUSES = frozenset({Status.SUBMITTED, Status.ASSIGNED, Status.RECTIFYING})

# The queue's order: the due time of the clock an official works to next, the assign clock
# while a request waits to be assigned, the answer clock after. The one definition: `queue_for`
# orders by it and the indexes req_queue* are built over it. PostgreSQL reads an expression
# index only for this very expression, so neither may be written another way.
NEXT_DUE = models.Case(
    models.When(status=Status.SUBMITTED, then=models.F("assign_due_at")),
    default=models.F("answer_due_at"),
)
# OPEN_STATUSES, written out for the partial indexes of open requests (the queue, the ledger).
_OPEN = sorted(status.value for status in OPEN_STATUSES)


class Source(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    BREAKFAST_MEETING = "breakfast_meeting", _("Government–business breakfast meeting")
    SYMPOSIUM = "symposium", _("Entrepreneurs' symposium")
    VISIT = "visit", _("Site visit")
    HOTLINE = "hotline", _("12345 hotline")


ON_BEHALF_SOURCES = frozenset(
    {
        Source.BREAKFAST_MEETING,
        Source.SYMPOSIUM,
        Source.VISIT,
        Source.HOTLINE,
        Source.WEB,
    }
)


class ExtensionState(models.TextChoices):
    NONE = "", _("None")
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class ServiceRequestQuerySet(models.QuerySet):
    def overdue(self, now=None):
        """Requests whose running clock has breached as of `now` (set-based, index-friendly)."""
        now = now or timezone.now()
        return self.filter(overdue_q(now))

    def with_related(self):
        return self.select_related("enterprise", "category", "department", "handler", "liaison")

    def for_rows(self):
        """What a row of the request lists shows: the request with its enterprise, category and
        department, without the long texts. A page of 50 then reads a third of the columns, and
        PostgreSQL plans three joins instead of five (planning was most of the page's query)."""
        return self.select_related("enterprise", "category", "department").defer(
            "description", "extension_plan"
        )

    def for_ledger(self):
        """What a row of the supervision ledger shows: the request with its enterprise,
        department and handler, and the plan, without the description: three related rows a
        request instead of `with_related`'s five, and no long text the ledger does not show."""
        return self.select_related("enterprise", "department", "handler").defer("description")


@dataclass(frozen=True)
class OverdueRule:
    """One way a request is overdue: in these states, this clock's due time has passed `by`
    (a stored moment; None: now). The one definition, read by SQL (`q`) and Python (`holds`)."""

    clock: str
    states: frozenset
    due: str
    by: str | None = None

    def q(self, now) -> Q:
        passed = models.F(self.by) if self.by else now
        # One state as an equality: the SQL the partial indexes' conditions are written in.
        states = (
            {"status": next(iter(self.states))}
            if len(self.states) == 1
            else {"status__in": self.states}
        )
        return Q(**states, **{f"{self.due}__lt": passed})

    def holds(self, request, now) -> bool:
        due = getattr(request, self.due)
        passed = getattr(request, self.by) if self.by else now
        return (
            request.status in self.states
            and due is not None
            and passed is not None
            and (due < passed)
        )


# A paused clock is overdue only if it had already breached when it was paused.
PAUSED_AFTER_BREACH = OverdueRule(
    "answer", frozenset({Status.INFO_NEEDED}), "answer_due_at", "answer_paused_at"
)
OVERDUE_RULES = (
    OverdueRule("assign", frozenset({Status.SUBMITTED}), "assign_due_at"),
    OverdueRule("answer", ANSWER_CLOCK_STATUSES, "answer_due_at"),
    PAUSED_AFTER_BREACH,
)


def overdue_q(now, clock: str | None = None) -> Q:
    """Requests overdue as of `now` (on one clock, or any): pages, API, reports, inspection."""
    conditions = [rule.q(now) for rule in OVERDUE_RULES if clock in (None, rule.clock)]
    return reduce(operator.or_, conditions)


class ServiceRequest(models.Model):
    """A problem an enterprise brings. Only requests_app.workflow changes `status`."""

    reference = models.CharField(
        _("reference"), max_length=32, unique=True, null=True, editable=False
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="requests"
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="requests"
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=10000)
    source = models.CharField(
        _("source"), max_length=20, choices=Source.choices, default=Source.WEB
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED, editable=False
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
    )
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handler"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handled_requests",
    )
    liaison = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("liaison"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="liaison_requests",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="duplicates",
    )
    # Clocks: stored, indexed due times, recomputed by the workflow at every state change.
    assign_due_at = models.DateTimeField(_("assign due"), null=True)
    answer_due_at = models.DateTimeField(_("answer due"), null=True)
    answer_paused_at = models.DateTimeField(_("answer clock paused"), null=True, blank=True)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    reopen_count = models.PositiveIntegerField(_("times reopened"), default=0)
    transfer_count = models.PositiveIntegerField(_("times transferred"), default=0)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    # True when the rating was given on a liaison's follow-up call (回访), not by the enterprise
    # itself: it counts in `satisfaction_follow_up`, never in `satisfaction`, and the enterprise
    # may dispute the close.
    rated_on_follow_up = models.BooleanField(_("rated on a follow-up call"), default=False)
    # Answer rounds (the first answer and each after a reopen) that came after their clock:
    # `answer_on_time` holds only when this is 0.
    late_rounds = models.PositiveSmallIntegerField(_("rounds answered late"), default=0)
    extension_state = models.CharField(
        _("extension"), max_length=10, choices=ExtensionState.choices, default="", blank=True
    )
    extension_until = models.DateTimeField(_("extended until"), null=True, blank=True)
    extension_plan = models.TextField(_("extension plan"), blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ServiceRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at"]
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        indexes = [
            # Partial indexes over the due times of running clocks only: the sweep and the
            # overdue filter read these, and closed requests (most of them) never enter them.
            models.Index(
                fields=["assign_due_at"],
                name="req_assign_due_running",
                condition=Q(status="submitted"),
            ),
            models.Index(
                fields=["answer_due_at"],
                name="req_answer_due_open",
                # info_needed too: a clock that breached before its pause still escalates.
                condition=Q(status__in=["submitted", "assigned", "rectifying", "info_needed"]),
            ),
            models.Index(fields=["department", "status"], name="req_department_status"),
            models.Index(fields=["enterprise", "status"], name="req_enterprise_status"),
            # Each list in the order it shows, the id breaking ties (migration 0015), so that a
            # page reads its rows off an index and stops: the queue of open requests (and the
            # handler's, of one department), the API's two orderings read forwards or
            # backwards, the ledger's two tabs and the extensions waiting for a decision.
            # Covering (PostgreSQL) the scope's columns: a liaison's capped count of their queue
            # checks some 10,000 open requests at 1M to find 1,001 of theirs, from the index
            # alone (6 ms from the table, 2 ms from the index; migration 0022).
            models.Index(
                NEXT_DUE,
                models.F("id"),
                name="req_queue",
                condition=Q(status__in=_OPEN),
                include=["enterprise", "liaison", "department"],
            ),
            models.Index(
                models.F("department"),
                NEXT_DUE,
                models.F("id"),
                name="req_queue_department",
                condition=Q(status__in=_OPEN),
            ),
            models.Index(fields=["submitted_at", "id"], name="req_submitted_id"),
            # A handler's list, and the department filter, in the API's order (migration 0016).
            models.Index(
                fields=["department", "submitted_at", "id"], name="req_department_submitted"
            ),
            models.Index(fields=["answer_due_at", "id"], name="req_answer_due_id"),
            # The ledger's two tabs, in their order. Covering (PostgreSQL) the columns the scopes
            # ask, like req_extension_pending below: a leader's capped count walks some 3,000
            # struck-off rows at 1M requests to find 1,001 of theirs, from the index alone
            # (12 ms from the table, 2 ms from the index).
            models.Index(
                fields=["answer_due_at", "id"],
                name="req_ledger_open",
                condition=Q(extension_state="approved", status__in=_OPEN),
                include=["enterprise", "liaison", "department"],
            ),
            models.Index(
                fields=["-closed_at", "-id"],
                name="req_ledger_closed",
                condition=Q(extension_state="approved", status="closed"),
                include=["enterprise", "liaison", "department"],
            ),
            # Covering (PostgreSQL) the columns the scopes ask of a waiting extension: a leader's
            # count of those to decide (on the ledger and its own list) checks every waiting
            # one from the index alone, not from the table (7,500 rows at 1M requests: 9 ms
            # against 5).
            models.Index(
                fields=["extension_until", "id"],
                name="req_extension_pending",
                condition=Q(extension_state="pending", status="rectifying"),
                include=["enterprise", "liaison", "department"],
            ),
            # The text search's generated column and GIN index (search_bigrams,
            # req_search_bigrams) exist on PostgreSQL only: migration 0014, requests_app.search.
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="request_rating_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference or '—'} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @cached_property
    def attachment_list(self) -> list:
        """Its attachments as the API lists them, by id. A list's query fills this for a whole
        page at once (`Prefetch("attachments", ..., to_attr="attachment_list")`): a prefetch
        into the related manager makes a queryset for each row, some 3 ms a page of 100."""
        return list(self.attachments.order_by("id"))

    def is_overdue(self, now=None) -> bool:
        """`overdue_q`, for one loaded request."""
        now = now or timezone.now()
        return any(rule.holds(self, now) for rule in OVERDUE_RULES)

    @property
    def running_clock(self) -> str | None:
        """The clock a queue badge shows: 'assign' before assignment, then 'answer'."""
        if self.status == Status.SUBMITTED:
            return "assign"
        if self.status in ANSWER_CLOCK_STATUSES:
            return "answer"
        return None

    @property
    def next_due_at(self):
        clock = self.running_clock
        if clock == "assign":
            return min(d for d in (self.assign_due_at, self.answer_due_at) if d)
        if clock == "answer":
            return self.answer_due_at
        return None


GENESIS_HASH = "0" * 64

# The canonical form an event's hash covers: compact JSON, sorted keys, UTF-8 as is.
CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def hash_time(moment: dt.datetime) -> str:
    """An event's time as its hash covers it: UTC, always with microseconds."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


# The request's columns an event records the state of, after it, under its hash: what reports
# and clocks read from the row. Every path that changes one appends an event (workflow, the
# calendar's rebasing, the admin's correction), so the row must equal its last event's state.
STATE_COLUMNS = (
    "status",
    "assign_due_at",
    "answer_due_at",
    "department_id",
    "handler_id",
    "rating",
    "reopen_count",
    "closed_at",
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_micros(moment: dt.datetime | None) -> int | None:
    """A time as whole microseconds since 1970 (UTC): exact in Python and in PostgreSQL."""
    return None if moment is None else (moment - _EPOCH) // dt.timedelta(microseconds=1)


def request_state(row) -> dict:
    """The state an event records, from a request (or a dict of its STATE_COLUMNS)."""
    value = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {
        name: epoch_micros(value(name)) if name.endswith("_at") else value(name)
        for name in STATE_COLUMNS
    }


def event_payload(
    *,
    request_id,
    seq,
    action,
    actor_id,
    from_status,
    to_status,
    note,
    data,
    created_at: str,
    state,
) -> dict:
    """What an event's hash covers, by name (`created_at` as `hash_time` gives it; `state` as
    `request_state` gives it).

    The one definition of the canonical form: `event_hash` encodes it with CANONICAL, and
    the sweep's batch hashing (Python and PostgreSQL) fills templates derived from it
    (`requests_app.timeline.event_template`).
    """
    return {
        "request": request_id,
        "seq": seq,
        "action": action,
        "actor": actor_id,
        "from": from_status,
        "to": to_status,
        "note": note,
        "data": data,
        "created_at": created_at,
        "state": state,
    }


def event_message(
    prev_hash: str,
    *,
    request_id: int,
    seq: int,
    action: str,
    actor_id: int | None,
    from_status: str,
    to_status: str,
    note: str,
    data: dict,
    created_at: dt.datetime,
    state: dict | None,
) -> bytes:
    """What an event's hash is taken over: the previous hash and the canonical form of the
    event (sorted keys, UTC µs), its state after it included."""
    payload = event_payload(
        request_id=request_id,
        seq=seq,
        action=action,
        actor_id=actor_id,
        from_status=from_status,
        to_status=to_status,
        note=note,
        data=data,
        created_at=hash_time(created_at),
        state=state,
    )
    return prev_hash.encode() + CANONICAL.encode(payload).encode()


def event_hash(prev_hash: str, *, key_id: str, **fields) -> str:
    """HMAC-SHA256 of `event_message` under the timeline key `key_id` (requests_app.sealing):
    a chain recomputed without the key does not verify. Raises sealing.UnknownKey."""
    from requests_app import sealing

    return sealing.seal(key_id, event_message(prev_hash, **fields))


def unkeyed_hashes(prev_hash: str, **fields) -> set[str]:
    """The hashes anyone could compute without the key: plain SHA-256 of the message, and the
    form before events were keyed (no state). An event carrying one was forged, or is from
    before the keys and its chain did not verify when it was sealed (migration 0013)."""
    legacy = event_payload(**{**fields, "created_at": hash_time(fields["created_at"])})
    del legacy["state"]
    return {
        hashlib.sha256(event_message(prev_hash, **fields)).hexdigest(),
        hashlib.sha256(prev_hash.encode() + CANONICAL.encode(legacy).encode()).hexdigest(),
    }


class RequestEvent(models.Model):
    """One step of a request's timeline. Append-only; each hash chains to the previous event."""

    # No separate index: unique (request, seq) leads with request_id and serves its lookups;
    # one index fewer to maintain on the busiest insert path (the sweep adds 100,000 at once).
    request = models.ForeignKey(
        ServiceRequest, on_delete=models.PROTECT, related_name="events", db_index=False
    )
    seq = models.PositiveIntegerField(editable=False)
    action = models.CharField(_("action"), max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # see the partial index in Meta
    )
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, blank=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"))
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # Which timeline key sealed the hash (keys rotate; old events verify with theirs); empty
    # for an event from before the keys whose chain could not be sealed (migration 0013).
    key_id = models.CharField(max_length=16, blank=True, default="", db_default="")
    # The request's state after the event (`request_state`), under the hash; null before 0013.
    state = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["request_id", "seq"]
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        constraints = [
            models.UniqueConstraint(fields=["request", "seq"], name="unique_event_seq"),
        ]
        indexes = [
            # Only events someone did: the system's own (a sweep writes 100,000 at a time)
            # have no actor, and nothing looks events up by a missing actor.
            models.Index(fields=["actor"], name="event_actor", condition=Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.request_id}#{self.seq} {self.action}"

    def hashed_fields(self) -> dict:
        return {
            "request_id": self.request_id,
            "seq": self.seq,
            "action": self.action,
            "actor_id": self.actor_id,
            "from_status": self.from_status,
            "to_status": self.to_status,
            "note": self.note,
            "data": self.data,
            "created_at": self.created_at,
            "state": self.state,
        }

    def compute_hash(self) -> str:
        """The event's hash under its own key id (raises sealing.UnknownKey)."""
        return event_hash(self.prev_hash, key_id=self.key_id, **self.hashed_fields())

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("Timeline events are append-only; they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Timeline events are append-only; they cannot be deleted.")


class TimelineHead(models.Model):
    """The newest event of a request's timeline: where the next event chains on.

    Without it, deleting the last events would leave an intact shorter chain. It is its own
    narrow table so that the sweep can move 100,000 heads without rewriting request rows; on
    PostgreSQL its pages keep room (fillfactor, migration 0010) so that moving a head rewrites
    the row in place, without a new index entry (a HOT update).
    """

    request = models.OneToOneField(
        ServiceRequest, primary_key=True, on_delete=models.CASCADE, related_name="timeline_head"
    )
    seq = models.PositiveIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("timeline head")
        verbose_name_plural = _("timeline heads")

    def __str__(self) -> str:
        return f"{self.request_id}#{self.seq}"


def attachment_path(instance, filename):
    # A random stored name: the uploader's file name never reaches the file system.
    return f"attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    request = models.ForeignKey(
        ServiceRequest, on_delete=models.PROTECT, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.original_name


class CalendarYear(models.Model):
    """A year the working-day calendar covers; provisional when no official data exists."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    provisional = models.BooleanField(_("provisional"), default=False)
    source = models.CharField(_("source"), max_length=100, blank=True)
    loaded_at = models.DateTimeField(_("loaded"), default=timezone.now)
    # An administrator may accept the Monday–Friday fallback for a year with no published
    # schedule; until then (or until the year is loaded) escalations and accountability cases
    # that the year decides wait. Who accepted it, and when, is kept.
    fallback_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("fallback confirmed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    fallback_confirmed_at = models.DateTimeField(_("fallback confirmed"), null=True, blank=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A day that breaks the weekday rule: a holiday, or a make-up working day (调休)."""

    date = models.DateField(_("date"), unique=True)
    is_working = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar exception")
        verbose_name_plural = _("calendar exceptions")

    def __str__(self) -> str:
        return f"{self.date} {'working' if self.is_working else 'holiday'} {self.name}"


class Clock(models.TextChoices):
    ASSIGN = "assign", _("Assign clock")
    ANSWER = "answer", _("Answer clock")
    EXTENSION = "extension", _("Approved extension")


class Trigger(models.TextChoices):
    FRACTION = "fraction", _("At a fraction of the clock")
    BREACH = "breach", _("When the clock breaches")
    AFTER_BREACH = "after_breach", _("Working days after the breach")


class EscalationAction(models.TextChoices):
    REMIND = "remind", _("Remind")
    ESCALATE = "escalate", _("Escalate")
    ACCOUNTABILITY = "accountability", _("Open an accountability case (追责问责)")


class Recipient(models.TextChoices):
    ASSIGNEE = "assignee", _("Assignee (handler, or the department's handlers)")
    LIAISON = "liaison", _("Liaison")
    LEADER = "leader", _("Linked leader")
    DEPARTMENT_HEAD = "department_head", _("Head of the department")
    INSPECTORS = "inspectors", _("Inspectors of the region")


def rule_name(name: str, name_en: str = "") -> str:
    """An escalation rule's name in the active language, from its two stored names."""
    return bilingual.pick(name, name_en)


class EscalationRule(models.Model):
    """One rung of the ladder: on which clock, when, what to do and whom to tell."""

    # Named in both languages, as categories are: pages, messages and timelines show the
    # reader's (`display_name`); a rule without an English name shows the Chinese one.
    name = models.CharField(_("Chinese name"), max_length=150)
    name_en = models.CharField(_("English name"), max_length=150, blank=True, default="")
    clock = models.CharField(_("clock"), max_length=10, choices=Clock.choices)
    trigger = models.CharField(_("when"), max_length=20, choices=Trigger.choices)
    fraction = models.DecimalField(
        _("fraction of the clock"),
        max_digits=4,
        decimal_places=3,
        null=True,
        blank=True,
        help_text=_("For 'at a fraction': 0.75 fires when three quarters of the clock are used."),
    )
    days_after = models.PositiveSmallIntegerField(
        _("working days after the breach"), null=True, blank=True
    )
    action = models.CharField(_("action"), max_length=20, choices=EscalationAction.choices)
    recipients = models.JSONField(
        _("recipients"),
        default=list,
        blank=True,
        help_text=_("Any of: assignee, liaison, leader, department_head, inspectors."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["clock", "id"]
        verbose_name = _("escalation rule")
        verbose_name_plural = _("escalation rules")
        constraints = [
            models.CheckConstraint(
                condition=~Q(trigger="fraction") | Q(fraction__gt=0, fraction__lt=1),
                name="escalation_fraction_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=~Q(trigger="after_breach") | Q(days_after__gte=1),
                name="escalation_days_after_set",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return rule_name(self.name, self.name_en)

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # The ladder changed, so rung positions may have moved: every running clock is read
        # once more by the next sweep (the firing key keeps that exact; the sweep re-climbs).
        Deadline.objects.filter(running=True).update(stage=0)

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.trigger == Trigger.FRACTION and not (self.fraction and 0 < self.fraction < 1):
            raise ValidationError({"fraction": _("Give a fraction between 0 and 1.")})
        if self.trigger == Trigger.AFTER_BREACH and not self.days_after:
            raise ValidationError({"days_after": _("Give at least one working day.")})
        if self.clock == Clock.EXTENSION and self.trigger == Trigger.FRACTION:
            raise ValidationError(
                {"trigger": _("An extension's clock fires at or after its date.")}
            )
        unknown = set(self.recipients or []) - set(Recipient.values)
        if unknown:
            raise ValidationError({"recipients": _("Unknown recipients: %s") % ", ".join(unknown)})


class EscalationFiring(models.Model):
    """A rule that fired for a request in one clock cycle: one row at most (the unique key)."""

    # The unique key (request, rule, cycle) is the index for request lookups; rule lookups only
    # happen when an admin deletes a rule. Fewer indexes, faster sweeps.
    request = models.ForeignKey(
        ServiceRequest, on_delete=models.CASCADE, related_name="firings", db_index=False
    )
    rule = models.ForeignKey(
        EscalationRule, on_delete=models.PROTECT, related_name="firings", db_index=False
    )
    # 0 for the assign clock; the reopen count for the answer and extension clocks, so a
    # reopened request starts a new cycle while a transfer does not.
    cycle = models.PositiveIntegerField(_("clock cycle"))
    due_at = models.DateTimeField(_("due"))
    fired_at = models.DateTimeField(_("fired"))

    class Meta:
        verbose_name = _("escalation firing")
        verbose_name_plural = _("escalation firings")
        constraints = [
            models.UniqueConstraint(fields=["request", "rule", "cycle"], name="unique_firing"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.rule_id} #{self.cycle}"


class Deadline(models.Model):
    """One clock of a request as the sweep sees it: a narrow row kept in step by the workflow.

    The due times also live on the request (for pages, the API and the overdue filter); this
    copy adds what makes an idle sweep cheap: `stage`, the rungs of this clock already handled in
    this cycle, so that requests which stay overdue after escalating drop out of the index range
    the sweep reads. Being narrow, it is cheap to update by the hundred thousand.
    """

    request = models.ForeignKey(  # unique (request, clock) indexes it
        ServiceRequest, on_delete=models.CASCADE, related_name="deadlines", db_index=False
    )
    clock = models.CharField(_("clock"), max_length=10, choices=Clock.choices)
    cycle = models.PositiveIntegerField(_("clock cycle"), default=0)
    due_at = models.DateTimeField(_("due"))
    # Counts toward the ladder: the clock runs, or ran out before the request was paused.
    running = models.BooleanField(_("running"))
    # Waiting for the enterprise (info_needed): reminders wait too; breaches already past do not.
    paused = models.BooleanField(_("paused"), default=False)
    stage = models.PositiveSmallIntegerField(_("rungs handled"), default=0)

    class Meta:
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        constraints = [
            models.UniqueConstraint(fields=["request", "clock"], name="unique_deadline_clock"),
        ]
        indexes = [
            models.Index(
                fields=["clock", "stage", "due_at"],
                name="deadline_pending",
                condition=Q(running=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.clock} → {self.due_at:%Y-%m-%d %H:%M}"


class SweepRun(models.Model):
    """When the deadline sweep last finished: one row, shared by every process (web, worker,
    beat, the embedded mode), for `/health/` to judge the sweep's age."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON, editable=False)
    finished_at = models.DateTimeField(_("finished"))

    class Meta:
        verbose_name = _("sweep run")
        verbose_name_plural = _("sweep runs")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="sweep_run_singleton"),
        ]

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M:%S}"


class SavedView(models.Model):
    """A list's filters and order that an official keeps under a name ("my views"): the
    query string of the list page, reduced to the filters it knows (requests_app.saved_views)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filters"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_name_per_user"),
        ]

    def __str__(self) -> str:
        return self.name
