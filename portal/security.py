"""Request-level defences that no view should have to remember: the cap on a request's size."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    """Answer 413 to a body declared larger than REQUEST_MAX_BYTES, before it is read.

    Django reads exactly CONTENT_LENGTH bytes of a body (none without it), so the declared
    length is the most that will ever be read; refusing on it keeps a huge upload from being
    spooled to disk. The per-file limit (ATTACHMENT_MAX_BYTES) is the views' to apply.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django itself treats an unreadable length as an empty body
        if declared > settings.REQUEST_MAX_BYTES:
            return self._too_large(request)
        return self.get_response(request)

    @staticmethod
    def _too_large(request):
        message = _("The upload is too large.")
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=413)
        return render(request, "errors/413.html", {"message": message}, status=413)
