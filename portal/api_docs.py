"""Who may read the API's schema and docs: anyone outside production, signed-in users in it.

API_DOCS_PUBLIC (portal/settings.py) decides, read on every request. The schema answers 401/403
to the anonymous (API clients can present a token); the docs page sends them to the login page.
"""

import functools

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from rest_framework.permissions import BasePermission


class DocsAccess(BasePermission):
    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)


def api_docs(request, *args, **kwargs):
    if not settings.API_DOCS_PUBLIC and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _swagger()(request, *args, **kwargs)


@functools.cache
def _swagger():
    # Imported late: drf-spectacular's views read SERVE_PERMISSIONS, i.e. DocsAccess, above.
    from drf_spectacular.views import SpectacularSwaggerSplitView

    return SpectacularSwaggerSplitView.as_view(url_name="schema")
