"""Who is the client, as far as the portal needs to know: a pseudonym of the day, never an address.

The portal needs to tell clients apart for two things only: throttling logins and locking out a
(user name, client) pair after repeated failures. For that a stable token per client and day is
enough. `ForgetClientMiddleware`, first in the stack, therefore

- takes the client's address from the configured number of trusted proxies
  (`TRUSTED_PROXIES`: 0 for the embedded mode, 1 behind the docker-compose proxy); an
  `X-Forwarded-For` header from anyone else is ignored, so rotating it changes nothing;
- replaces `REMOTE_ADDR` with a keyed hash of that address under a key that is random, kept in
  the cache for the day and then forgotten (shaped as an IPv6 address in fd00::/8, so that
  django-axes and DRF store and compare it like any address);
- drops the user agent and the forwarding headers.

Nothing after it (DRF's throttles, django-axes' failure records, Django's logs, the views) sees
the address or the user agent, so none of it can keep or log them. Once the day's key has
expired, yesterday's pseudonyms cannot be recomputed from an address, even with the secret key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import logging
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

# Headers that identify a client or its software; none of them is needed past this middleware.
_IDENTIFYING_HEADERS = (
    "HTTP_USER_AGENT",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_CLIENT_IP",
    "HTTP_TRUE_CLIENT_IP",
    "HTTP_CF_CONNECTING_IP",
)
_DAY_KEY = "qinqing:client-key:{day}"
_LOCAL_RETRY_SECONDS = 60  # a key made up while the cache was away is used this long at most
_keys: dict[str, tuple[bytes, float]] = {}  # day -> (key, used until) in this process


class CacheUnavailable(Exception):
    """The shared cache (Redis) did not answer: callers degrade instead of failing."""


def client_address(meta: dict) -> str:
    """The client's address: REMOTE_ADDR, or the address the outermost trusted proxy saw.

    Each trusted proxy appends the address it was reached from to X-Forwarded-For, so with N
    trusted proxies the client is the N-th entry from the end (DRF's NUM_PROXIES rule).
    Entries before it were written by the client itself and are ignored.
    """
    remote = meta.get("REMOTE_ADDR") or ""
    proxies = settings.TRUSTED_PROXIES
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    candidate = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def _day() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def day_key() -> bytes:
    """Today's random key, shared by every process through the cache and gone after two days.

    Without the cache, a process makes up a key of its own and asks again a minute later:
    throttles then count per process for that minute, which is better than failing.
    """
    day, now = _day(), time.monotonic()
    held = _keys.get(day)
    if held is not None and now < held[1]:
        return held[0]
    name = _DAY_KEY.format(day=day)
    try:
        cache.add(name, secrets.token_hex(32), timeout=2 * 86400)
        value = cache.get(name)
    except Exception:  # noqa: BLE001 - any cache failure (Redis down) degrades the same way
        value = None
    if value:
        key, until = bytes.fromhex(value), now + 600
    else:
        log.warning("Cache unavailable: client pseudonyms are per process for a minute.")
        key, until = secrets.token_bytes(32), now + _LOCAL_RETRY_SECONDS
    _keys.clear()  # yesterday's key is forgotten in this process too
    _keys[day] = (key, until)
    return key


def pseudonym(address: str) -> str:
    """The day's pseudonym of an address, as an IPv6 address in fd00::/8 (never the address)."""
    digest = hmac.new(day_key(), address.encode(), hashlib.sha256).digest()
    return str(ipaddress.IPv6Address(b"\xfd" + digest[:15]))


def axes_client_ip(request) -> str:
    """django-axes' AXES_CLIENT_IP_CALLABLE: the pseudonym the middleware put in REMOTE_ADDR."""
    return request.META.get("REMOTE_ADDR", "")


class ForgetClientMiddleware:
    """First in the stack: the request's address becomes the day's pseudonym of the client,
    and the user agent and forwarding headers are dropped (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        meta["REMOTE_ADDR"] = pseudonym(client_address(meta))
        for header in _IDENTIFYING_HEADERS:
            meta.pop(header, None)
        return self.get_response(request)


# --- counting hits in fixed windows ------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """DRF's notation: "10/hour", "30/minute", "5/second", "100/day"."""
        count, period = text.split("/")
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
        return cls(int(count), seconds)


def window_of(rate: Rate, now: float | None = None) -> tuple[int, int]:
    """(index of the current window, seconds left in it)."""
    now = time.time() if now is None else now
    index = int(now // rate.seconds)
    return index, max(1, int((index + 1) * rate.seconds - now))


def hit(name: str, rate: Rate) -> tuple[bool, int]:
    """Count one hit of `name` in the current window: (allowed, seconds until the window ends).

    The counter's key names the window and expires with it: no time of any hit is stored, only
    how many there were in this window. Raises CacheUnavailable when the cache does not answer.
    """
    index, left = window_of(rate)
    key = f"qinqing:rate:{name}:{rate.seconds}:{index}"
    try:
        cache.add(key, 0, timeout=left + 1)
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr: a new window has begun
        return True, left
    except Exception as error:  # noqa: BLE001 - Redis down, refused, timed out: all the same
        raise CacheUnavailable from error
    return count <= rate.limit, left
