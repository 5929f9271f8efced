"""The OpenAPI schema's shared parts: the error answers every endpoint may give (API.md, Errors)."""

import copy

from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi
from rest_framework import serializers

# A JSON object: `{"detail": ...}`, or for invalid input `{"field": ["message", ...], ...}`
# (where `detail` too may be a list, as when the input as a whole is refused).
MESSAGES = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
ERROR_BODY = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"detail": MESSAGES},
            "additionalProperties": True,
        }
    }
}
ERRORS = {
    "400": _("Invalid input (fields, filters or paging)"),
    "401": _("Not logged in"),
    "403": _("May see it, may not do this"),
    "404": _("Does not exist, or may not be seen"),
    "409": _("Not allowed in the current state"),
    "413": _("Upload too large"),
    "429": _("Throttled"),
}


def doc_excludes() -> list:
    """drf-spectacular's own list, and the portal's base serializers (core/serializers.py)."""
    from drf_spectacular.plumbing import get_lib_doc_excludes

    from core import serializers as base

    return [*get_lib_doc_excludes(), base.StrictInput, base.Serializer, base.ModelSerializer]


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with API.md's error answers documented on every operation.

    Any endpoint can answer them (a filter that does not parse, a token that expired, a page
    past the end, too many calls), so a client and a fuzzer can rely on the schema for them.
    """

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in ERRORS.items():
            if code == "409" and self.method == "GET":
                continue  # only a change can conflict with the state
            response = responses.setdefault(code, {"description": str(description)})
            response.setdefault("content", ERROR_BODY)
        return responses

    def map_parsers(self):
        # The API reads JSON, and form bodies too (as a browser or curl sends them); the schema
        # documents JSON, and multipart only where a file is sent. A form body cannot carry
        # null, a number or a boolean ("null", "0" and "false" are text), so offering forms for
        # a JSON-shaped body would promise inputs that no form can spell.
        media_types = super().map_parsers()
        if "application/json" in media_types:
            return ["application/json"]
        return [media for media in media_types if media == "multipart/form-data"] or media_types

    def _get_filter_parameters(self):
        # A filter sent empty (`?status=`, as an HTML form sends it) is no filter: django-filter,
        # DRF's search and ordering all skip it. Say so, or an empty value reads as invalid.
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            if parameter.get("in") == "query":
                parameter["allowEmptyValue"] = True
        return parameters

    def _get_pagination_parameters(self):
        # A page size that is no whole number from 1 to the maximum gives the default page size
        # (tests/requests_app/test_api.py), so any value is accepted: say so, with the hint.
        parameters = super()._get_pagination_parameters()
        for parameter in parameters:
            if parameter.get("name") == "page_size":
                parameter["schema"] = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        # DRF drops `allow_blank` from read-only model fields, so a choice the model allows to
        # be blank (a visit's reason, a decision's measure) would be typed as an enum without
        # "" although answers carry "": give the schema the blank back (it adds BlankEnum).
        if _blank_choice_read_only(field):
            field = copy.copy(field)
            field.allow_blank = True
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and _plain_text(field) and "pattern" not in schema:
            schema["pattern"] = _text_pattern(field)
        return schema


def _plain_text(field) -> bool:
    return isinstance(field, serializers.CharField) and not field.read_only


def _text_pattern(field) -> str:
    """What the API takes as text, said as a pattern: no NUL (PostgreSQL cannot store it), and,
    where a field may not be blank, something besides the whitespace it trims."""
    if field.allow_blank or not field.trim_whitespace:
        return "^[^\\x00]*$"
    return "^[^\\x00]*[^\\s\\x00][^\\x00]*$"


def _blank_choice_read_only(field) -> bool:
    if not isinstance(field, serializers.ChoiceField) or not field.read_only or field.allow_blank:
        return False
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or "." in (field.source or ""):
        return False
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:
        return False
