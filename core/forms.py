"""What the pages share about forms: an API serializer's errors shown next to the form's fields."""

from django.utils.translation import gettext as _

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
