"""Page forms of compliance: what each record and filing form shows; the API's input serializers
judge what is entered (one set of rules)."""

from django import forms
from django.utils.translation import gettext_lazy

from compliance.models import (
    AssetKind,
    ExemptReason,
    GiftDirection,
    GiftKind,
    InteractionKind,
    Payer,
    Relation,
    VisitPurpose,
)
from compliance.selectors import enterprises_to_record
from compliance.serializers import (
    AssetUseInput,
    DeclarationInput,
    GiftInput,
    GiftOutcomeInput,
    InteractionInput,
    VisitFilingInput,
)
from core.forms import SerializerForm, empty_choice
from officials.models import User
from officials.selectors import enterprises_visible_to

# Money and counts are typed on a phone's number pad; none of them is negative.
_NUMBER = {"inputmode": "decimal", "min": "0"}


def _select(label, choices, *, required=True):
    return forms.ChoiceField(
        label=label, required=required, choices=[empty_choice(required), *choices]
    )


def _check(label):
    return forms.BooleanField(label=label, required=False)


def _when(label, *, required=True):
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


def _day(label, *, required=True):
    return forms.DateField(
        label=label, required=required, widget=forms.DateInput(attrs={"type": "date"})
    )


def _money(label, *, required=True):
    return forms.DecimalField(
        label=label,
        required=required,
        decimal_places=2,
        widget=forms.NumberInput(attrs=_NUMBER),
    )


def _count(label):
    return forms.IntegerField(label=label, required=False, widget=forms.NumberInput(attrs=_NUMBER))


def _text(label, help_text=""):
    return forms.CharField(label=label, required=False, help_text=help_text)


def _long_text(label):
    return forms.CharField(label=label, required=False, widget=forms.Textarea(attrs={"rows": 3}))


class RecordForm(SerializerForm):
    """A compliance page form. Records name any enterprise of the portal (API.md); a form whose
    action follows the official's jurisdiction (a visit filing) offers only the enterprises in it.
    """

    within_jurisdiction = False

    def __init__(self, data=None, *, user: User, errors=None, only=None):
        super().__init__(data, errors=errors)
        if "enterprise" in self.fields:
            offered = (
                enterprises_visible_to(user)
                if self.within_jurisdiction
                else enterprises_to_record(user)
            )
            choices = offered.order_by("name", "pk").values_list("pk", "name")
            self.fields["enterprise"].choices = [empty_choice(True), *choices]
        for name in list(self.fields):
            if only is not None and name not in only:
                del self.fields[name]


def _enterprise():
    return _select(gettext_lazy("Enterprise"), [])


class InteractionForm(RecordForm):
    enterprise = _enterprise()
    kind = _select(gettext_lazy("Kind"), InteractionKind.choices)
    occurred_at = _when(gettext_lazy("When"))
    description = _long_text(gettext_lazy("What it was about"))
    public = _check(gettext_lazy("A public event (open to others)"))
    approval_ref = _text(
        gettext_lazy("Approval reference"),
        help_text=gettext_lazy("The number of the approval for attending, if any."),
    )
    payer = _select(gettext_lazy("Who paid"), Payer.choices, required=False)
    amount_total = _money(gettext_lazy("Total amount (CNY)"), required=False)
    headcount = _count(gettext_lazy("Number of people"))
    alcohol = _check(gettext_lazy("Alcohol or tobacco served"))
    venue_type = _text(gettext_lazy("Venue (e.g. office, canteen, restaurant, private club)"))


class GiftForm(RecordForm):
    enterprise = _enterprise()
    direction = _select(gettext_lazy("Direction"), GiftDirection.choices)
    kind = _select(gettext_lazy("Kind"), GiftKind.choices)
    value_cny = _money(gettext_lazy("Value (CNY)"))
    received_at = _when(gettext_lazy("Received or given on"))
    refused = _check(gettext_lazy("Refused (handed back)"))
    registered_at = _when(gettext_lazy("Registered on"), required=False)
    surrendered_at = _when(gettext_lazy("Surrendered on"), required=False)


class GiftOutcomeForm(RecordForm):
    registered_at = _when(gettext_lazy("Registered on"), required=False)
    surrendered_at = _when(gettext_lazy("Surrendered on"), required=False)


class AssetUseForm(RecordForm):
    enterprise = _enterprise()
    asset = _select(gettext_lazy("Asset"), AssetKind.choices)
    dedicated = _check(gettext_lazy("Dispatched specially for me"))
    start = _day(gettext_lazy("From"))
    end = _day(gettext_lazy("Until"), required=False)
    returned = _check(gettext_lazy("Returned"))
    interaction = _count(gettext_lazy("Official activity (record number, optional)"))


class DeclarationForm(RecordForm):
    enterprise = _enterprise()
    relation = _select(gettext_lazy("Relation"), Relation.choices)
    remunerated = _check(gettext_lazy("Paid"))
    approved = _check(gettext_lazy("Approved by my unit"))
    note = _long_text(gettext_lazy("Note"))


class VisitFilingForm(RecordForm):
    within_jurisdiction = True  # a department visits the enterprises of its jurisdiction
    enterprise = _enterprise()
    planned_start = _when(gettext_lazy("Planned start"))
    planned_end = _when(gettext_lazy("Planned end"))
    purpose = _select(gettext_lazy("Purpose"), VisitPurpose.choices)
    urgent = _check(gettext_lazy("Urgent"))
    reason = forms.ChoiceField(
        label=gettext_lazy("Reason for urgency (exempt list)"),
        required=False,
        choices=[empty_choice(False), *ExemptReason.choices],
        help_text=gettext_lazy(
            "Only an urgent visit with one of these reasons may go ahead on a quiet production "
            "day or as an inspection of a whitelisted enterprise."
        ),
    )
    note = _long_text(gettext_lazy("Note"))


# Which form shows which serializer's input; a test holds their fields in step.
FORMS: dict[type, type[RecordForm]] = {
    InteractionInput: InteractionForm,
    GiftInput: GiftForm,
    GiftOutcomeInput: GiftOutcomeForm,
    AssetUseInput: AssetUseForm,
    DeclarationInput: DeclarationForm,
    VisitFilingInput: VisitFilingForm,
}


def page_form(input_class, user: User, data=None, errors=None, only=None) -> RecordForm:
    """The form of one serializer's input, with what was entered and what was wrong.

    `errors` is {field: [message, ...]} as `flatten_errors` gives it; `only` names the fields
    to show (all by default); errors of the others are shown above the form.
    """
    return FORMS[input_class](data, user=user, errors=errors, only=only)
