"""Form fields of people and places that the pages and the Django admin share, and the forms
of the account pages (claims, the profile)."""

from functools import partial

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy

from core.forms import PageForm, PageFormMixin, empty_choice
from officials.credit_code import normalize, validate_credit_code
from officials.models import User
from officials.selectors import REGION_NOT_IN_TREE, region_choices


def _options(required: bool) -> list[tuple[str, object]]:
    return [empty_choice(required), *region_choices()]


class RegionField(forms.ChoiceField):
    """An enterprise's region, chosen from the regions of the department tree (indented by
    depth), never typed: anything else, markup included, is refused as an invalid choice.

    The regions are read when a form is shown or judged (a callable), never at import.
    """

    default_error_messages = {"invalid_choice": REGION_NOT_IN_TREE}

    def __init__(self, *, required: bool = True, **kwargs):
        kwargs.setdefault("label", gettext_lazy("Region"))
        super().__init__(choices=partial(_options, required), required=required, **kwargs)


# --- accounts: claims and the profile -------------------------------------------------------------


class ClaimForm(PageForm):
    """An enterprise claimed by its credit code; the name and region only matter for a code
    the portal does not know yet (officials/claims.py)."""

    error_id = "err-%(name)s"  # the page's error lists are named after the fields
    credit_code = forms.CharField(
        label=gettext_lazy("Unified social credit code"),
        max_length=30,
        validators=[validate_credit_code],
        help_text=gettext_lazy("18 characters, as printed on the business licence."),
        # A code is typed in capitals and is no word to correct.
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    name = forms.CharField(
        label=gettext_lazy("Enterprise name"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("Needed only if the portal does not know the enterprise yet."),
    )
    region = RegionField(
        required=False,
        help_text=gettext_lazy(
            "Where the enterprise is, if the portal does not know it yet: its liaison serves "
            "this region."
        ),
    )

    def clean_credit_code(self) -> str:
        return normalize(self.cleaned_data["credit_code"])


class VerifyClaimForm(PageForm):
    """The region an unknown enterprise is registered in when its claim is verified."""

    region = RegionField(required=False)


class RefuseClaimForm(PageForm):
    note = forms.CharField(
        label=gettext_lazy("Why the claim is refused"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("The claimant reads this on their profile."),
    )


PHONE = RegexValidator(
    r"^\+?[0-9][0-9 ()\-]{4,38}$",
    gettext_lazy("Enter a phone number: digits, spaces, brackets, dashes and a leading +."),
)


class ProfileForm(PageFormMixin, forms.ModelForm):
    """What a person may change about themselves: name, phone and language."""

    error_id = "err-%(name)s"
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=lambda: list(settings.LANGUAGES),
        help_text=gettext_lazy("Pages, messages and e-mails are in this language."),
    )

    class Meta:
        model = User
        fields = ["name", "phone", "language"]
        help_texts = {"phone": gettext_lazy("So that your liaison or handler can call you.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = True
        self.fields["phone"].validators.append(PHONE)
