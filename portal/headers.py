"""Response headers every answer carries: what the browser may use, and what nobody may cache."""

from django.conf import settings
from django.http import FileResponse
from django.utils.cache import patch_cache_control


class ResponseHeadersMiddleware:
    """`Permissions-Policy` on every answer; `Cache-Control: no-store` on every answer given to
    a signed-in user or an API token, and on every download.

    A shared cache (a proxy, a CDN) or the browser's disk must never keep a request's details,
    a confidential report or an export for the next person at the same machine. It sits above
    WhiteNoise so the static files get the permissions policy too; they stay cacheable because
    they are answered before the session is read.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if _personal(request) or _download(response):
            # no-store alone is enough for a conforming cache; private covers older proxies.
            patch_cache_control(response, no_store=True, private=True)
            response.headers.pop("Expires", None)
        return response


def _personal(request) -> bool:
    # DRF sets the token's user on the Django request too, so the API's answers count here.
    user = getattr(request, "user", None)
    return bool(
        (user is not None and user.is_authenticated) or request.headers.get("Authorization")
    )


def _download(response) -> bool:
    disposition = response.headers.get("Content-Disposition", "")
    return isinstance(response, FileResponse) or disposition.startswith("attachment")
