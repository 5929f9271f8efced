"""The mapping of every error an API client can cause to its status code and JSON body."""

from axes.exceptions import AxesBackendPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import InvalidInput, InvalidTransition, NotPermitted, UploadTooLarge


def exception_handler(exc, context):
    """DRF's handler, plus the domain errors of the workflow and a JSON body for every case."""
    if isinstance(exc, InvalidTransition):
        return Response(
            {"detail": str(exc), "code": "invalid_transition", "status": exc.current_status},
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
