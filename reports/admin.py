"""Django admin for reports: the settings (weights and rules of the flags), flags and exports."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports import flags
from reports.figures import Period
from reports.models import ExportJob, FlagAward, ReportSettings


@admin.register(ReportSettings)
class ReportSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "weight_on_time",
        "weight_resolution",
        "weight_satisfaction",
        "weight_reopen",
        "weight_compliance",
        "count_three_as_satisfied",
        "yellow_flags_for_case",
        "peer_group_min",
    ]

    def has_add_permission(self, request):
        # One row only: it is made on first use and edited afterwards.
        return not ReportSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(FlagAward)
class FlagAwardAdmin(admin.ModelAdmin):
    list_display = ["year", "quarter", "department", "color", "score", "case", "awarded_at"]
    list_filter = ["year", "quarter", "color"]
    list_select_related = ["department", "case"]
    readonly_fields = [
        "department",
        "year",
        "quarter",
        "color",
        "score",
        "peer_group",
        "case",
        "awarded_at",
    ]
    actions = ["award_last_quarter"]

    def has_add_permission(self, request):
        return False  # flags are awarded from the figures, never typed in

    @admin.action(description=_("Award the flags of the last quarter again"))
    def award_last_quarter(self, request, queryset):
        period = Period.containing(timezone.now()).previous()
        rows = flags.award_flags(period, by=request.user)
        self.message_user(
            request,
            _("%(count)s flags awarded for %(period)s.")
            % {"count": len(rows), "period": period.label},
            messages.SUCCESS,
        )


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "requested_by",
        "format",
        "status",
        "done",
        "total",
        "created_at",
        "expires_at",
    ]
    list_filter = ["status", "format"]
    list_select_related = ["requested_by"]
    readonly_fields = [f.name for f in ExportJob._meta.fields]

    def has_add_permission(self, request):
        return False
