"""Page forms of reports, cases and the console search; decisions validate with the API's rules."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from compliance import receipts
from compliance.models import Measure, Outcome, ReportKind, ReportStatus
from core.forms import PageForm, TypedChoiceField
from inspection.histories import Criteria
from inspection.serializers import TEXT_MAX
from inspection.services import DISTINCTIONS, decision_errors
from officials.models import Category, Department, Enterprise, Role, User
from requests_app.attachments import ACCEPT, MAX_FILES


class _Files(forms.FileInput):
    allow_multiple_selected = True


def evidence_field(label) -> forms.FileField:
    """Evidence files: the views read them all from request.FILES; the request attachments'
    code judges them (inspection/evidence.py)."""
    field = forms.FileField(
        label=label, required=False, widget=_Files(attrs={"accept": ACCEPT, "multiple": True})
    )
    field.help_text = _(
        "Up to %(max_files)s files, each at most %(size)s: PDF, images, office documents or "
        "plain text. The file names are not kept. Photos and documents can carry hidden details "
        "(the camera, the place, the author's name): remove them first if you wish to stay "
        "anonymous."
    ) % {"max_files": MAX_FILES, "size": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}
    return field


class ReportForm(PageForm):
    kind = forms.ChoiceField(label=_("What happened"), choices=ReportKind.choices)
    text = forms.CharField(
        label=_("Your report"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "What happened, when and where. Do not include your own name if you wish to "
            "stay anonymous."
        ),
    )
    enterprise = forms.ModelChoiceField(
        label=_("Enterprise concerned"), queryset=Enterprise.objects.none(), required=False
    )
    official_name = forms.CharField(label=_("Official named"), max_length=100, required=False)
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False
    )
    # The proof-of-work stamp the page's script computes (static/inspection/stamp.js); a browser
    # without JavaScript sends none and meets the stricter rate (inspection/throttling.py).
    stamp = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, enterprises=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per form: the help text names the size limit of the running settings.
        self.fields["files"] = evidence_field(_("Evidence (optional)"))
        # A logged-in entrepreneur picks among their own enterprises; the list of every
        # enterprise in the city is not shown to a logged-out visitor.
        if enterprises is None:
            del self.fields["enterprise"]
        else:
            self.fields["enterprise"].queryset = enterprises
        # Anonymity is offered by the logged-out form alone: there is no box to tick.


class ReceiptForm(PageForm):
    # Typed as the person likes: any case, spaces, dashes or none (compliance/receipts.py).
    receipt = forms.CharField(
        label=_("Receipt"),
        max_length=receipts.MAX_INPUT,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_("For example ABCDE-FGH23-…: capitals, spaces and dashes do not matter."),
    )


class AdditionForm(PageForm):
    """More information on a report, sent with its receipt (a hidden field: never in a URL)."""

    receipt = forms.CharField(max_length=receipts.MAX_INPUT, widget=forms.HiddenInput)
    text = forms.CharField(
        label=_("What you want to add"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    stamp = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["files"] = evidence_field(_("More evidence (optional)"))


class ReportMoveForm(PageForm):
    status = forms.ChoiceField(label=_("Status"), choices=ReportStatus.choices)


class OpenCaseForm(PageForm):
    official = forms.ModelChoiceField(
        label=_("Official concerned"),
        queryset=User.objects.filter(role__in=[Role.LIAISON, Role.HANDLER, Role.LEADER]).order_by(
            "name", "username"
        ),
        required=False,
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.all(), required=False
    )


class NoteForm(PageForm):
    text = forms.CharField(
        label=_("Inquiry record"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )


class DecisionForm(PageForm):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=Outcome.choices, widget=forms.RadioSelect
    )
    measure = forms.ChoiceField(
        label=_("Measure (accountable only)"),
        choices=[("", "—"), *Measure.choices],
        required=False,
    )
    reasoning = forms.CharField(
        label=_("Reasoning"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 4})
    )
    distinction_reform = forms.CharField(
        label=_("Inexperience in reform, not a knowing violation"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    distinction_trial = forms.CharField(
        label=_("An exploratory trial without a prior ban, not a violation after a ban"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    distinction_development = forms.CharField(
        label=_("An unintentional error while promoting development, not private gain"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        data = super().clean()
        if "outcome" in data and "reasoning" in data:
            errors = decision_errors(
                outcome=data["outcome"],
                measure=data.get("measure", ""),
                reasoning=data["reasoning"],
                distinctions={name: data.get(name, "") for name in DISTINCTIONS},
            )
            for field, messages in errors.items():
                for message in messages:
                    self.add_error(field, message)
        return data


_TRISTATE = [("", _("All")), ("true", _("Yes")), ("false", _("No"))]


class SearchForm(PageForm):
    """The console search: every field narrows the inspector's scope, none widens it."""

    text = forms.CharField(label=_("Search"), max_length=200, required=False)
    enterprise = TypedChoiceField(
        label=_("Enterprise"),
        keys=("credit_code",),
        name="name",
        required=False,
        help_text=_("Credit code or part of the name"),
    )
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.all(),
        required=False,
        empty_label=_("All"),
    )
    official = TypedChoiceField(
        label=_("Official"),
        keys=("username",),
        name="name",
        required=False,
        help_text=_("User name or part of the name"),
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.all(),
        to_field_name="code",
        required=False,
        empty_label=_("All"),
    )
    submitted_after = forms.DateField(
        label=_("Filed from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    submitted_before = forms.DateField(
        label=_("Filed until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    overdue = forms.ChoiceField(label=_("Overdue"), choices=_TRISTATE, required=False)
    reopened = forms.ChoiceField(label=_("Reopened"), choices=_TRISTATE, required=False)

    def __init__(self, *args, enterprises, officials, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enterprise"].queryset = enterprises
        self.fields["official"].queryset = officials

    def criteria(self) -> Criteria:
        data = self.cleaned_data
        tristate = {"true": True, "false": False}
        return Criteria(
            enterprise=data["enterprise"].pk if data.get("enterprise") else None,
            department=data["department"].pk if data.get("department") else None,
            official=data["official"].pk if data.get("official") else None,
            category=data["category"].code if data.get("category") else "",
            submitted_after=data.get("submitted_after"),
            submitted_before=data.get("submitted_before"),
            overdue=tristate.get(data.get("overdue", "")),
            reopened=tristate.get(data.get("reopened", "")),
            text=(data.get("text") or "").strip(),
        )
