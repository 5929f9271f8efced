"""Portal-wide views: home (routes each role to its queue), login, the API token, error pages."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from rest_framework.authtoken.views import ObtainAuthToken


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
