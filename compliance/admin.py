"""Django admin for compliance: accountability cases, read-only until the inspectors' pages."""

from django.contrib import admin

from compliance.models import AccountabilityCase
from officials.models import Role
from officials.selectors import jurisdiction_regions


@admin.register(AccountabilityCase)
class AccountabilityCaseAdmin(admin.ModelAdmin):
    # Few columns: the request's title is long, and the cause and rule are on the detail page.
    list_display = ["opened_at", "request", "department", "official", "status", "breach_at"]
    list_filter = ["status", "source", "region"]
    search_fields = ["cause", "request__reference", "official__username", "official__name"]
    list_select_related = ["request", "department", "official"]
    date_hierarchy = "opened_at"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        user = request.user
        if user.is_superuser or user.role == Role.ADMIN:
            return queryset
        if user.role != Role.INSPECTOR:
            return queryset.none()
        # An inspector sees the cases of the regions their department covers (all without one).
        regions = jurisdiction_regions(user)
        return queryset if regions is None else queryset.filter(region__in=regions)

    def has_add_permission(self, request):
        return False  # cases are opened by breaches, findings and reports

    def has_change_permission(self, request, obj=None):
        return False  # the inspectors' decision pages come with the compliance issue

    def has_delete_permission(self, request, obj=None):
        return False
