"""Django admin for compliance: the lists, thresholds and records (the inspectors' side is in
inspection/admin.py)."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compliance import lists
from compliance.models import (
    AssetUse,
    Declaration,
    Finding,
    Gift,
    Interaction,
    ListAlias,
    Rule,
    RuleVersion,
    Threshold,
    VisitFiling,
)
from officials.models import Role
from officials.selectors import jurisdiction_regions


def _is_admin(request) -> bool:
    user = request.user
    return bool(user.is_superuser or getattr(user, "role", "") == Role.ADMIN)


class AdminsEdit:
    """Only portal administrators change the lists and thresholds."""

    def has_add_permission(self, request, *args):
        return _is_admin(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return _is_admin(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # retire an item instead; findings cite it


# --- the lists ---------------------------------------------------------------------------------


class RuleForm(forms.ModelForm):
    """The item and its wording. The wording is saved as a new version, never over the old."""

    category_zh = forms.CharField(label=_("category (Chinese)"), max_length=50)
    category_en = forms.CharField(label=_("category (English)"), max_length=100)
    text_zh = forms.CharField(label=_("text (Chinese)"), widget=forms.Textarea(attrs={"rows": 3}))
    text_en = forms.CharField(label=_("text (English)"), widget=forms.Textarea(attrs={"rows": 3}))
    signal = forms.CharField(
        label=_("detection signal"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    class Meta:
        model = Rule
        fields = ["code", "list", "party", "opens_case"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance.versions.order_by("-number").first() if self.instance.pk else None
        for name in lists.VERSION_FIELDS:
            if current is not None:
                self.fields[name].initial = getattr(current, name)
        if self.instance.pk:
            self.fields["code"].disabled = True  # a code is for good


class VersionInline(admin.TabularInline):
    model = RuleVersion
    fields = ["number", "category_zh", "text_zh", "text_en", "created_at", "created_by"]
    readonly_fields = fields
    extra = 0
    ordering = ["-number"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Rule)
class RuleAdmin(AdminsEdit, admin.ModelAdmin):
    form = RuleForm
    list_display = ["code", "list", "party", "current_category", "opens_case", "retired_at"]
    list_filter = ["list", "party", "opens_case", ("retired_at", admin.EmptyFieldListFilter)]
    list_editable = ["opens_case"]
    search_fields = ["code", "versions__text_zh", "versions__text_en"]
    inlines = [VersionInline]
    actions = ["retire", "reinstate"]

    @admin.display(description=_("category"))
    def current_category(self, obj) -> str:
        version = obj.versions.order_by("-number").first()
        return version.category_zh if version else "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        wording = {name: form.cleaned_data[name] for name in lists.VERSION_FIELDS}
        version = lists.revise_rule(obj, by=request.user, **wording)
        if version is not None and change:
            messages.info(
                request, _("The wording is saved as version %(n)d.") % {"n": version.number}
            )

    @admin.action(description=_("Retire the selected items"))
    def retire(self, request, queryset):
        now = timezone.now()
        for rule in queryset:
            lists.retire_rule(rule, by=request.user, now=now)

    @admin.action(description=_("Reinstate the selected items"))
    def reinstate(self, request, queryset):
        for rule in queryset:
            lists.reinstate_rule(rule, by=request.user)


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    list_display = ["rule", "number", "category_zh", "created_at", "created_by"]
    list_filter = ["rule__list"]
    search_fields = ["rule__code", "text_zh", "text_en"]

    def has_add_permission(self, request):
        return False  # an edit of the item adds a version

    def has_change_permission(self, request, obj=None):
        return False  # versions are what findings were judged by: never edited

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ListAlias)
class ListAliasAdmin(AdminsEdit, admin.ModelAdmin):
    list_display = ["name", "locality", "position", "rule"]
    list_filter = ["locality", "name"]
    ordering = ["locality", "name", "position"]

    def has_delete_permission(self, request, obj=None):
        return _is_admin(request)  # a mapping, not a record: it may be corrected


class ThresholdForm(forms.ModelForm):
    class Meta:
        model = Threshold
        fields = ["key", "value"]

    def clean_value(self):
        value = self.cleaned_data["value"]
        if value is not None and value < 0:
            raise forms.ValidationError(_("A threshold cannot be negative."))
        return value


@admin.register(Threshold)
class ThresholdAdmin(AdminsEdit, admin.ModelAdmin):
    form = ThresholdForm
    list_display = ["key", "value", "updated_at"]
    list_editable = ["value"]
    readonly_fields = ["updated_at"]

    def save_model(self, request, obj, form, change):
        lists.set_threshold(obj.key, obj.value, by=request.user)


# --- findings and records (read-only, scoped like the inspectors' pages) ---------------------


class ScopedReadOnly(admin.ModelAdmin):
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        user = request.user
        if _is_admin(request):
            return queryset
        if user.role != Role.INSPECTOR:
            return queryset.none()
        regions = jurisdiction_regions(user)
        return queryset if regions is None else queryset.filter(region__in=regions)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Finding)
class FindingAdmin(ScopedReadOnly):
    list_display = ["created_at", "rule_code", "severity", "official", "enterprise", "region"]
    list_filter = ["severity", "rule_code", "region"]
    search_fields = ["rule_code", "message", "official__username", "official__name"]
    list_select_related = ["official", "enterprise"]
    date_hierarchy = "created_at"


@admin.register(Interaction)
class InteractionAdmin(ScopedReadOnly):
    list_display = ["created_at", "kind", "official", "enterprise", "payer", "region"]
    list_filter = ["kind", "payer", "region"]
    list_select_related = ["official", "enterprise"]


@admin.register(Gift)
class GiftAdmin(ScopedReadOnly):
    list_display = ["created_at", "direction", "kind", "value_cny", "official", "enterprise"]
    list_filter = ["direction", "kind", "region"]
    list_select_related = ["official", "enterprise"]


@admin.register(AssetUse)
class AssetUseAdmin(ScopedReadOnly):
    list_display = ["created_at", "asset", "official", "enterprise", "start", "end", "returned"]
    list_filter = ["asset", "returned", "region"]
    list_select_related = ["official", "enterprise"]


@admin.register(Declaration)
class DeclarationAdmin(ScopedReadOnly):
    list_display = ["created_at", "relation", "official", "enterprise", "ended_at"]
    list_filter = ["relation", "region"]
    list_select_related = ["official", "enterprise"]


@admin.register(VisitFiling)
class VisitFilingAdmin(ScopedReadOnly):
    list_display = [
        "planned_start",
        "enterprise",
        "official",
        "purpose",
        "urgent",
        "exemption",
        "cancelled_at",
    ]
    list_filter = ["purpose", "urgent", "exemption", "region"]
    list_select_related = ["official", "enterprise"]
