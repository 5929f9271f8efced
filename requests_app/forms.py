"""Page forms of the request loop, described from the API's input serializers (one set of rules)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from compliance.selectors import declared_official_ids
from core.errors import UploadTooLarge
from officials.models import Department, Role, User
from requests_app.attachments import add_attachment, sniff
from requests_app.serializers import ACTION_INPUTS
from requests_app.workflow import TRANSITIONS, InvalidInput

MAX_FILES = 10
SNIFF_BYTES = 8192  # what attachments.sniff needs to recognise a file by its content

# What each serializer field is called on a page, and how it is entered. Validation stays in
# the serializers; this only says how a person sees the field.
LABELS = {
    "department": gettext_lazy("Department"),
    "handler": gettext_lazy("Handler (optional)"),
    "note": gettext_lazy("Note"),
    "reason": gettext_lazy("Reason"),
    "into": gettext_lazy("Merge into (request number or id)"),
    "question": gettext_lazy("Question for the enterprise"),
    "answer": gettext_lazy("Your answer"),
    "message": gettext_lazy("What was done"),
    "until": gettext_lazy("New deadline"),
    "plan": gettext_lazy("Plan: steps and dates"),
    "accepted": gettext_lazy("Verdict"),
    "rating": gettext_lazy("Rating"),
    "comment": gettext_lazy("Comment"),
    "channel": gettext_lazy("Follow-up channel"),
    "text": gettext_lazy("Comment"),
}
WIDGETS = {
    "department": "select",
    "handler": "select",
    "into": "text",
    "until": "datetime",
    "accepted": "verdict",
    "rating": "select",
    "channel": "select",
}
RATING_CHOICES = [
    ("5", gettext_lazy("5 — very satisfied")),
    ("4", gettext_lazy("4 — satisfied")),
    ("3", gettext_lazy("3 — basically satisfied")),
    ("2", gettext_lazy("2 — dissatisfied")),
    ("1", gettext_lazy("1 — very dissatisfied")),
]
CHANNEL_CHOICES = [
    ("phone", gettext_lazy("Phone call")),
    ("visit", gettext_lazy("Visit")),
    ("message", gettext_lazy("Message")),
    ("meeting", gettext_lazy("Meeting")),
]
# The follow-up channel only means something when an official records the enterprise's verdict.
CHANNEL_ROLES = frozenset({Role.LIAISON, Role.ADMIN})
# Destructive actions get a warning style on the page.
DANGER_ACTIONS = frozenset({"reject", "merge", "withdraw"})


@dataclass
class FieldSpec:
    name: str
    label: str
    widget: str
    required: bool
    choices: list = field(default_factory=list)
    value: str = ""
    errors: list = field(default_factory=list)


@dataclass
class ActionForm:
    action: str
    label: str
    fields: list[FieldSpec]
    errors: list = field(default_factory=list)  # not tied to one field
    danger: bool = False


def _choices(name: str, user: User, service_request=None) -> list:
    if name == "department":
        return [(str(pk), label) for pk, label in Department.objects.values_list("pk", "name")]
    if name == "handler":
        handlers = (
            User.objects.filter(role=Role.HANDLER, is_active=True, department__isnull=False)
            .select_related("department")
            .order_by("department__path", "name", "username")
        )
        if service_request is not None:
            # Who may take it: officials with a declared tie to the enterprise recuse (回避).
            handlers = handlers.exclude(pk__in=declared_official_ids(service_request.enterprise_id))
        return [(str(h.pk), f"{h.department.name} · {h.display_name}") for h in handlers]
    if name == "rating":
        return RATING_CHOICES
    if name == "channel":
        return CHANNEL_CHOICES
    return []


def action_form(
    action: str, user: User, data=None, errors=None, service_request=None
) -> ActionForm:
    """The form of one action: its serializer's fields, with what was entered and what was wrong.

    `errors` is {field: [message, ...]} as `flatten_errors` gives it; with `service_request`,
    the handlers offered are those who may take it (no conflict of interest).
    """
    data, errors = data or {}, errors or {}
    specs = []
    for name, serializer_field in ACTION_INPUTS[action]().fields.items():
        if name == "channel" and user.role not in CHANNEL_ROLES:
            continue
        widget = WIDGETS.get(name, "textarea")
        specs.append(
            FieldSpec(
                name=name,
                label=LABELS.get(name, name),
                widget=widget,
                required=serializer_field.required,
                choices=_choices(name, user, service_request) if widget == "select" else [],
                value=str(data.get(name, "") or ""),
                errors=[str(e) for e in errors.get(name, [])],
            )
        )
    names = {spec.name for spec in specs}
    return ActionForm(
        action=action,
        label=TRANSITIONS[action].label,
        fields=specs,
        errors=[str(m) for key, messages in errors.items() if key not in names for m in messages],
        danger=action in DANGER_ACTIONS,
    )


# --- uploads ---------------------------------------------------------------------------------


def check_uploads(files) -> list[str]:
    """Refuse bad files before anything is created: too many, too large, empty, wrong kind."""
    if len(files) > MAX_FILES:
        return [_("Attach at most %(n)d files.") % {"n": MAX_FILES}]
    problems = []
    limit = filesizeformat(settings.ATTACHMENT_MAX_BYTES)
    for upload in files:
        name = upload.name or "file"
        if upload.size > settings.ATTACHMENT_MAX_BYTES:
            problems.append(
                _("“%(name)s” is larger than the %(limit)s limit.") % {"name": name, "limit": limit}
            )
            continue
        if upload.size == 0:
            problems.append(_("“%(name)s” is empty.") % {"name": name})
            continue
        upload.seek(0)
        head = upload.read(SNIFF_BYTES)
        upload.seek(0)
        if sniff(head, name) is None:
            problems.append(
                _(
                    "“%(name)s” is not an accepted kind of file. Upload a PDF, an image, "
                    "an office document or plain text."
                )
                % {"name": name}
            )
    return problems


def store_uploads(service_request, user, files) -> None:
    try:
        for upload in files:
            add_attachment(service_request, by=user, upload=upload)
    except UploadTooLarge:
        limit = filesizeformat(settings.ATTACHMENT_MAX_BYTES)
        raise InvalidInput({"files": [_("A file is larger than the %s limit.") % limit]}) from None
    except InvalidInput as error:
        raise InvalidInput({"files": error.errors.get("file", [])}) from None
