"""Reports' own rows: the settings admins tune, the red/yellow flags awarded, and export jobs."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from officials.models import Department


class ReportSettings(models.Model):
    """One row (pk 1) of admin-editable report settings; `current()` makes it on first use."""

    weight_on_time = models.DecimalField(
        _("weight of on-time rates"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.30"),
        validators=[MinValueValidator(0)],
    )
    weight_resolution = models.DecimalField(
        _("weight of the resolution rate"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.25"),
        validators=[MinValueValidator(0)],
    )
    weight_satisfaction = models.DecimalField(
        _("weight of satisfaction"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.25"),
        validators=[MinValueValidator(0)],
    )
    weight_reopen = models.DecimalField(
        _("weight of (1 − reopen rate)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.10"),
        validators=[MinValueValidator(0)],
    )
    weight_compliance = models.DecimalField(
        _("weight of compliance"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.10"),
        validators=[MinValueValidator(0)],
    )
    count_three_as_satisfied = models.BooleanField(
        _("a rating of 3 (基本满意) counts as satisfied"), default=False
    )
    yellow_flags_for_case = models.PositiveSmallIntegerField(
        _("consecutive yellow flags that propose an accountability case"),
        default=2,
        validators=[MinValueValidator(1)],
    )
    peer_group_min = models.PositiveSmallIntegerField(
        _("smallest peer group that gets flags"), default=4, validators=[MinValueValidator(4)]
    )

    class Meta:
        verbose_name = _("report settings")
        verbose_name_plural = _("report settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="report_settings_single_row"),
            models.CheckConstraint(
                condition=models.Q(peer_group_min__gte=4), name="report_peer_group_at_least_4"
            ),
        ]

    def __str__(self) -> str:
        return str(_("Report settings"))

    @classmethod
    def current(cls) -> "ReportSettings":
        row, _created = cls.objects.get_or_create(pk=1)
        return row

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @property
    def weights(self) -> dict[str, float]:
        return {
            "on_time": float(self.weight_on_time),
            "resolution": float(self.weight_resolution),
            "satisfaction": float(self.weight_satisfaction),
            "reopen": float(self.weight_reopen),
            "compliance": float(self.weight_compliance),
        }


class FlagColor(models.TextChoices):
    RED = "red", _("Red flag")
    YELLOW = "yellow", _("Yellow flag")


class FlagAward(models.Model):
    """A red or yellow flag (流动红黄旗) a department was given for one quarter."""

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="flags"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    color = models.CharField(_("flag"), max_length=10, choices=FlagColor.choices)
    score = models.DecimalField(_("score"), max_digits=6, decimal_places=4)
    # The parent department whose children formed the peer group.
    peer_group = models.ForeignKey(
        Department,
        verbose_name=_("peer group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The accountability case proposed for consecutive yellow flags, if this award proposed one.
    case = models.ForeignKey(
        "compliance.AccountabilityCase",
        verbose_name=_("accountability case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    awarded_at = models.DateTimeField(_("awarded"), default=timezone.now)

    class Meta:
        ordering = ["-year", "-quarter", "color", "-score"]
        verbose_name = _("flag award")
        verbose_name_plural = _("flag awards")
        constraints = [
            models.UniqueConstraint(
                fields=["department", "year", "quarter"], name="unique_flag_per_quarter"
            ),
        ]
        indexes = [models.Index(fields=["year", "quarter"], name="flag_quarter")]

    def __str__(self) -> str:
        return f"{self.year}-Q{self.quarter} {self.department} {self.color}"


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


def export_path(instance, filename):
    # A random stored name under the job's id; the download view sets the user-facing name.
    return f"exports/{timezone.now():%Y/%m}/{instance.pk}-{filename}"


class ExportJob(models.Model):
    """A large export made by a Celery worker; only its requester (and admins) may fetch it."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="export_jobs",
    )
    # What to export, as the report page's query (year, quarter, figure, department, ...).
    params = models.JSONField(_("parameters"), default=dict)
    format = models.CharField(_("format"), max_length=10, choices=ExportFormat.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    total = models.PositiveIntegerField(_("rows"), default=0)
    done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to=export_path, blank=True)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # When the worker last wrote rows: a running job silent for REPORTS_EXPORT_STALL_MINUTES is
    # failed by reports.stalled.fail_stalled (its worker died), so its page stops saying "running".
    progressed_at = models.DateTimeField(_("last progress"), null=True, blank=True)
    expires_at = models.DateTimeField(_("kept until"), db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")

    def __str__(self) -> str:
        return f"#{self.pk} {self.format} {self.status}"

    @property
    def progress(self) -> float:
        """Share of rows written, 0..1 (1 when done)."""
        if self.status == ExportStatus.DONE:
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0


class ScopeKind(models.TextChoices):
    PORTAL = "portal", _("The whole portal")
    REGION = "region", _("A jurisdiction")
    DEPARTMENT = "department", _("A department")
    USER = "user", _("One official's links")


class ScopeColumns(models.Model):
    """Which requests a kept figure counts, as columns (reports.snapshots.ScopeKey): the kind of
    scope, whose it is (a department's or an official's id; 0 for the portal), and the
    department it is narrowed to (0: not narrowed)."""

    scope_kind = models.CharField(_("scope"), max_length=12, choices=ScopeKind.choices)
    scope_id = models.PositiveBigIntegerField(_("scope id"), default=0)
    narrowed_to = models.PositiveBigIntegerField(_("narrowed to department"), default=0)

    class Meta:
        abstract = True


class QuarterSnapshot(ScopeColumns):
    """A finished quarter's figures for one scope, as computed at `computed_at` (reports.snapshots).

    The scope is who counts (the whole portal; the jurisdiction of department `scope_id`, as an
    inspector of it sees it; department `scope_id`, as its handlers see it; official `scope_id`'s
    own links, kind "user"), optionally narrowed to the requests of department `narrowed_to` (0:
    not narrowed). An official's scope also carries `scope_version`, a digest of what it is made
    of (role, department, jurisdiction, linked enterprises): their links change, and a quarter
    stored for the old links is then another row, never read for the new.
    """

    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"))
    scope_version = models.CharField(_("scope version"), max_length=32, blank=True, default="")
    figures = models.JSONField(_("figures"))
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        verbose_name = _("quarter snapshot")
        verbose_name_plural = _("quarter snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "year",
                    "quarter",
                    "scope_kind",
                    "scope_id",
                    "narrowed_to",
                    "scope_version",
                ],
                name="unique_snapshot_per_quarter_and_scope_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year}-Q{self.quarter} {self.scope_kind} {self.scope_id}/{self.narrowed_to}"


class ReadScope(ScopeColumns):
    """A scope whose current quarter's dashboard was read lately: beat keeps its figures computed
    (reports.snapshots.keep_read_scopes), so its readers find them kept, not only the portal's.

    Only shared scopes (a department's, a jurisdiction's, each possibly narrowed) are noted: every
    reader of that department reads them, and there are no more of them than departments.
    `reader` is the last official who read it: beat builds the scope again from them, and drops
    the row when that no longer gives the same scope (they moved, left or lost the reports).
    """

    reader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("reader"),
    )
    read_at = models.DateTimeField(_("last read"))

    class Meta:
        verbose_name = _("dashboard read lately")
        verbose_name_plural = _("dashboards read lately")
        constraints = [
            models.UniqueConstraint(
                fields=["scope_kind", "scope_id", "narrowed_to"], name="unique_read_scope"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.scope_kind} {self.scope_id}/{self.narrowed_to} ({self.read_at:%Y-%m-%d %H:%M})"
        )
