"""The keys of the tamper evidence, none of them in the database: the HMAC keys that seal the
timeline's events, and the Ed25519 key that signs the daily checkpoints of every timeline.

Someone who can write to the database can rewrite an event and recompute a plain hash chain;
without these keys they cannot make the chain verify again (README, "Tamper evidence").
"""

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,16}$")
MIN_SECRET = 32  # characters: an HMAC-SHA256 key shorter than its output weakens it


class UnknownKey(Exception):
    """An event names a key id the portal was not given (removed from the keyring, or made up)."""


@lru_cache(maxsize=8)
def _parse(raw: str) -> tuple[tuple[str, bytes], ...]:
    pairs: list[tuple[str, bytes]] = []
    for item in re.split(r"[,\n]", raw):
        item = item.strip()
        if not item:
            continue
        key_id, separator, secret = item.partition(":")
        if not separator or not _KEY_ID.match(key_id) or len(secret) < MIN_SECRET:
            raise ImproperlyConfigured(
                "QINQING_TIMELINE_KEY holds id:secret pairs (id: letters, digits, '_', '-' or "
                f"'.', up to 16; secret: at least {MIN_SECRET} characters)"
            )
        if key_id in dict(pairs):
            raise ImproperlyConfigured(f"QINQING_TIMELINE_KEY lists the key id {key_id!r} twice")
        pairs.append((key_id, secret.encode()))
    if not pairs:
        raise ImproperlyConfigured("QINQING_TIMELINE_KEY holds no key")
    return tuple(pairs)


def keyring() -> dict[str, bytes]:
    """{key id: secret}, oldest first; the last one seals new events.

    Without a configured key (development, tests; production refuses to start) the key is
    derived from SECRET_KEY: stable across restarts, and still not in the database.
    """
    raw = settings.TIMELINE_KEYS
    if not raw:
        return {
            "dev": hashlib.sha256(b"qinqing timeline\x00" + settings.SECRET_KEY.encode()).digest()
        }
    return dict(_parse(raw))


def current_key_id() -> str:
    return list(keyring())[-1]


def seal(key_id: str, message: bytes) -> str:
    """HMAC-SHA256 of `message` under the key `key_id`, in hex."""
    secret = keyring().get(key_id)
    if secret is None:
        raise UnknownKey(key_id)
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signing_key() -> Ed25519PrivateKey:
    """The checkpoints' signing key: PEM or the base64 of its 32 raw bytes; derived from
    SECRET_KEY in development (production refuses to start without one)."""
    raw = settings.CHECKPOINT_SIGNING_KEY
    if not raw:
        seed = hashlib.sha256(b"qinqing checkpoint\x00" + settings.SECRET_KEY.encode()).digest()
        return Ed25519PrivateKey.from_private_bytes(seed)
    return _load_signing_key(raw)


@lru_cache(maxsize=4)
def _load_signing_key(raw: str) -> Ed25519PrivateKey:
    try:
        if raw.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(raw.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw, validate=True))
    except ValueError as error:
        raise ImproperlyConfigured(f"QINQING_CHECKPOINT_KEY is not a usable key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("QINQING_CHECKPOINT_KEY must be an Ed25519 private key")
    return key


def public_key_text(key: Ed25519PublicKey | None = None) -> str:
    """The checkpoints' public key as base64 of its 32 raw bytes: what inspectors verify with."""
    key = key or signing_key().public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_key_pem() -> str:
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
