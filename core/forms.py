"""What the pages share about forms: how a field renders, and an API serializer's errors on it."""

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import models
from django.forms.boundfield import BoundField
from django.forms.utils import ErrorDict
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.markup import attributes, escape

# An empty form field reaches DRF as "" or None; to a person all three mean the same thing.
_MISSING_CODES = frozenset({"required", "null", "blank"})


def _message(error) -> str:
    if getattr(error, "code", None) in _MISSING_CODES:
        return _("This field is required.")
    return str(error)


def flatten_errors(errors) -> dict[str, list[str]]:
    """Serializer, workflow or model validation errors as {field: [message, ...]}."""
    if isinstance(errors, dict):
        return {
            key: [_message(m) for m in (value if isinstance(value, list) else [value])]
            for key, value in errors.items()
        }
    return {"non_field_errors": [_message(m) for m in errors]}


# --- page forms ----------------------------------------------------------------------------------


class QuickSelect(forms.Select):
    """A select that writes its markup itself, the markup of Django's select templates: those
    build and render a template per option, and the lists' long selects (the 200 enterprises of
    an administrator's filter, every active handler of the city) cost a page more than its 20
    rows did. Choices may be grouped (an optgroup a group), as a Select's."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        parts: list[str] = []
        for group, choices in self.choices:
            if isinstance(choices, (list, tuple)):
                markup = self._options(choices, chosen)
                parts.append(f'<optgroup label="{escape(group)}">{markup}</optgroup>')
            else:  # a choice outside any group
                parts.append(self._options([(group, choices)], chosen))
        written = attributes(self.build_attrs(self.attrs, attrs))
        # Every part is escaped markup (_options), the name and the attributes escaped here.
        return mark_safe(f'<select name="{escape(name)}"{written}>{"".join(parts)}</select>')  # noqa: S308

    def option_attrs(self, value: str, selected: bool) -> dict:
        """An option's attributes besides its value (a subclass adds its own)."""
        return {"selected": True} if selected else {}

    def _options(self, choices, chosen: set[str]) -> SafeString:
        # Written by core.markup: format_html an option was a third of an administrator's
        # queue page, for its 200 enterprises.
        rows = []
        for value, label in choices:
            value = "" if value is None else str(value)
            # As Django's Select: only the first option of a chosen value is selected.
            selected = value in chosen
            chosen.discard(value)
            attrs = attributes(self.option_attrs(value, selected))
            rows.append(f'<option value="{escape(value)}"{attrs}>{escape(label)}</option>')
        return mark_safe("".join(rows))  # noqa: S308 - every value and label escaped above


class PageField(BoundField):
    """A field as `includes/field.html` shows it: its help and errors are tied to it by id."""

    @property
    def error_id(self) -> str:
        pattern: str = getattr(self.form, "error_id", "err-%(id)s")
        return pattern % {"id": self.auto_id, "name": self.html_name}

    @property
    def help_id(self) -> str:
        return f"{self.auto_id}_helptext"

    @property
    def aria_describedby(self) -> str:
        # Django's own ids for these differ from the ids the pages (and their tests) use.
        ids = []
        if self.auto_id and not self.is_hidden:
            if self.help_text:
                ids.append(self.help_id)
            if self.errors:
                ids.append(self.error_id)
        return " ".join(ids)


class PageFormMixin:
    """Mixed into every page form, so each field renders through `includes/field.html`."""

    bound_field_class: type[BoundField] | None = PageField
    # The id of a field's error list: "%(id)s" is the field's id, "%(name)s" its name.
    error_id = "err-%(id)s"


class PageForm(PageFormMixin, forms.Form):
    """A page form that judges its own input (pages with no API input serializer)."""


class SerializerForm(PageForm):
    """A page form judged by an API input serializer: it describes and renders the fields and
    shows the serializer's verdict (`errors` as `flatten_errors` gives it), never one of its own.

    One set of rules: the form never validates, so it cannot disagree with the API.
    """

    def __init__(self, data=None, *, errors=None, **kwargs):
        super().__init__(data, **kwargs)
        self.judged = errors or {}

    def full_clean(self):
        self._errors = ErrorDict(renderer=self.renderer)
        self.cleaned_data = {}
        for name, messages in self.judged.items():
            key = name if name in self.fields else NON_FIELD_ERRORS
            if key not in self._errors:
                css = "nonfield" if key == NON_FIELD_ERRORS else None
                self._errors[key] = self.error_class(error_class=css, renderer=self.renderer)
            self._errors[key].extend(str(message) for message in messages)


def empty_choice(required: bool) -> tuple[str, object]:
    """The first option of a select: a prompt when a choice is needed, a dash when it is not."""
    return ("", gettext_lazy("Choose…") if required else "—")


class TypedChoiceField(forms.CharField):
    """One row among thousands, typed rather than picked from a list of them all.

    A drop-down of every enterprise in a province is megabytes of page and, rendered by Django's
    widgets, half a second of server time (1,000 options: 490 ms of a 600 ms page). Here a person
    types an exact key (a credit code, a user name), a part of the name that only one row has, or
    the id a link carries; anything else is a clear error naming what to type instead. The
    queryset is the user's scope: a row outside it is "no match", never a hint that it exists.
    """

    def __init__(self, *, keys: tuple[str, ...], name: str, queryset=None, **kwargs):
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)
        self.keys, self.name = keys, name
        self.queryset = queryset

    def prepare_value(self, value):
        # Bound to a row (an initial value): show what a person would type, not its id.
        if isinstance(value, models.Model):
            return getattr(value, self.keys[0]) or getattr(value, self.name)
        return value

    def clean(self, value):
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        rows = self.queryset
        if text.isdigit() and len(text) <= 12:
            found = rows.filter(pk=int(text)).first()
            if found is not None:
                return found
        for key in self.keys:
            found = rows.filter(**{f"{key}__iexact": text}).first()
            if found is not None:
                return found
        matches = list(rows.filter(**{f"{self.name}__icontains": text}).order_by("pk")[:2])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise forms.ValidationError(
                _("More than one matches “%(text)s”: type more of the name, or the exact key."),
                code="ambiguous",
                params={"text": text},
            )
        raise forms.ValidationError(
            _("Nothing you may see matches “%(text)s”."), code="no_match", params={"text": text}
        )
