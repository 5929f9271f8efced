"""Compliance records; accountability cases (追责问责) opened by breaches, findings, reports."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from officials.models import Department


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
    cause = models.CharField(_("cause"), max_length=300)
    rule = models.CharField(_("rule"), max_length=100, blank=True)
    breach_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("accountability case")
        verbose_name_plural = _("accountability cases")
        indexes = [models.Index(fields=["status", "opened_at"], name="case_status_opened")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.cause}"
