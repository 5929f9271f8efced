"""Django admin of the inspectors' side: cases and decisions (read-only), reports, the access log.

Confidential reports exist in the admin for the inspectors of their region alone (when they are
staff): for everyone else, superusers included, the model is hidden and every one of its admin
pages answers 404. Decisions cannot be added, changed or deleted here. Reads of a report or a
case file through the admin are logged like reads through the pages and the API.
"""

from django.contrib import admin
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from compliance.models import (
    AccessLog,
    AccountabilityCase,
    CaseDecision,
    CaseNote,
    ConfidentialReport,
)
from inspection import access, selectors
from officials.models import Role


def _visible(queryset, object_id):
    """The row of `queryset` with the admin URL's id, or None (also for an id that is no number)."""
    try:
        return queryset.filter(pk=object_id).first()
    except (ValueError, TypeError, OverflowError):
        return None


def _is_admin(user) -> bool:
    return user.is_active and (user.is_superuser or user.role == Role.ADMIN)


class _ReadOnly:
    """No adding, changing or deleting through the admin: these are records."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CaseNoteInline(_ReadOnly, admin.TabularInline):
    model = CaseNote
    fields = ["created_at", "author", "text"]
    readonly_fields = fields
    extra = 0


class CaseDecisionInline(_ReadOnly, admin.StackedInline):
    model = CaseDecision
    fk_name = "case"
    fields = [
        "decided_at",
        "decided_by",
        "outcome",
        "measure",
        "reasoning",
        "distinction_reform",
        "distinction_trial",
        "distinction_development",
        "corrects",
    ]
    readonly_fields = fields
    extra = 0


class _CaseScoped:
    """Inspectors see their region's cases, administrators all; the view is read-only."""

    def has_view_permission(self, request, obj=None):
        user = request.user
        return _is_admin(user) or selectors.is_inspector(user)

    def has_module_permission(self, request):
        return self.has_view_permission(request)


@admin.register(AccountabilityCase)
class AccountabilityCaseAdmin(_CaseScoped, _ReadOnly, admin.ModelAdmin):
    # Few columns: the request's title is long, and the cause and rule are on the detail page.
    list_display = ["opened_at", "request", "department", "official", "status", "breach_at"]
    list_filter = ["status", "source", "region"]
    search_fields = ["cause", "request__reference", "official__username", "official__name"]
    list_select_related = ["request", "department", "official"]
    date_hierarchy = "opened_at"
    inlines = [CaseNoteInline, CaseDecisionInline]
    # The report is a bare id: its admin page exists for the region's inspectors only.
    exclude = ["report"]
    readonly_fields = ["report_number"]

    @admin.display(description=_("confidential report"))
    def report_number(self, obj):
        return f"#{obj.report_id}" if obj.report_id else "—"

    def get_queryset(self, request):
        return selectors.cases_visible_to(request.user)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        case = _visible(selectors.cases_visible_to(request.user), object_id)
        if case is None:
            raise Http404
        access.log_read(by=request.user, target=AccessLog.Target.CASE, pk=case.pk, via=access.ADMIN)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(CaseDecision)
class CaseDecisionAdmin(_CaseScoped, _ReadOnly, admin.ModelAdmin):
    list_display = ["decided_at", "case", "outcome", "measure", "decided_by", "corrects"]
    list_filter = ["outcome", "measure"]
    list_select_related = ["case", "decided_by"]
    readonly_fields = CaseDecisionInline.fields + ["case"]

    def get_queryset(self, request):
        return CaseDecision.objects.filter(case__in=selectors.cases_visible_to(request.user))


@admin.register(ConfidentialReport)
class ConfidentialReportAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "kind", "region", "status", "anonymous"]
    list_filter = ["status", "kind"]
    exclude = ["receipt_digest"]

    def _allowed(self, request) -> bool:
        return selectors.is_inspector(request.user)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def get_queryset(self, request):
        return selectors.reports_visible_to(request.user)

    # Every admin page of a report answers 404 to all but the region's inspectors, as the
    # pages and the API do: a 403 or a redirect would tell that the report exists.
    def changelist_view(self, request, extra_context=None):
        if not self._allowed(request):
            raise Http404
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        report = _visible(selectors.reports_visible_to(request.user), object_id)
        if report is None:
            raise Http404
        access.log_read(
            by=request.user, target=AccessLog.Target.REPORT, pk=report.pk, via=access.ADMIN
        )
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        if _visible(selectors.reports_visible_to(request.user), object_id) is None:
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        raise Http404

    def add_view(self, request, form_url="", extra_context=None):
        raise Http404


@admin.register(AccessLog)
class AccessLogAdmin(_ReadOnly, admin.ModelAdmin):
    """Who read which report or case file, when and through what: for administrators."""

    list_display = ["read_at", "reader", "target", "object_id", "via"]
    list_filter = ["target", "via"]
    search_fields = ["reader__username", "reader__name"]
    list_select_related = ["reader"]
    date_hierarchy = "read_at"

    def has_view_permission(self, request, obj=None):
        return _is_admin(request.user)

    def has_module_permission(self, request):
        return _is_admin(request.user)
