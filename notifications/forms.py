"""Page forms of the inbox: its filters, and the per-kind choice of how messages arrive."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import PageForm
from notifications.models import Kind, kinds_for
from notifications.preferences import CHOICES, Flags, choice_of


class InboxFilterForm(PageForm):
    """`?kind=&unread=1`: a value that is not a choice shows the whole inbox, as no filter."""

    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All")), *Kind.choices]
    )
    unread = forms.BooleanField(label=_("Unread only"), required=False)

    def filters(self) -> dict:
        if not self.is_valid():
            return {"kind": "", "unread": False}
        return {"kind": self.cleaned_data["kind"], "unread": self.cleaned_data["unread"]}


class PreferencesForm(PageForm):
    """One choice per kind of message, of the four settings that can be delivered."""

    def __init__(self, data=None, *, current: dict[str, Flags], entrepreneur: bool, **kwargs):
        super().__init__(data, **kwargs)
        options = [(name, label) for name, (_flags, label) in CHOICES.items()]
        # Only the kinds this person can be sent: an entrepreneur is never told of a case.
        for kind, label in kinds_for(entrepreneur=entrepreneur):
            self.fields[kind] = forms.ChoiceField(
                label=label,
                choices=options,
                initial=choice_of(current[kind]),
                widget=forms.Select,
            )

    def changes(self) -> dict[str, dict[str, bool]]:
        """The flags of every kind as chosen (call after is_valid)."""
        return {kind: CHOICES[self.cleaned_data[kind]][0].as_dict() for kind in self.fields}
