"""People and places: users and roles, departments, categories, enterprises, links."""

import rules
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from core import bilingual
from officials.credit_code import normalize, validate_credit_code


class Role(models.TextChoices):
    ENTREPRENEUR = "entrepreneur", _("Entrepreneur")
    LIAISON = "liaison", _("Liaison official")
    HANDLER = "handler", _("Handling department staff")
    LEADER = "leader", _("Linked leader")
    INSPECTOR = "inspector", _("Discipline inspector")
    ADMIN = "admin", _("Administrator")


class Category(models.Model):
    """What a request is about; departments are routed by it."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return bilingual.pick(self.name_zh, self.name_en)


def department_name(name: str, name_en: str = "") -> str:
    """A department's name in the active language, from its two stored names (values() rows,
    SQL results and snapshots name it without a model instance)."""
    return bilingual.pick(name, name_en)


def _display_name(department) -> str:
    return department.display_name


# A department's name as each recipient of a message reads it: messages are written language by
# language (`notifications.messages.rows_for_many` translates lazy values per language).
lazy_display_name = lazy(_display_name, str)


class Department(models.Model):
    """A handling unit in the city → county → town tree; its region is its jurisdiction."""

    name = models.CharField(_("name"), max_length=200)  # the official name, in Chinese
    # Optional: an English page shows it where given, else the Chinese name (a proper noun).
    name_en = models.CharField(_("English name"), max_length=200, blank=True, default="")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    region = models.CharField(_("region"), max_length=100, blank=True)
    # Materialised path "/1/4/9/" so a jurisdiction (a department and all below it) is one
    # indexed prefix query rather than a recursive walk.
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    categories = models.ManyToManyField(
        Category, verbose_name=_("categories handled"), blank=True, related_name="departments"
    )
    # Told when the escalation ladder names the department head.
    head = models.ForeignKey(
        "User",
        verbose_name=_("head"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_departments",
    )

    class Meta:
        ordering = ["path"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the reader's language: the English one on an English page, when given."""
        return department_name(self.name, self.name_en)

    def save(self, *args, **kwargs):
        if not self.region and self.parent_id:
            self.region = self.parent.region
        super().save(*args, **kwargs)
        path = f"{self.parent.path if self.parent_id else '/'}{self.pk}/"
        if path != self.path:
            old = self.path
            Department.objects.filter(pk=self.pk).update(path=path)
            self.path = path
            if old:  # moved: re-root every descendant
                for child in Department.objects.filter(path__startswith=old).exclude(pk=self.pk):
                    child.save()

    def clean(self):
        ancestor = self.parent
        while ancestor is not None:
            if ancestor.pk == self.pk:
                raise ValidationError({"parent": _("A department cannot be placed under itself.")})
            ancestor = ancestor.parent


class Enterprise(models.Model):
    """A registered business (经营主体), identified by its unified social credit code."""

    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
    )
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    whitelisted = models.BooleanField(_("on the inspection whitelist"), default=False)
    # ISO weekdays (1 = Monday … 7 = Sunday) on which routine inspections are barred.
    quiet_days = models.JSONField(_("quiet production days"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.credit_code = normalize(self.credit_code)
        super().save(*args, **kwargs)


class PortalUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        # `createsuperuser` makes the first portal administrator, not an entrepreneur.
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """Anyone who logs in; `role` decides what they may do, scoping decides what they see."""

    name = models.CharField(_("full name"), max_length=100, blank=True)
    role = models.CharField(
        _("role"), max_length=20, choices=Role.choices, default=Role.ENTREPRENEUR
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    title = models.CharField(_("job title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    enterprises = models.ManyToManyField(
        Enterprise,
        verbose_name=_("enterprises acted for"),
        blank=True,
        through="EnterpriseMember",
        related_name="members",
    )

    objects = PortalUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.get_full_name() or self.username

    def has_perm(self, perm, obj=None) -> bool:
        # A named permission (officials/permissions.py) follows the role for superusers too:
        # Django would grant an active superuser everything, but the portal's administrators
        # are superusers to run Django's admin, not inspectors reading confidential reports.
        if rules.perm_exists(perm):
            return rules.has_perm(perm, self, obj)
        return super().has_perm(perm, obj)


class EnterpriseMember(models.Model):
    """An entrepreneur acting for an enterprise."""

    def __str__(self) -> str:
        return f"{self.user_id} → {self.enterprise_id}"

    user = models.ForeignKey(User, on_delete=models.CASCADE)
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "enterprise"], name="unique_enterprise_member")
        ]


class LinkKind(models.TextChoices):
    LEADER = "leader", _("Linked leader (挂包)")
    LIAISON = "liaison", _("Liaison commissioner (驻企)")


class EnterpriseLinkQuerySet(models.QuerySet):
    def active(self, on=None):
        on = on or timezone.localdate()
        return self.filter(
            models.Q(start__lte=on), models.Q(end__isnull=True) | models.Q(end__gte=on)
        )


class EnterpriseLink(models.Model):
    """The standing tie (包联) between an official and an enterprise, for a period."""

    official = models.ForeignKey(
        User, verbose_name=_("official"), on_delete=models.CASCADE, related_name="links"
    )
    enterprise = models.ForeignKey(
        Enterprise, verbose_name=_("enterprise"), on_delete=models.CASCADE, related_name="links"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=LinkKind.choices)
    start = models.DateField(_("from"), default=timezone.localdate)
    end = models.DateField(_("until"), null=True, blank=True)

    objects = EnterpriseLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("enterprise link")
        verbose_name_plural = _("enterprise links")
        indexes = [models.Index(fields=["official", "enterprise"])]

    def __str__(self) -> str:
        return f"{self.official} ↔ {self.enterprise} ({self.get_kind_display()})"


class ClaimStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for verification")
    VERIFIED = "verified", _("Verified")
    REFUSED = "refused", _("Refused")


class EnterpriseClaim(models.Model):
    """A person's claim to act for an enterprise, by its credit code: they act for it (become an
    `EnterpriseMember`) only once a liaison or administrator of its region has verified it.

    A code the portal does not know yet carries the name and region the claimant typed; its
    verification registers the enterprise.
    """

    user = models.ForeignKey(
        User, verbose_name=_("claimant"), on_delete=models.CASCADE, related_name="claims"
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="claims",
    )
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, validators=[validate_credit_code]
    )
    name = models.CharField(_("enterprise name"), max_length=200)
    # For an enterprise the portal does not know: where the claimant says it is. Its reviewers
    # are the liaisons and administrators of this region.
    region = models.CharField(_("region"), max_length=100, blank=True, db_index=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ClaimStatus.choices,
        default=ClaimStatus.PENDING,
        db_index=True,
    )
    # Why a claim was refused: shown to the claimant.
    note = models.TextField(_("note"), blank=True)
    decided_by = models.ForeignKey(
        User,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("claimed"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("enterprise claim")
        verbose_name_plural = _("enterprise claims")
        constraints = [
            # One open claim per person and code: a second would be verified twice.
            models.UniqueConstraint(
                fields=["user", "credit_code"],
                condition=models.Q(status="pending"),
                name="one_pending_claim_per_code",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.name} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        self.credit_code = normalize(self.credit_code)
        super().save(*args, **kwargs)
