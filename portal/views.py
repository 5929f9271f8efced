"""Portal-wide views: home (routes each role to its queue), login, the API token, error pages."""

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser

from portal.api import JSONParser


@login_required
def home(request):
    return redirect("requests:list")


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class ObtainTokenView(ObtainAuthToken):
    """`POST {"username", "password"}` → `{"token"}`; wrong credentials → 400 (API.md)."""

    parser_classes = (FormParser, MultiPartParser, JSONParser)

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # django-axes refuses a locked-out login inside authenticate(), which Django reports
            # as wrong credentials; axes marks the request it was handed (DRF's wrapper, which
            # its middleware never sees). Answer what API.md promises for a lock-out: 429.
            if getattr(request, "axes_locked_out", False):
                raise AxesBackendPermissionDenied("Locked out.") from None
            raise


def _error(request, template: str, code: int):
    if request.path.startswith("/api/"):
        from django.http import JsonResponse
        from django.utils.translation import gettext as _

        messages = {
            400: _("Bad request."),
            403: _("You may not do this."),
            404: _("Not found."),
            500: _("Server error."),
        }
        return JsonResponse({"detail": messages[code]}, status=code)
    return render(request, template, status=code)


def bad_request(request, exception=None):
    return _error(request, "errors/400.html", 400)


def permission_denied(request, exception=None):
    return _error(request, "errors/403.html", 403)


def page_not_found(request, exception=None):
    return _error(request, "errors/404.html", 404)


def server_error(request):
    return _error(request, "errors/500.html", 500)
