"""Django admin for requests (read-mostly: only the workflow changes a status) and the calendar."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from requests_app.models import Attachment, CalendarDay, CalendarYear, RequestEvent, ServiceRequest
from requests_app.selectors import requests_visible_to


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never written: history is appended by the workflow alone."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = RequestEvent
    fields = ["seq", "created_at", "action", "actor", "from_status", "to_status", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class AttachmentInline(EventInline):
    model = Attachment
    fields = ["original_name", "content_type", "size", "uploaded_by", "uploaded_at"]
    readonly_fields = fields


@admin.register(ServiceRequest)
class ServiceRequestAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "title",
        "enterprise",
        "category",
        "status",
        "department",
        "submitted_at",
        "answer_due_at",
    ]
    list_filter = ["status", "category", "source", "extension_state"]
    search_fields = ["reference", "title", "enterprise__name"]
    date_hierarchy = "submitted_at"
    list_select_related = ["enterprise", "category", "department"]
    # Editable: only what corrects a typo or a misfiled category. Status, people and clocks
    # move through the workflow, which writes the timeline.
    fields = [
        "reference",
        "enterprise",
        "category",
        "title",
        "description",
        "source",
        "status",
        "department",
        "handler",
        "liaison",
        "merged_into",
        "submitted_by",
        "submitted_at",
        "assign_due_at",
        "answer_due_at",
        "answer_paused_at",
        "assigned_at",
        "answered_at",
        "closed_at",
        "reopen_count",
        "transfer_count",
        "rating",
        "extension_state",
        "extension_until",
        "extension_plan",
        "timeline_head",
    ]
    readonly_fields = [f for f in fields if f not in ("category", "title", "description")]
    inlines = [AttachmentInline, EventInline]

    def get_queryset(self, request):
        return requests_visible_to(request.user).select_related(
            "enterprise", "category", "department"
        )

    def has_add_permission(self, request):
        return False  # requests are filed through submit_request, which starts the clocks

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RequestEvent)
class RequestEventAdmin(ReadOnlyAdmin):
    list_display = ["request", "seq", "action", "actor", "from_status", "to_status", "created_at"]
    list_filter = ["action"]
    search_fields = ["request__reference"]
    list_select_related = ["request", "actor"]

    def get_queryset(self, request):
        visible = requests_visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(request__in=visible)


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["original_name", "request", "content_type", "size", "uploaded_at"]
    search_fields = ["original_name", "request__reference", "sha256"]
    list_select_related = ["request"]
    exclude = ["file"]  # downloads go through the access-checked page, not a media URL

    def get_queryset(self, request):
        visible = requests_visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(request__in=visible)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "provisional", "source", "loaded_at"]
    list_filter = ["provisional"]


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = CalendarDay.objects.dates("date", "year", order="DESC")
        return [(str(d.year), str(d.year)) for d in years]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(date__year=int(self.value()))
        return queryset


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "is_working", "name"]
    list_filter = ["is_working", YearFilter]
    search_fields = ["name"]
    date_hierarchy = "date"
