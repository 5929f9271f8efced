"""What every API endpoint shares: parsing, pagination and the mapping of errors to status codes."""

import json

from axes.exceptions import AxesBackendPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# Re-exported: it lives in officials so that importing it does not pull in requests_app.
from officials.permissions import IsAdminRole as IsAdminRole
from requests_app.attachments import UploadTooLarge
from requests_app.workflow import InvalidInput, InvalidTransition, NotPermitted


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing text that no database can store.

    JSON may spell an unpaired UTF-16 surrogate ("\\ud800"); Python decodes it into a string
    that cannot be encoded as UTF-8, and the first query or hash using it would fail with a 500.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError(_("JSON parse error - the text has an unpaired surrogate.")) from None
        return data


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc, context):
    """DRF's handler, plus the domain errors of the workflow and a JSON body for every case."""
    if isinstance(exc, InvalidTransition):
        return Response(
            {"detail": str(exc), "code": "invalid_transition", "status": exc.status},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, NotPermitted):
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, InvalidInput):
        return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, UploadTooLarge):
        return Response(
            {"detail": _("The file is larger than the 10 MB limit.")},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, AxesBackendPermissionDenied):
        return Response(
            {"detail": _("Too many failed logins. Try again later.")},
            status=status.HTTP_429_TOO_MANY_REQUESTS,
        )
    if isinstance(exc, DjangoValidationError):
        body = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if (
        response is not None
        and isinstance(exc, APIException)
        and not isinstance(response.data, dict)
    ):
        response.data = {"detail": response.data}
    return response
