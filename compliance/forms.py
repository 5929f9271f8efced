"""Page forms of compliance, described from the API's input serializers (one set of rules).

The serializers validate; this only says how a person sees each field: its label, its widget,
its choices, what was entered and what was wrong with it.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from officials.models import User
from officials.selectors import enterprises_visible_to

LABELS = {
    "enterprise": gettext_lazy("Enterprise"),
    "kind": gettext_lazy("Kind"),
    "occurred_at": gettext_lazy("When"),
    "description": gettext_lazy("What it was about"),
    "public": gettext_lazy("A public event (open to others)"),
    "approval_ref": gettext_lazy("Approval reference"),
    "payer": gettext_lazy("Who paid"),
    "amount_total": gettext_lazy("Total amount (CNY)"),
    "headcount": gettext_lazy("Number of people"),
    "alcohol": gettext_lazy("Alcohol or tobacco served"),
    "venue_type": gettext_lazy("Venue (e.g. office, canteen, restaurant, private club)"),
    "direction": gettext_lazy("Direction"),
    "value_cny": gettext_lazy("Value (CNY)"),
    "received_at": gettext_lazy("Received or given on"),
    "refused": gettext_lazy("Refused (handed back)"),
    "registered_at": gettext_lazy("Registered on"),
    "surrendered_at": gettext_lazy("Surrendered on"),
    "asset": gettext_lazy("Asset"),
    "dedicated": gettext_lazy("Dispatched specially for me"),
    "start": gettext_lazy("From"),
    "end": gettext_lazy("Until"),
    "returned": gettext_lazy("Returned"),
    "interaction": gettext_lazy("Official activity (record number, optional)"),
    "relation": gettext_lazy("Relation"),
    "remunerated": gettext_lazy("Paid"),
    "approved": gettext_lazy("Approved by my unit"),
    "note": gettext_lazy("Note"),
    "planned_start": gettext_lazy("Planned start"),
    "planned_end": gettext_lazy("Planned end"),
    "purpose": gettext_lazy("Purpose"),
    "urgent": gettext_lazy("Urgent"),
    "reason": gettext_lazy("Reason for urgency (exempt list)"),
}
HELP = {
    "approval_ref": gettext_lazy("The number of the approval for attending, if any."),
    "reason": gettext_lazy(
        "Only an urgent visit with one of these reasons may go ahead on a quiet production "
        "day or as an inspection of a whitelisted enterprise."
    ),
}


@dataclass
class FieldSpec:
    name: str
    label: str
    widget: str  # select, checkbox, datetime, date, number, text, textarea
    required: bool
    choices: list = field(default_factory=list)
    value: str = ""
    checked: bool = False
    errors: list = field(default_factory=list)
    help: str = ""
    step: str = ""


@dataclass
class PageForm:
    fields: list[FieldSpec]
    errors: list = field(default_factory=list)  # not tied to one field


def _widget(serializer_field) -> str:
    if serializer_field.field_name == "enterprise":
        return "select"
    if isinstance(serializer_field, serializers.BooleanField):
        return "checkbox"
    if isinstance(serializer_field, serializers.ChoiceField):
        return "select"
    if isinstance(serializer_field, serializers.DateTimeField):
        return "datetime"
    if isinstance(serializer_field, serializers.DateField):
        return "date"
    if isinstance(
        serializer_field,
        serializers.DecimalField | serializers.IntegerField | serializers.PrimaryKeyRelatedField,
    ):
        return "number"
    if (
        isinstance(serializer_field, serializers.CharField)
        and (serializer_field.max_length or 0) > 200
    ):
        return "textarea"
    return "text"


def _choices(serializer_field, user: User) -> list:
    if serializer_field.field_name == "enterprise":
        return [
            (str(pk), name)
            for pk, name in enterprises_visible_to(user).order_by("name").values_list("pk", "name")
        ]
    return [(str(value), label) for value, label in serializer_field.choices.items()]


def page_form(input_class, user: User, data=None, errors=None) -> PageForm:
    """The form of one record kind: its serializer's fields with what was entered and wrong."""
    data, errors = data or {}, errors or {}
    specs = []
    for name, serializer_field in input_class().fields.items():
        widget = _widget(serializer_field)
        raw = data.get(name, "")
        specs.append(
            FieldSpec(
                name=name,
                label=LABELS.get(name, name),
                widget=widget,
                required=serializer_field.required,
                choices=_choices(serializer_field, user) if widget == "select" else [],
                value="" if raw is None else str(raw),
                checked=str(raw).lower() in ("on", "true", "1"),
                errors=[str(e) for e in errors.get(name, [])],
                help=str(HELP.get(name, "")),
                step="0.01" if isinstance(serializer_field, serializers.DecimalField) else "",
            )
        )
    names = {spec.name for spec in specs}
    return PageForm(
        fields=specs,
        errors=[str(m) for key, messages in errors.items() if key not in names for m in messages],
    )
