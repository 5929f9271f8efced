"""Rate limits in fixed windows (core/clients.py counts), for DRF views and pages alike.

A throttle here never stores when anyone came: a counter per window, whose key expires with the
window. A per-client throttle keys by the day's pseudonym of the client (REMOTE_ADDR after
`ForgetClientMiddleware`), never by its address. When the cache is down every throttle here lets
the request through: the database lock-out (django-axes) still stops password guessing.
"""

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from core.clients import CacheUnavailable, Rate, hit

DEFAULT_RATES = {"login": "30/minute"}


def rate_of(scope: str, default: str | None = None) -> Rate:
    rates = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES", {})
    return Rate.parse(rates.get(scope) or default or DEFAULT_RATES[scope])


def client_allowed(request, scope: str) -> tuple[bool, int]:
    """(allowed, seconds to wait) for this client under `scope`; allowed if the cache is down."""
    try:
        return hit(f"{scope}:{request.META.get('REMOTE_ADDR', '')}", rate_of(scope))
    except CacheUnavailable:
        return True, 0


class ClientThrottle(BaseThrottle):
    """DRF throttle per client (the day's pseudonym) under the view's `throttle_scope`."""

    def allow_request(self, request, view):
        allowed, self._wait = client_allowed(request, view.throttle_scope)
        return allowed

    def wait(self):
        return self._wait
