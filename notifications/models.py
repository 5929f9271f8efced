"""The in-app inbox: every outbound message is first a Notification row, then maybe an e-mail."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    """What a message is about; notifications/messages.py holds the words of each."""

    NEW_REQUEST = "new_request", _("New request to assign")
    REQUEST_UNROUTED = "request_unrouted", _("Request with no liaison")
    LIAISON_REASSIGNED = "liaison_reassigned", _("Request passed to another liaison")
    REQUEST_ASSIGNED = "request_assigned", _("Request assigned")
    REQUEST_REJECTED = "request_rejected", _("Request rejected as out of scope")
    REQUEST_MERGED = "request_merged", _("Request merged into another")
    REQUEST_WITHDRAWN = "request_withdrawn", _("Request withdrawn")
    HANDLER_ASSIGNED = "handler_assigned", _("New request for the department")
    INFO_REQUESTED = "info_requested", _("Information requested")
    FEEDBACK_GIVEN = "feedback_given", _("Feedback given")
    REQUEST_CLOSED = "request_closed", _("Request closed")
    INFO_PROVIDED = "info_provided", _("Information provided")
    ANSWER_REJECTED = "answer_rejected", _("Answer rejected")
    EXTENSION_PENDING = "extension_pending", _("Extension to approve")
    EXTENSION_APPROVED = "extension_approved", _("Extension approved")
    EXTENSION_REFUSED = "extension_refused", _("Extension refused")
    FOLLOW_UP_CLOSED = "follow_up_closed", _("Closed on a follow-up call")
    FOLLOW_UP_REOPENED = "follow_up_reopened", _("Reopened on a follow-up call")
    REQUEST_DISPUTED = "request_disputed", _("Follow-up disputed")
    REMINDER = "reminder", _("Reminder")
    ESCALATED = "escalated", _("Escalation")
    ACCOUNTABILITY_OPENED = "accountability_opened", _("Accountability case opened")
    FINDING_VIOLATION = "finding_violation", _("Compliance violation found")
    REPORT_RECEIVED = "report_received", _("Confidential report received")
    REPORT_ADDED = "report_added", _("Information added to a confidential report")
    CASE_OPENED = "case_opened", _("Accountability case opened from a finding or report")
    FLAG_CASE_OPENED = "flag_case_opened", _("Accountability case opened for repeated yellow flags")
    CASE_DECIDED = "case_decided", _("Accountability case decided")
    CALENDAR_MISSING = "calendar_missing", _("Working-day calendar not loaded")
    TIMELINE_TAMPERED = "timeline_tampered", _("Case history does not verify")


# What reaches the people of an enterprise (`manage.py who_hears_what`: "the enterprise's
# people"); every other kind goes to officials only. An entrepreneur's message settings offer
# these alone, and an official's settings the others.
ENTERPRISE_KINDS = frozenset(
    {
        Kind.REQUEST_ASSIGNED,
        Kind.REQUEST_REJECTED,
        Kind.REQUEST_MERGED,
        Kind.INFO_REQUESTED,
        Kind.FEEDBACK_GIVEN,
        Kind.FOLLOW_UP_CLOSED,
        Kind.FOLLOW_UP_REOPENED,
    }
)


def kinds_for(*, entrepreneur: bool) -> list[tuple[str, str]]:
    """The kinds (value, label) a person of this side can be sent, in the order of `Kind`."""
    return [(k, label) for k, label in Kind.choices if (k in ENTERPRISE_KINDS) == entrepreneur]


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,  # the inbox indexes below lead with it
    )
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    body_html = models.TextField(_("message (HTML)"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    # E-mail delivery: done when emailed_at is set; failures are retried, never lost.
    email_wanted = models.BooleanField(_("e-mail wanted"), default=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(_("e-mail attempts"), default=0)
    # The outbox's two claims (notifications/outbox.py): when a sweep last handed the row to the
    # broker (so overlapping sweeps enqueue it once), and when a worker began sending it (so two
    # tasks holding the same id send it once). A claim older than its timeout is taken over:
    # the worker or the message that held it is presumed lost.
    email_queued_at = models.DateTimeField(_("e-mail queued"), null=True, blank=True)
    email_claimed_at = models.DateTimeField(_("e-mail being sent since"), null=True, blank=True)

    class Meta:
        # The table keeps the name it was created under, when the model lived in `portal`
        # (moved with SeparateDatabaseAndState: no data moves, no deployment migrates rows).
        db_table = "portal_notification"
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # The inbox page in the order it shows, the id breaking ties (migration 0006).
            models.Index(
                fields=["recipient", "-created_at", "-id"], name="notification_inbox_order"
            ),
            # The inbox filtered by kind, and unread only, each in the order it shows; the
            # unread one also serves the unread count and "mark all read" (an index on
            # (recipient, read_at) did too, and cost the sweep two million entries per million
            # firings: migration 0010).
            models.Index(
                fields=["recipient", "kind", "-created_at", "-id"], name="notification_inbox_kind"
            ),
            models.Index(
                fields=["recipient", "-created_at", "-id"],
                name="notification_inbox_unread",
                condition=Q(read_at__isnull=True),
            ),
            models.Index(
                fields=["created_at"],
                name="notification_email_pending",
                condition=Q(email_wanted=True, emailed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.subject}"


class Preference(models.Model):
    """How one user wants one kind of message: only the kinds they changed have a row.

    Without a row a kind goes to the inbox and, where the user has an address, by e-mail at once:
    the behaviour from before preferences existed (`notifications.preferences.DEFAULT`).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        db_index=False,  # the unique (user, kind) leads with it
    )
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    inbox = models.BooleanField(_("in the inbox"), default=True)
    email = models.BooleanField(_("by e-mail"), default=True)
    digest = models.BooleanField(_("in the daily digest"), default=False)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once"),
            # E-mail and digest are copies of the inbox message, and the digest is a way of
            # e-mailing (notifications.preferences.Flags).
            models.CheckConstraint(
                condition=Q(inbox=True) | Q(email=False, digest=False),
                name="notification_preference_needs_inbox",
            ),
            models.CheckConstraint(
                condition=Q(email=True) | Q(digest=False),
                name="notification_preference_digest_is_email",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind}"


class Digest(models.Model):
    """One user's daily digest e-mail for one day (Asia/Shanghai): the row makes it go out once.

    A run claims the row (`claimed_at`) before sending and stamps `sent_at` after, as the
    outbox does for single e-mails (notifications/outbox.py): a second or concurrent run finds it
    claimed or sent and leaves it alone; a claim older than NOTIFICATIONS_EMAIL_CLAIM_SECONDS is
    presumed lost with its worker and taken over.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="digests",
        db_index=False,  # the unique (user, day) leads with it
    )
    day = models.DateField(_("day"))
    items = models.PositiveIntegerField(_("messages"), default=0)
    claimed_at = models.DateTimeField(_("being sent since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        verbose_name = _("daily digest")
        verbose_name_plural = _("daily digests")
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="notification_digest_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.day}"
