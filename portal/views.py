"""Portal-wide views: home, login, the API token, the inbox, error pages."""

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language, ngettext
from django.utils.translation import gettext as _
from django.views import i18n as i18n_views
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from core import pagination
from core.api import JSONParser
from core.pagination import CappedCount, CappedPaginator
from core.serializers import StrictCharField, StrictInput
from core.throttles import ClientThrottle
from notifications import inbox as inboxes
from notifications import preferences, profile
from notifications.forms import InboxFilterForm, PreferencesForm
from officials.models import Role
from portal import tokens
from requests_app.selectors import requests_visible_to

INBOX_PAGE_SIZE = 30


class TokenInput(StrictInput, AuthTokenSerializer):
    """A user name and password, each as text."""

    # As text only, and with no NUL: the user lookup would fail in PostgreSQL.

    username = StrictCharField(label=_("Username"), write_only=True)
    password = StrictCharField(
        label=_("Password"),
        style={"input_type": "password"},
        trim_whitespace=False,
        write_only=True,
    )


class ObtainTokenView(ObtainAuthToken):
    """`POST {"username", "password"}` → `{"token", "expires_at"}`; wrong credentials → 400
    (API.md). The token expires after API_TOKEN_TTL (core/tokens.py)."""

    parser_classes = (FormParser, MultiPartParser, JSONParser)
    serializer_class = TokenInput
    # Per client (the day's pseudonym, core/clients.py), counted with the login page's tries.
    throttle_classes = (ClientThrottle,)
    throttle_scope = "login"  # REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    @extend_schema(auth=[], responses={200: tokens.TokenAnswer})  # open to all: it is the login
    def post(self, request, *args, **kwargs):
        try:
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
        except ValidationError:
            # django-axes refuses a locked-out login inside authenticate(), which Django reports
            # as wrong credentials; axes marks the request it was handed (DRF's wrapper, which
            # its middleware never sees). Answer what API.md promises for a lock-out: 429.
            if getattr(request, "axes_locked_out", False):
                raise AxesBackendPermissionDenied("Locked out.") from None
            raise
        token = tokens.issue(serializer.validated_data["user"])
        return Response({"token": token.key, "expires_at": tokens.expires_at(token)})


# --- the inbox -----------------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request):
    """The user's own notifications, newest first, filtered by kind or unread, and on each page
    the messages of one request together under its reference."""
    filters = InboxFilterForm(request.GET)
    notifications = inboxes.filtered(request.user, **filters.filters())
    page = CappedPaginator(notifications, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    groups = inboxes.grouped(page.object_list)
    # One query for the page's headings, whatever its size; a request the user can no longer
    # see keeps its messages, without its reference.
    ids = [pk for pk, _rows in groups if pk is not None]
    references = dict(
        requests_visible_to(request.user).filter(pk__in=ids).values_list("pk", "reference")
    )
    # The unread count stops one past the cap (notifications.inbox.unread_count).
    cap = pagination.COUNT_CAP
    context = {
        "page": page,
        "groups": [(pk, references.get(pk), rows) for pk, rows in groups],
        "filters": filters,
        "filtered": any(filters.filters().values()),
        "count_cap": cap,
        "capped_label": CappedCount(cap, capped=True).label,
    }
    return render(request, "portal/inbox.html", context)


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


@login_required
@require_http_methods(["GET", "POST"])
def inbox_settings(request):
    """Per kind of message: not at all, the inbox only, e-mail at once, or the daily digest."""
    current = preferences.preferences_of(request.user)
    form = PreferencesForm(
        request.POST or None,
        current=current,
        entrepreneur=request.user.role == Role.ENTREPRENEUR,
    )
    if request.method == "POST" and form.is_valid():
        preferences.set_preferences(request.user, form.changes())
        messages.success(request, _("Your message settings are saved."))
        return redirect("portal:inbox-settings")
    return render(
        request,
        "portal/inbox_settings.html",
        {"form": form, "has_email": bool(request.user.email)},
        status=400 if form.is_bound else 200,
    )


# --- the language switch -------------------------------------------------------------------------


def set_language(request):
    """Django's language switch; for a signed-in user the choice is also saved, so that every
    message written to them from now on (inbox and e-mail) is in that language."""
    response = i18n_views.set_language(request)
    language = request.POST.get(i18n_views.LANGUAGE_QUERY_PARAMETER)
    if request.method == "POST" and request.user.is_authenticated and check_for_language(language):
        profile.save_language(request.user, language)
    return response


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
