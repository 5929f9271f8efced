"""The OpenAPI schema's shared parts: the error answers every endpoint may give (API.md, Errors)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi

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
