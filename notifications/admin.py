"""Django admin for the inbox: notifications are read-only records of what was sent to whom."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from notifications.models import Digest, Notification
from officials.models import Role


class _IsNullFilter(admin.SimpleListFilter):
    """Yes/no over a nullable timestamp: set means done (read, e-mailed)."""

    field = ""
    done_label = pending_label = ""

    def lookups(self, request, model_admin):
        return [("yes", self.done_label), ("no", self.pending_label)]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(**{f"{self.field}__isnull": self.value() == "no"})
        return queryset


class ReadFilter(_IsNullFilter):
    title = _("read status")
    parameter_name = "read"
    field = "read_at"
    done_label, pending_label = _("Read"), _("Unread")


class EmailedFilter(_IsNullFilter):
    title = _("e-mail status")
    parameter_name = "emailed"
    field = "emailed_at"
    done_label, pending_label = _("E-mail sent"), _("E-mail not sent")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "recipient", "kind", "subject", "read_at", "emailed", "attempts"]
    list_filter = ["kind", ReadFilter, EmailedFilter]
    search_fields = ["subject", "recipient__username", "recipient__name"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    exclude = ["body_html"]

    def get_queryset(self, request):
        # Someone's inbox is theirs: only administrators look across all of them.
        queryset = super().get_queryset(request)
        user = request.user
        if user.is_superuser or user.role == Role.ADMIN:
            return queryset
        return queryset.filter(recipient=user)

    # The delivery fields carry no verbose names; the columns get translated ones.
    @admin.display(description=_("e-mailed"), ordering="emailed_at")
    def emailed(self, obj):
        return obj.emailed_at

    @admin.display(description=_("e-mail attempts"), ordering="email_attempts")
    def attempts(self, obj) -> int:
        return obj.email_attempts

    def has_add_permission(self, request):
        return False  # messages are written by notifications.messages alone

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    """The daily digests: which went out, and which wait (claimed, failed attempts)."""

    list_display = ["day", "user", "items", "sent_at", "attempts"]
    list_filter = ["day"]
    search_fields = ["user__username", "user__name"]
    list_select_related = ["user"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        user = request.user
        if user.is_superuser or user.role == Role.ADMIN:
            return queryset
        return queryset.filter(user=user)

    def has_add_permission(self, request):
        return False  # made by notifications.digest alone

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
