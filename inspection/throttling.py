"""Throttling confidential reports without anything that points to a person.

A per-client limit needs a per-client key, and any such key (an address, a user id, a keyed hash
of either) together with the time of the report is a way back to the reporter. So nothing here
knows the client. Instead:

- a proof-of-work stamp: the filer's browser (or API client) finds a nonce such that
  SHA-256("<challenge>:<nonce>") starts with `CONFIDENTIAL_REPORT_STAMP_BITS` zero bits. The
  challenge names the hour and is signed by the portal, so stamps cannot be made days ahead, and
  a stamp counts once (its hash is remembered until the challenge expires). A flood costs the
  flooder CPU per report, not the other reporters their turn;
- a global rate per window: stamped reports share a generous one, reports without a stamp (an
  API client that does not compute one, a browser without JavaScript) a strict one;
- a counter per window whose key expires with the window: no time of any report is kept.

When the cache (Redis) is down, a stamped report is still accepted (the stamp is checked without
the cache; its reuse is remembered by this process alone), and a report without one is answered
503 with Retry-After: the strict rate cannot be counted, and an unthrottled door would let a
flood through.
"""

import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from core.clients import CacheUnavailable, Rate, hit

CHALLENGE_SECONDS = 3600  # a challenge names an hour; a stamp is good in that hour and the next
DEFAULT_STAMP_BITS = 20  # about a million hashes: a second or so in a browser
DEFAULT_RATES = {
    "confidential_report": "120/hour",  # stamped reports, all clients together
    "confidential_report_unstamped": "20/hour",  # without a stamp, all clients together
    "confidential_status": "600/minute",  # receipt look-ups; receipts are unguessable
}
UNAVAILABLE_RETRY_SECONDS = 60
_PURPOSE = "qinqing.confidential-report-challenge"
_STAMP = re.compile(r"^(?P<window>\d{1,12})-(?P<mac>[0-9a-f]{16}):(?P<nonce>[0-9A-Za-z]{1,32})$")
_used_here: dict[str, int] = {}  # stamp digest -> window, while the cache is down


@dataclass(frozen=True)
class Verdict:
    """What to answer: ok, invalid (400 on `stamp`), throttled (429) or unavailable (503)."""

    outcome: str
    message: str = ""
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def stamp_bits() -> int:
    return getattr(settings, "CONFIDENTIAL_REPORT_STAMP_BITS", DEFAULT_STAMP_BITS)


def _rate(scope: str) -> Rate:
    rates = getattr(settings, "REST_FRAMEWORK", {}).get("DEFAULT_THROTTLE_RATES", {})
    return Rate.parse(rates.get(scope) or DEFAULT_RATES[scope])


def _mac(window: int) -> str:
    return salted_hmac(_PURPOSE, str(window), algorithm="sha256").hexdigest()[:16]


def challenge(now: float | None = None) -> dict:
    """The current challenge, the work it asks for and how long it stays good (seconds)."""
    now = time.time() if now is None else now
    window = int(now // CHALLENGE_SECONDS)
    expires_in = int((window + 2) * CHALLENGE_SECONDS - now)
    return {"challenge": f"{window}-{_mac(window)}", "bits": stamp_bits(), "expires_in": expires_in}


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte:
            return bits + 8 - byte.bit_length()
        bits += 8
    return bits


def _stamp_error(stamp: str, now: float) -> str:
    """Why the stamp is no good, or "" if it is."""
    match = _STAMP.match(stamp)
    if match is None:
        return _("The stamp is malformed: expected <challenge>:<nonce>.")
    window = int(match["window"])
    current = int(now // CHALLENGE_SECONDS)
    if window not in (current, current - 1) or not constant_time_compare(
        match["mac"], _mac(window)
    ):
        return _("The stamp's challenge has expired or is not ours: fetch a new one.")
    if leading_zero_bits(hashlib.sha256(stamp.encode()).digest()) < stamp_bits():
        return _("The stamp does not carry enough work.")
    return ""


def _first_use(stamp: str, now: float) -> bool:
    """Record the stamp's use until its challenge expires; False if it was used before."""
    digest = hashlib.sha256(stamp.encode()).hexdigest()
    window = int(now // CHALLENGE_SECONDS)
    try:
        return bool(cache.add(f"qinqing:stamp:{digest}", 1, timeout=2 * CHALLENGE_SECONDS))
    except Exception:  # noqa: BLE001 - the cache is down: remember it in this process
        for old in [key for key, seen in _used_here.items() if seen < window - 1]:
            del _used_here[old]
        if digest in _used_here:
            return False
        _used_here[digest] = window
        return True


def admit_report(stamp: str | None) -> Verdict:
    """May a report be filed now? Checks the stamp, then counts it in its global window."""
    now = time.time()
    if stamp:
        error = _stamp_error(stamp, now)
        if not error and not _first_use(stamp, now):
            error = _("This stamp was already used: compute a new one.")
        if error:
            return Verdict("invalid", error)
        scope = "confidential_report"
    else:
        scope = "confidential_report_unstamped"
    try:
        allowed, wait = hit(scope, _rate(scope))
    except CacheUnavailable:
        if stamp:
            return Verdict("ok")
        return Verdict(
            "unavailable",
            _("Reports without a stamp cannot be taken right now. Please try again shortly."),
            UNAVAILABLE_RETRY_SECONDS,
        )
    if not allowed:
        return Verdict(
            "throttled",
            _("Too many reports right now, from everyone together: please send it again later."),
            wait,
        )
    return Verdict("ok")


def admit_status_lookup() -> Verdict:
    """Receipt look-ups, all clients together; let through when the cache is down."""
    try:
        allowed, wait = hit("confidential_status", _rate("confidential_status"))
    except CacheUnavailable:
        return Verdict("ok")
    return Verdict("ok") if allowed else Verdict("throttled", _("Too many look-ups."), wait)


def make_stamp(challenge_text: str, bits: int) -> str:
    """Compute a stamp (what the page's script and an API client do); for tests and clients.

    The search starts at a random nonce, so that two stamps of one challenge differ.
    """
    nonce = secrets.randbits(40)
    while True:
        stamp = f"{challenge_text}:{nonce:x}"
        if leading_zero_bits(hashlib.sha256(stamp.encode()).digest()) >= bits:
            return stamp
        nonce += 1
