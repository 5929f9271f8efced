"""Django admin for requests (read-only, with the correction form) and the escalation ladder; the
working-day calendar's admin is in requests_app/admin_calendar.py (registered from here)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput, InvalidTransition, NotPermitted
from officials.models import Category, Role
from requests_app import admin_calendar, workflow  # noqa: F401 (admin_calendar registers itself)
from requests_app.models import (
    Attachment,
    EscalationFiring,
    EscalationRule,
    Recipient,
    RequestEvent,
    ServiceRequest,
)
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


class CorrectionForm(forms.Form):
    """An administrator's correction of a request's text or category, with the reason."""

    title = forms.CharField(
        label=capfirst(_("title")),
        max_length=ServiceRequest._meta.get_field("title").max_length,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
    )
    description = forms.CharField(
        label=capfirst(_("description")),
        max_length=ServiceRequest._meta.get_field("description").max_length,
        widget=forms.Textarea(attrs={"class": "vLargeTextField"}),
    )
    category = forms.ModelChoiceField(label=capfirst(_("category")), queryset=Category.objects)
    reason = forms.CharField(
        label=capfirst(_("reason")),
        widget=forms.Textarea(attrs={"class": "vLargeTextField", "rows": 3}),
        help_text=_("Kept on the request's timeline with the old and new values."),
    )


@admin.register(ServiceRequest)
class ServiceRequestAdmin(admin.ModelAdmin):
    """Requests are shown here, never saved from the change form: a status, a person or a clock
    moves through the workflow, and the text and category through the correction form, which
    the workflow applies under the row lock and records on the timeline (`corrected`)."""

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
    change_form_template = "admin/requests_app/servicerequest/change_form.html"
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
    ]
    readonly_fields = fields
    inlines = [AttachmentInline, EventInline]

    def get_queryset(self, request):
        return requests_visible_to(request.user).select_related(
            "enterprise", "category", "department"
        )

    def has_add_permission(self, request):
        return False  # requests are filed through submit_request, which starts the clocks

    def has_change_permission(self, request, obj=None):
        # The change form would save the whole row as it was read, outside the row lock and
        # without a timeline event; the correction form goes through the workflow instead.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def may_correct(self, request) -> bool:
        """Django's change permission on requests, held by an administrator (the workflow
        admits no other role)."""
        model = self.opts
        return request.user.role == Role.ADMIN and request.user.has_perm(
            f"{model.app_label}.change_{model.model_name}"
        )

    def get_urls(self):
        correct = path(
            "<path:object_id>/correct/",
            self.admin_site.admin_view(self.correct_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_correct",
        )
        return [correct, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_correct": self.may_correct(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def correct_view(self, request, object_id):
        """The correction form: the current values to edit and a reason, applied by the workflow."""
        service_request = self.get_object(request, object_id)  # None when missing or not visible
        if service_request is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.may_correct(request):
            raise PermissionDenied
        form = CorrectionForm(
            request.POST or None,
            initial={
                "title": service_request.title,
                "description": service_request.description,
                "category": service_request.category_id,
            },
        )
        saved = (
            request.method == "POST"
            and form.is_valid()
            and _correct(request, service_request, form)
        )
        if saved:
            messages.success(request, _("The correction is on the request's timeline."))
            return HttpResponseRedirect(
                reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                    args=[service_request.pk],
                )
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Correct %(reference)s") % {"reference": service_request.reference},
            "opts": self.opts,
            "original": service_request,
            "form": form,
        }
        return TemplateResponse(request, "admin/requests_app/servicerequest/correct.html", context)


def _correct(request, service_request: ServiceRequest, form: CorrectionForm) -> bool:
    """Run the workflow's correction; its refusals land on the form. True when it was saved."""
    try:
        workflow.correct_request(service_request.pk, by=request.user, **form.cleaned_data)
    except NotPermitted:
        raise PermissionDenied from None
    except InvalidTransition as refusal:
        form.add_error(None, str(refusal))
    except InvalidInput as refusal:
        for name, problems in refusal.errors.items():
            form.add_error(name if name in form.fields else None, problems)
    else:
        return True
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


# --- the escalation ladder -----------------------------------------------------------------------


# Rule names are sentences: give them room (the admin's default text box is 20em).
_WIDE = "width: min(40em, 100%)"


class EscalationRuleForm(forms.ModelForm):
    """Recipients as ticks rather than raw JSON; the model's clean() checks the combination."""

    recipients = forms.MultipleChoiceField(
        label=capfirst(_("recipients")),
        choices=Recipient.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Who is told when the rule fires."),
    )

    class Meta:
        model = EscalationRule
        widgets = {
            "name": forms.TextInput(attrs={"class": "vTextField", "style": _WIDE}),
            "name_en": forms.TextInput(attrs={"class": "vTextField", "style": _WIDE}),
        }
        fields = [
            "name",
            "name_en",
            "clock",
            "trigger",
            "fraction",
            "days_after",
            "action",
            "recipients",
            "active",
        ]

    def clean_recipients(self) -> list[str]:
        chosen = set(self.cleaned_data["recipients"])
        return [code for code in Recipient.values if code in chosen]  # a stable order


@admin.register(EscalationRule)
class EscalationRuleAdmin(admin.ModelAdmin):
    form = EscalationRuleForm
    fieldsets = [
        (None, {"fields": ["name", "name_en", "active"]}),
        (_("Clock and moment"), {"fields": ["clock", "trigger", "fraction", "days_after"]}),
        (_("What to do"), {"fields": ["action", "recipients"]}),
    ]
    list_display = [
        "name",
        "name_en",
        "clock",
        "trigger",
        "fraction",
        "days_after",
        "action",
        "recipient_labels",
        "active",
    ]
    list_filter = ["clock", "action", "active"]
    search_fields = ["name", "name_en"]

    @admin.display(description=_("recipients"))
    def recipient_labels(self, obj) -> str:
        labels = dict(Recipient.choices)
        return ", ".join(str(labels.get(code, code)) for code in obj.recipients or []) or "—"


@admin.register(EscalationFiring)
class EscalationFiringAdmin(ReadOnlyAdmin):
    list_display = ["request", "rule", "clock_cycle", "due", "fired"]
    list_filter = ["rule"]
    search_fields = ["request__reference"]
    list_select_related = ["request", "rule"]
    date_hierarchy = "fired_at"

    def get_queryset(self, request):
        visible = requests_visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(request__in=visible)

    # The model's bookkeeping fields carry no verbose names; the columns get translated ones.
    @admin.display(description=_("clock cycle"), ordering="cycle")
    def clock_cycle(self, obj) -> int:
        return obj.cycle

    @admin.display(description=_("due"), ordering="due_at")
    def due(self, obj):
        return obj.due_at

    @admin.display(description=_("fired"), ordering="fired_at")
    def fired(self, obj):
        return obj.fired_at
