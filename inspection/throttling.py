"""Throttling confidential reports without identifying their reporters, even in the cache.

DRF's throttles key the cache by the user's id or, for a logged-out client, by the IP address
in clear text: the cache (Redis in production) would then hold "this address filed a report at
these times" for the length of the window. An anonymous report must leave no IP address anywhere,
so the key here is a keyed hash (HMAC with the site's secret key and a purpose of its own) of the
address, or of the user id for a logged-in reporter, who may be filing anonymously too. The same
client still maps to the same key, which is all a rate limit needs, while the key cannot be
turned back into an address without the secret. The cache entry expires with the window.
"""

from django.conf import settings
from django.utils.crypto import salted_hmac
from rest_framework.throttling import ScopedRateThrottle

# Defaults when the settings do not name a rate for the scope (DRF's DEFAULT_THROTTLE_RATES).
DEFAULT_RATES = {
    "confidential_report": "10/hour",  # honest reporters file a few; a flood is refused (429)
    "confidential_status": "60/minute",  # receipts are unguessable; this stops blind probing
}
_PURPOSE = "qinqing.confidential-report-throttle"


class PseudonymousScopedThrottle(ScopedRateThrottle):
    """A scoped throttle whose cache key is an HMAC of the client, never the client itself."""

    def get_rate(self):
        rates = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES", {})
        return rates.get(self.scope) or DEFAULT_RATES[self.scope]

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            who = f"user:{user.pk}"
        else:
            who = f"ip:{self.get_ident(request)}"
        pseudonym = salted_hmac(_PURPOSE, who, algorithm="sha256").hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": pseudonym}


class ScopeOf:
    """Stands in for a DRF view when a page view asks the throttle (it only reads the scope)."""

    def __init__(self, scope: str):
        self.throttle_scope = scope


def allowed(request, scope: str) -> bool:
    """For page views: may this client go ahead under `scope`? (records the hit if so)"""
    return PseudonymousScopedThrottle().allow_request(request, ScopeOf(scope))
