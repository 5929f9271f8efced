"""Django admin for people and places: departments, categories, enterprises, users and links."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from officials.forms import RegionField
from officials.models import (
    Category,
    Department,
    Enterprise,
    EnterpriseClaim,
    EnterpriseLink,
    EnterpriseMember,
    User,
)

admin.site.site_header = _("Qinqing administration")
admin.site.site_title = _("Qinqing administration")
admin.site.index_title = _("Portal administration")


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "position"]
    list_editable = ["position"]
    search_fields = ["code", "name_zh", "name_en"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "parent", "region"]
    list_filter = ["region"]
    search_fields = ["name", "name_en", "region"]
    filter_horizontal = ["categories"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]


class EnterpriseMemberInline(admin.TabularInline):
    model = EnterpriseMember
    extra = 0
    autocomplete_fields = ["user", "enterprise"]
    verbose_name = _("contact person")
    verbose_name_plural = _("contact persons")


class EnterpriseLinkInline(admin.TabularInline):
    model = EnterpriseLink
    fk_name = "enterprise"
    extra = 0
    autocomplete_fields = ["official"]


class EnterpriseAdminForm(forms.ModelForm):
    # Chosen from the department tree like everywhere else; blank is "no region yet".
    region = RegionField(required=False)

    class Meta:
        model = Enterprise
        fields = [
            "name",
            "credit_code",
            "region",
            "industry",
            "whitelisted",
            "quiet_days",
            "created_at",
        ]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    form = EnterpriseAdminForm
    list_display = ["name", "credit_code", "region", "industry", "whitelisted"]
    list_filter = ["whitelisted", "region"]
    search_fields = ["name", "credit_code"]
    inlines = [EnterpriseMemberInline, EnterpriseLinkInline]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "name", "role", "department", "is_active"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "name", "email", "phone"]
    list_select_related = ["department"]
    autocomplete_fields = ["department"]
    fieldsets = [
        *BaseUserAdmin.fieldsets,
        (_("Qinqing"), {"fields": ["name", "role", "department", "title", "phone", "language"]}),
    ]
    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        (_("Qinqing"), {"fields": ["name", "role", "department"]}),
    ]
    inlines = [EnterpriseMemberInline]


@admin.register(EnterpriseLink)
class EnterpriseLinkAdmin(admin.ModelAdmin):
    list_display = ["official", "enterprise", "kind", "start", "end"]
    list_filter = ["kind"]
    search_fields = ["official__username", "official__name", "enterprise__name"]
    autocomplete_fields = ["official", "enterprise"]
    list_select_related = ["official", "enterprise"]


@admin.register(EnterpriseClaim)
class EnterpriseClaimAdmin(admin.ModelAdmin):
    """Read-only: claims are decided on their page, where the region is checked and the
    membership made (officials/claims.py)."""

    list_display = ["name", "credit_code", "user", "status", "decided_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "credit_code", "user__username", "user__name"]
    list_select_related = ["user", "decided_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
