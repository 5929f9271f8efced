"""Receipts of confidential reports: made to be copied, written down and read aloud.

A receipt is 30 characters from an alphabet with no look-alikes, in six groups of five
(e.g. `7KQ3M-WX9PA-…`): no 0/O, no 1/I/L, no U (Crockford's reason: no accidental words).
30 characters of 30 symbols carry 147 bits, at least the 144 bits of the receipts issued
before (`secrets.token_urlsafe(18)`). What a person types is normalised: case, spaces, and
missing or extra dashes do not matter, nor full-width characters from a Chinese input method.

The database never holds a receipt: only its keyed digest (`digest`, HMAC-SHA256 under
settings.RECEIPT_KEY over the receipt as issued) and a short non-secret `hint` for support. Whoever
reads the database cannot act as the reporter; the reporter sees the receipt once, at filing. A
receipt of the old format still finds its report when it is typed exactly as it was given.
"""

import math
import re
import secrets
import unicodedata

from django.conf import settings
from django.utils.crypto import salted_hmac

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 30
GROUP = 5
# Strength today, and of the old receipts (18 random bytes): the new format may not be weaker.
BITS = LENGTH * math.log2(len(ALPHABET))
OLD_BITS = 18 * 8
# What was issued before: URL-safe base64 of 18 bytes, always 24 characters, case-sensitive.
_OLD = re.compile(r"[A-Za-z0-9_-]{24}")
# Spaces and every kind of dash a keyboard or an input method may produce.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc]+")
_VALID = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")
# A bound on what is worth normalising: a receipt with a separator between every character.
MAX_INPUT = 2 * LENGTH + 20


def new() -> str:
    """A fresh receipt, grouped: `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return grouped(symbols)


def grouped(symbols: str) -> str:
    return "-".join(symbols[i : i + GROUP] for i in range(0, len(symbols), GROUP))


def normalise(text: str) -> str | None:
    """The receipt `text` stands for in the current format, grouped; None if it cannot be one."""
    if not text or len(text) > MAX_INPUT:
        return None
    plain = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    return grouped(plain) if _VALID.fullmatch(plain) else None


def candidates(text: str) -> list[str]:
    """The stored receipts `text` may be: the current format normalised, and an old receipt
    typed exactly (old receipts are case-sensitive and may contain dashes of their own)."""
    found = []
    if (current := normalise(text)) is not None:
        found.append(current)
    stripped = (text or "").strip()
    if _OLD.fullmatch(stripped):
        found.append(stripped)
    return found


# What tells these digests from any other HMAC made with the same key.
_DIGEST_SALT = "qinqing.compliance.receipts"
# The first group: 5 of 30 symbols (25 bits) leave 122 bits unknown, and let support tell
# reports apart when a reporter reads the start of their receipt aloud.
HINT_LENGTH = GROUP


def digest(receipt: str) -> str:
    """The stored form of a receipt as issued (or as `candidates` gives it): 64 hex digits."""
    return salted_hmac(
        _DIGEST_SALT, receipt, secret=settings.RECEIPT_KEY, algorithm="sha256"
    ).hexdigest()


def hint(receipt: str) -> str:
    """The receipt's first symbols: too few to open anything, enough to talk about it."""
    return receipt[:HINT_LENGTH]


def candidate_digests(text: str) -> list[str]:
    """The digests a stored report may have if `text` is its receipt."""
    return [digest(candidate) for candidate in candidates(text)]
