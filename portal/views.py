"""Portal-wide views: home, login, the API token, the inbox, error pages."""

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.throttling import ScopedRateThrottle

from core.api import FormParser, JSONParser, MultiPartParser
from notifications import inbox as inboxes

INBOX_PAGE_SIZE = 30


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
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "login"  # per client address: REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

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


# --- the inbox -----------------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request):
    """The user's own notifications, newest first; unread ones stand out."""
    notifications = inboxes.notifications_of(request.user)
    page = Paginator(notifications, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/inbox.html", {"page": page})


@login_required
@require_GET
def inbox_open(request, pk):
    """Open a notification: mark it read and follow its link (404 unless it is the user's)."""
    notification = inboxes.get_own_notification(request.user, pk)
    inboxes.mark_read(notification, by=request.user)
    # The link is written by the portal itself, but a redirect target is checked all the same.
    safe = url_has_allowed_host_and_scheme(
        notification.link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(notification.link if notification.link and safe else "portal:inbox")


@login_required
@require_POST
def inbox_mark_all_read(request):
    count = inboxes.mark_all_read(by=request.user)
    if count:
        text = ngettext(
            "%(count)d notification marked as read.",
            "%(count)d notifications marked as read.",
            count,
        )
        messages.success(request, text % {"count": count})
    return redirect("portal:inbox")


def _error(request, template: str, code: int):
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

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
