"""Compliance data: the lists (正负面清单), officials' records, findings, visits, confidential
reports, and accountability cases (追责问责) with their final decisions."""

import mimetypes
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from compliance import receipts, rules

# The settings' names live with the rules that read them; re-exported for the model's choices.
from compliance.rules import ThresholdKey
from officials.models import Department, Enterprise

# ---------------------------------------------------------------------------------------------
# The lists
# ---------------------------------------------------------------------------------------------


class ListKind(models.TextChoices):
    POSITIVE = "positive", _("Positive list (permitted)")
    NEGATIVE = "negative", _("Negative list (forbidden)")


class Party(models.TextChoices):
    OFFICIAL = "official", _("Officials")
    ENTERPRISE = "enterprise", _("Enterprises")


class Severity(models.TextChoices):
    INFO = "info", _("Info")
    WARNING = "warning", _("Warning")
    VIOLATION = "violation", _("Violation")


class Rule(models.Model):
    """One item of the lists, identified by its code (P01…, N01…, E01…) for good.

    The wording lives in `RuleVersion`: editing an item adds a version, and each finding keeps the
    version it was judged by, so a five-month-old finding still reads as it was decided.
    """

    code = models.CharField(_("code"), max_length=8, unique=True)
    list = models.CharField(_("list"), max_length=10, choices=ListKind.choices)
    party = models.CharField(_("party"), max_length=12, choices=Party.choices)
    # Set by the admin per rule: a violation of this rule also opens an accountability case.
    opens_case = models.BooleanField(_("a violation opens an accountability case"), default=False)
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("list item")
        verbose_name_plural = _("list items")

    def __str__(self) -> str:
        return self.code

    @property
    def active(self) -> bool:
        return self.retired_at is None


class RuleVersion(models.Model):
    """The wording of a list item at one time; append-only (an edit is a new number)."""

    rule = models.ForeignKey(
        Rule, verbose_name=_("list item"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    category_zh = models.CharField(_("category (Chinese)"), max_length=50)
    category_en = models.CharField(_("category (English)"), max_length=100)
    text_zh = models.TextField(_("text (Chinese)"))
    text_en = models.TextField(_("text (English)"))
    signal = models.TextField(_("detection signal"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["rule__code", "-number"]
        verbose_name = _("list item version")
        verbose_name_plural = _("list item versions")
        constraints = [
            models.UniqueConstraint(fields=["rule", "number"], name="unique_rule_version")
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.number}"


class ListAlias(models.Model):
    """A locality's named list ("八个不准", "七项规范", …) mapped onto the codes, item by item."""

    name = models.CharField(_("named list"), max_length=50)
    locality = models.CharField(_("locality"), max_length=100, blank=True)
    position = models.PositiveSmallIntegerField(_("position in the named list"))
    rule = models.ForeignKey(
        Rule, verbose_name=_("list item"), on_delete=models.PROTECT, related_name="aliases"
    )

    class Meta:
        ordering = ["locality", "name", "position"]
        verbose_name = _("list alias")
        verbose_name_plural = _("list aliases")
        constraints = [
            models.UniqueConstraint(
                fields=["locality", "name", "position", "rule"], name="unique_list_alias"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.position} → {self.rule_id}"


class Threshold(models.Model):
    """A locality's setting for a rule; an empty value means "not set": the rule says so."""

    key = models.CharField(_("setting"), max_length=40, choices=ThresholdKey.choices, unique=True)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["key"]
        verbose_name = _("threshold")
        verbose_name_plural = _("thresholds")

    def __str__(self) -> str:
        return f"{self.key} = {self.value}"


# ---------------------------------------------------------------------------------------------
# Records officials keep (each judged by the rules engine when saved)
# ---------------------------------------------------------------------------------------------


class OfficialRecord(models.Model):
    """What every record shares: who kept it, about which enterprise, in which region."""

    official = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("official"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.PROTECT, related_name="+"
    )
    # The enterprise's region when recorded: what an inspector's jurisdiction is matched against.
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]


class InteractionKind(models.TextChoices):
    MEETING = "meeting", _("Meeting")
    OFFICE_MEETING = "office_meeting", _("Meeting at the office")
    SITE_VISIT = "site_visit", _("Site visit")
    PUBLIC_EVENT = "public_event", _("Public event")
    CELEBRATION = "celebration", _("Internal celebration")
    MEAL = "meal", _("Meal")
    TRAVEL = "travel", _("Travel")
    LODGING = "lodging", _("Lodging")
    ENTERTAINMENT = "entertainment", _("Entertainment")
    TRAINING = "training", _("Training or lecture")
    PROMOTION = "promotion", _("Product promotion")
    CALL = "call", _("Call")


class Payer(models.TextChoices):
    SELF = "self", _("Paid by the official")
    OFFICIAL_UNIT = "official_unit", _("Paid by the official's unit")
    ENTERPRISE = "enterprise", _("Paid by the enterprise")
    SPLIT = "split", _("Split the bill")


class Interaction(OfficialRecord):
    """政商交往登记: a logged contact with an enterprise."""

    kind = models.CharField(_("kind"), max_length=20, choices=InteractionKind.choices)
    occurred_at = models.DateTimeField(_("occurred"))
    description = models.TextField(_("description"), blank=True)
    public = models.BooleanField(_("public event"), default=False)
    approval_ref = models.CharField(_("approval reference"), max_length=100, blank=True)
    payer = models.CharField(_("payer"), max_length=20, choices=Payer.choices, blank=True)
    amount_total = models.DecimalField(
        _("total amount (CNY)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    headcount = models.PositiveIntegerField(_("headcount"), null=True, blank=True)
    alcohol = models.BooleanField(_("alcohol or tobacco served"), default=False)
    venue_type = models.CharField(_("venue type"), max_length=50, blank=True)
    visit_filing = models.ForeignKey(
        "VisitFiling",
        verbose_name=_("visit filing"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="interactions",
    )

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"

    class Meta(OfficialRecord.Meta):
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")


class GiftDirection(models.TextChoices):
    RECEIVED = "received", _("Received")
    GIVEN = "given", _("Given")


class GiftKind(models.TextChoices):
    CASH = "cash", _("Cash")
    GIFT_CARD = "gift_card", _("Gift card")
    SECURITIES = "securities", _("Securities")
    E_RED_PACKET = "e_red_packet", _("Electronic red packet")
    GOODS = "goods", _("Goods")
    SOUVENIR = "souvenir", _("Souvenir")


class Gift(OfficialRecord):
    """礼品礼金: something given or received, its value and what became of it."""

    direction = models.CharField(_("direction"), max_length=10, choices=GiftDirection.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=GiftKind.choices)
    value_cny = models.DecimalField(_("value (CNY)"), max_digits=12, decimal_places=2)
    received_at = models.DateTimeField(_("received or given"))
    refused = models.BooleanField(_("refused"), default=False)
    registered_at = models.DateTimeField(_("registered"), null=True, blank=True)
    surrendered_at = models.DateTimeField(_("surrendered"), null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value_cny}"

    class Meta(OfficialRecord.Meta):
        verbose_name = _("gift")
        verbose_name_plural = _("gifts")


class AssetKind(models.TextChoices):
    VEHICLE = "vehicle", _("Vehicle")
    HOUSING = "housing", _("Housing")
    MONEY = "money", _("Money")
    EQUIPMENT = "equipment", _("Equipment")


class AssetUse(OfficialRecord):
    """借用企业财物: use of an enterprise's car, housing, money or equipment."""

    asset = models.CharField(_("asset"), max_length=20, choices=AssetKind.choices)
    dedicated = models.BooleanField(_("dispatched specially"), default=False)
    start = models.DateField(_("from"))
    end = models.DateField(_("until"), null=True, blank=True)
    returned = models.BooleanField(_("returned"), default=False)
    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("official activity"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="asset_uses",
    )

    def __str__(self) -> str:
        return f"{self.get_asset_display()} {self.start}"

    class Meta(OfficialRecord.Meta):
        verbose_name = _("use of an enterprise asset")
        verbose_name_plural = _("uses of enterprise assets")


class Relation(models.TextChoices):
    PART_TIME_ROLE = "part_time_role", _("Part-time role")
    SHAREHOLDING = "shareholding", _("Shareholding")
    LOAN = "loan", _("Loan")
    RELATIVE_EMPLOYED = "relative_employed", _("Relative employed there")
    RELATIVE_OWNER = "relative_owner", _("Relative owns it")


class Declaration(OfficialRecord):
    """个人事项申报: a tie between an official and an enterprise; also the conflict of interest that
    keeps that enterprise's requests away from the official (回避) while it is in force."""

    relation = models.CharField(_("relation"), max_length=20, choices=Relation.choices)
    remunerated = models.BooleanField(_("remunerated"), default=False)
    approved = models.BooleanField(_("approved"), default=False)
    note = models.TextField(_("note"), blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.get_relation_display()} #{self.enterprise_id}"

    class Meta(OfficialRecord.Meta):
        verbose_name = _("declaration")
        verbose_name_plural = _("declarations")
        indexes = [models.Index(fields=["enterprise", "official"], name="declaration_tie")]


# ---------------------------------------------------------------------------------------------
# Visits (入企报备)
# ---------------------------------------------------------------------------------------------


class VisitPurpose(models.TextChoices):
    SERVICE = "service", _("Service")
    INSPECTION = "inspection", _("Inspection")
    ENFORCEMENT = "enforcement", _("Enforcement")
    RESEARCH = "research", _("Research")


class ExemptReason(models.TextChoices):
    SAFETY = "safety", _("Safety hazard")
    ENVIRONMENT = "environment", _("Environmental hazard")
    FOOD_DRUG = "food_drug", _("Food or drug hazard")
    COMPLAINT = "complaint", _("Complaint under investigation")
    STATUTORY_RECHECK = "statutory_recheck", _("Statutory re-check")


class Exemption(models.TextChoices):
    NONE = "", _("None")
    QUIET_DAY = "quiet_day", _("Quiet production day")
    WHITELISTED = "whitelisted", _("Whitelisted enterprise")


class VisitFiling(OfficialRecord):
    """入企报备: a planned visit, filed before it happens and seen by the enterprise's liaison."""

    planned_start = models.DateTimeField(_("planned start"))
    planned_end = models.DateTimeField(_("planned end"))
    purpose = models.CharField(_("purpose"), max_length=20, choices=VisitPurpose.choices)
    urgent = models.BooleanField(_("urgent"), default=False)
    reason = models.CharField(
        _("exemption reason"), max_length=20, choices=ExemptReason.choices, blank=True
    )
    # Which bar an urgent filing was let through (recorded for the inspectors).
    exemption = models.CharField(
        _("exemption used"), max_length=20, choices=Exemption.choices, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_purpose_display()} {self.planned_start:%Y-%m-%d}"

    class Meta(OfficialRecord.Meta):
        verbose_name = _("visit filing")
        verbose_name_plural = _("visit filings")
        indexes = [
            models.Index(fields=["enterprise", "planned_start"], name="visit_enterprise_start")
        ]

    def clean(self):
        if self.planned_start and self.planned_end and self.planned_end <= self.planned_start:
            raise ValidationError({"planned_end": _("The visit must end after it starts.")})


# ---------------------------------------------------------------------------------------------
# Findings
# ---------------------------------------------------------------------------------------------


class Finding(models.Model):
    """A rule's verdict on a record or on a request's history, with the rule version it used."""

    rule_code = models.CharField(_("rule"), max_length=8, db_index=True)
    rule_version = models.ForeignKey(
        RuleVersion,
        verbose_name=_("rule version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="findings",
    )
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    # What the rule said, kept as a message id and its parameters so it reads in the reader's
    # language, plus the text as first rendered (zh-hans) for exports and search.
    message_id = models.CharField(_("message id"), max_length=60, blank=True)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    message = models.TextField(_("message"))
    official = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("official"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    # The record judged: exactly one of these is set.
    interaction = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    gift = models.ForeignKey(
        Gift, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    asset_use = models.ForeignKey(
        AssetUse, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    declaration = models.ForeignKey(
        Declaration, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    visit_filing = models.ForeignKey(
        VisitFiling, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    # A relation by name: compliance does not import the request app.
    request = models.ForeignKey(
        "requests_app.ServiceRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="findings",
    )
    created_at = models.DateTimeField(_("found"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        constraints = [
            # A request-history finding is made once per rule, cause (message) and request,
            # however often the history is judged again: N11 has three causes (repeated
            # transfers, repeated dissatisfaction, a breached answer clock).
            models.UniqueConstraint(
                fields=["request", "rule_code", "message_id"],
                condition=models.Q(request__isnull=False),
                name="unique_request_finding",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} {self.severity}"

    @property
    def message_text(self) -> str:
        """What the rule said, in the active language; the stored text for a finding without
        a message id."""
        return rules.render(self.message_id, self.params) if self.message_id else self.message


# ---------------------------------------------------------------------------------------------
# Confidential reports (营商环境监测点 / 吹哨人)
# ---------------------------------------------------------------------------------------------


class ReportKind(models.TextChoices):
    PETTY_EXTORTION = "petty_extortion", _("Petty extortion")
    BUCK_PASSING = "buck_passing", _("Buck-passing")
    FOOT_DRAGGING = "foot_dragging", _("Foot-dragging")
    ARBITRARY_INSPECTION = "arbitrary_inspection", _("Arbitrary inspection")
    ARBITRARY_CHARGES = "arbitrary_charges", _("Arbitrary fees, fines or levies")
    TENDER_INTERFERENCE = "tender_interference", _("Interference in tendering")
    DESIGNATED_SERVICE = "designated_service", _("Designated intermediaries or suppliers")
    BROKEN_PROMISE = "broken_promise", _("Broken promises")
    DISCRIMINATION = "discrimination", _("Discrimination")
    OTHER = "other", _("Other")


class ReportStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    IN_REVIEW = "in_review", _("Under review")
    CLOSED = "closed", _("Closed")


def new_receipt() -> str:
    # Unguessable: the receipt is the anonymous reporter's only key to the report's status.
    # Readable aloud and grouped (compliance/receipts.py says how, and why it is as strong).
    return receipts.new()


class ConfidentialReport(models.Model):
    """A misconduct report only the region's inspectors read. Anonymous reports store no identity:
    no reporter, no IP address, no user agent — here or anywhere else."""

    # Only the receipt's keyed digest is stored (compliance/receipts.py): someone who reads the
    # database cannot open the report as its reporter. The hint is the non-secret first group.
    receipt_digest = models.CharField(
        _("receipt digest"), max_length=64, unique=True, editable=False
    )
    receipt_hint = models.CharField(_("receipt hint"), max_length=8, blank=True, editable=False)
    kind = models.CharField(_("kind"), max_length=30, choices=ReportKind.choices)
    text = models.TextField(_("text"))
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    official_name = models.CharField(_("official named"), max_length=100, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    anonymous = models.BooleanField(_("anonymous"), default=False)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporter"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ReportStatus.choices, default=ReportStatus.RECEIVED
    )
    created_at = models.DateTimeField(_("received"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("confidential report")
        verbose_name_plural = _("confidential reports")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(anonymous=False) | models.Q(reporter__isnull=True),
                name="anonymous_report_has_no_reporter",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}"

    # The receipt itself, on the instance that filed the report only: shown to the reporter
    # once, in the answer to the filing, and never stored.
    receipt: str | None = None

    def save(self, *args, **kwargs):
        if not self.receipt_digest:
            self.receipt = new_receipt()
            self.receipt_digest = receipts.digest(self.receipt)
            self.receipt_hint = receipts.hint(self.receipt)
        super().save(*args, **kwargs)


class ReportAddition(models.Model):
    """What a reporter added later through the receipt: text, and files as `ReportEvidence`.
    Nothing about who sent it; for an anonymous report its time is kept to the day."""

    report = models.ForeignKey(
        ConfidentialReport,
        verbose_name=_("confidential report"),
        on_delete=models.PROTECT,
        related_name="additions",
    )
    text = models.TextField(_("text"), blank=True)
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("addition to a report")
        verbose_name_plural = _("additions to reports")

    def __str__(self) -> str:
        return f"#{self.report_id} +{self.pk}"


def evidence_path(instance, filename):
    # A random name in one folder: neither the reporter's file name nor a dated folder (which
    # would say when it came) reaches the file system.
    return f"evidence/{uuid.uuid4().hex}"


class ReportEvidence(models.Model):
    """A file sent with a confidential report or with an addition to it. Checked and stored as
    request attachments are (requests_app/attachments.py), but without the uploader and without
    the original file name: either could point at the reporter."""

    report = models.ForeignKey(
        ConfidentialReport,
        verbose_name=_("confidential report"),
        on_delete=models.PROTECT,
        related_name="evidence",
    )
    # Empty: sent with the report itself.
    addition = models.ForeignKey(
        ReportAddition,
        verbose_name=_("addition"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="evidence",
    )
    file = models.FileField(_("file"), upload_to=evidence_path)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")

    def __str__(self) -> str:
        return self.download_name

    @property
    def download_name(self) -> str:
        """A neutral name for the download: the report's number, the file's, and its type."""
        suffix = mimetypes.guess_extension(self.content_type) or ""
        return f"report-{self.report_id}-evidence-{self.pk}{suffix}"


class CaseSource(models.TextChoices):
    BREACH = "breach", _("Deadline breach")
    FINDING = "finding", _("Compliance finding")
    REPORT = "report", _("Confidential report")
    FLAG = "flag", _("Repeated yellow flag")


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_INQUIRY = "in_inquiry", _("In inquiry")
    DECIDED = "decided", _("Decided")


class AccountabilityCase(models.Model):
    """A case for discipline inspectors; the decision itself is recorded by the inspectors' side."""

    source = models.CharField(_("source"), max_length=20, choices=CaseSource.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    # The request a breach happened on. A relation by name, not an import: compliance does not
    # depend on the request app's code.
    request = models.ForeignKey(
        "requests_app.ServiceRequest",
        verbose_name=_("service request"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accountability_cases",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accountability_cases",
    )
    official = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("official"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="accountability_cases",
    )
    # Region of the enterprise concerned: what an inspector's jurisdiction is matched against.
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    # The cause as first written, in the language of whatever opened the case: searched by the
    # admin, and shown only for cases from before `cause_code` (see `cause_text`).
    cause = models.CharField(_("cause"), max_length=300)
    # What the cause says, as a code and its values (CauseCode): read in the reader's language.
    cause_code = models.CharField(_("cause code"), max_length=20, blank=True, default="")
    cause_params = models.JSONField(_("cause values"), default=dict, blank=True)
    rule = models.CharField(_("rule"), max_length=100, blank=True)
    breach_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    finding = models.ForeignKey(
        Finding,
        verbose_name=_("finding"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    report = models.ForeignKey(
        ConfidentialReport,
        verbose_name=_("confidential report"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases_taken",
    )
    taken_at = models.DateTimeField(_("taken"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("accountability case")
        verbose_name_plural = _("accountability cases")
        indexes = [
            models.Index(fields=["status", "opened_at"], name="case_status_opened"),
            # The case lists' order (newest first, the id breaking ties), read off an index:
            # sorting every case in scope took 3 ms at 8,575 cases and 52 ms at ten times that.
            models.Index(fields=["opened_at", "id"], name="case_opened_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.cause_text}"

    @property
    def cause_text(self) -> str:
        """The cause in the active language, from its code and values; a case from before them
        shows its stored cause (a "中文 / English" rule name: the reader's half)."""
        return cause_text(self.cause_code, self.cause_params, self.cause)

    @property
    def rule_text(self) -> str:
        """The rule the case is under, in the active language: an escalation rule's name, a
        list item's code; empty for a run of yellow flags (its cause says so)."""
        if self.cause_code == CauseCode.BREACH:
            params = self.cause_params
            english = (get_language() or "").startswith("en")
            return (params.get("rule_en") if english else "") or params.get("rule", "")
        if self.source == CaseSource.FLAG:
            return ""
        from core import bilingual

        return bilingual.in_language(self.rule)


class CauseCode(models.TextChoices):
    """What opened a case, as its cause reads it (`cause_params` holds the values named)."""

    BREACH = "breach"  # reference, rule (its Chinese name), rule_en
    FINDING = "finding"  # rule (the list item's code), message_id, params
    REPORT = "report"  # number, kind
    FLAGS = "flags"  # count, period


def cause_text(code: str, params: dict, stored: str = "") -> str:
    """A case's cause in the active language (the one definition: pages, messages, exports)."""
    from core import bilingual

    params = params or {}
    try:
        if code == CauseCode.BREACH:
            rule = params["rule"]
            if params.get("rule_en") and (get_language() or "").startswith("en"):
                rule = params["rule_en"]
            return _("%(reference)s: %(rule)s") % {"reference": params["reference"], "rule": rule}
        if code == CauseCode.FINDING:
            message = rules.render(params["message_id"], params.get("params") or {})
            return _("%(rule)s: %(message)s") % {"rule": params["rule"], "message": message}
        if code == CauseCode.REPORT:
            kind = params["kind"]
            label = ReportKind(kind).label if kind in ReportKind.values else kind
            return _("Confidential report #%(number)s: %(kind)s") % {
                "number": params["number"],
                "kind": label,
            }
        if code == CauseCode.FLAGS:
            return _("Yellow flag in %(count)s consecutive quarters (up to %(period)s)") % {
                "count": params["count"],
                "period": params["period"],
            }
    except KeyError:
        pass  # values missing (a row edited by hand): the stored words below
    return bilingual.in_language(stored)


class CaseNote(models.Model):
    """An entry of the inquiry record of a case; append-only."""

    case = models.ForeignKey(
        AccountabilityCase, verbose_name=_("case"), on_delete=models.PROTECT, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    text = models.TextField(_("inquiry record"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    def __str__(self) -> str:
        return f"#{self.case_id} {self.created_at:%Y-%m-%d}"

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("inquiry record")
        verbose_name_plural = _("inquiry records")


class Outcome(models.TextChoices):
    CLEARED = "cleared", _("Cleared")
    TOLERATED = "tolerated", _("Tolerated")
    ACCOUNTABLE = "accountable", _("Accountable")


class Measure(models.TextChoices):
    REMINDER_TALK = "reminder_talk", _("Reminder talk")
    CRITICISM = "criticism", _("Criticism and education")
    INTERVIEW = "interview", _("Formal interview")
    CIRCULATED = "circulated", _("Circulated notice")
    ADMONITION = "admonition", _("Admonition")
    ORGANISATIONAL = "organisational", _("Organisational measures")
    DISCIPLINARY = "disciplinary", _("Disciplinary or administrative sanction")


class DecisionQuerySet(models.QuerySet):
    # A decision is a final record: no path may change or remove it, bulk ones included.
    def update(self, **kwargs):
        raise PermissionError("Case decisions are final; record a correction instead.")

    def delete(self):
        raise PermissionError("Case decisions are final; record a correction instead.")


class CaseDecision(models.Model):
    """An inspector's final decision on a case with its reasoning. Never edited: a correction is a
    new decision that names the one it corrects."""

    case = models.ForeignKey(
        AccountabilityCase,
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    measure = models.CharField(_("measure"), max_length=20, choices=Measure.choices, blank=True)
    reasoning = models.TextField(_("reasoning"))
    # The "three distinctions" (三个区分开来), answered for a tolerated outcome.
    distinction_reform = models.TextField(
        _("inexperience in reform, not knowing violation"), blank=True
    )
    distinction_trial = models.TextField(
        _("exploratory trial without a prior ban, not violation after a ban"), blank=True
    )
    distinction_development = models.TextField(
        _("unintentional error while promoting development, not private gain"), blank=True
    )
    corrects = models.ForeignKey(
        "self",
        verbose_name=_("corrects"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), default=timezone.now)

    objects = DecisionQuerySet.as_manager()

    def __str__(self) -> str:
        return f"#{self.case_id} {self.outcome}"

    class Meta:
        ordering = ["decided_at", "id"]
        verbose_name = _("case decision")
        verbose_name_plural = _("case decisions")

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("Case decisions are final; record a correction instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Case decisions are final; record a correction instead.")


class AccessLog(models.Model):
    """Who read a confidential report or a case file, and when: visible to admins."""

    class Target(models.TextChoices):
        REPORT = "report", _("Confidential report")
        CASE = "case", _("Case file")

    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reader"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    target = models.CharField(_("what was read"), max_length=10, choices=Target.choices)
    object_id = models.PositiveBigIntegerField(_("object id"))
    via = models.CharField(_("read through"), max_length=20, blank=True)
    read_at = models.DateTimeField(_("read"), default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.target} #{self.object_id}"

    class Meta:
        ordering = ["-read_at", "-id"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
