"""Form fields of people and places that the pages and the Django admin share."""

from functools import partial

from django import forms
from django.utils.translation import gettext_lazy

from core.forms import empty_choice
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
