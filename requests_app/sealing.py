"""The keys of the tamper evidence, none of them in the database: the HMAC keys that seal the
timeline's events, and the key that signs the daily checkpoints of every timeline.

Two suites (settings.CRYPTO): "standard" seals with HMAC-SHA256 and signs with Ed25519 (both from
`cryptography`/OpenSSL); "guomi" (国密) seals with HMAC-SM3 (OpenSSL) and signs with SM2 over the
SM3 digest (GB/T 32918.2, the `gmssl` package). A key id says which HMAC sealed an event (ids
starting with "sm3." are HMAC-SM3 keys), so a deployment that switches keeps old events verifiable.

Someone who can write to the database can rewrite an event and recompute a plain hash chain;
without these keys they cannot make the chain verify again (README, "Tamper evidence").
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,16}$")
MIN_SECRET = 32  # characters: an HMAC key shorter than its output (SHA-256, SM3) weakens it
STANDARD, GUOMI = "standard", "guomi"
SM3_PREFIX = "sm3."  # key ids of HMAC-SM3 keys; every other id is an HMAC-SHA256 key


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
        secret = settings.SECRET_KEY.encode()
        return {
            "dev": hashlib.sha256(b"qinqing timeline\x00" + secret).digest(),
            SM3_PREFIX + "dev": hashlib.sha256(b"qinqing timeline sm3\x00" + secret).digest(),
        }
    return dict(_parse(raw))


def guomi() -> bool:
    return settings.CRYPTO == GUOMI


def current_key_id() -> str:
    """The last key of the configured suite: it seals new events."""
    wanted = [key_id for key_id in keyring() if key_id.startswith(SM3_PREFIX) == guomi()]
    if not wanted:
        kind = f"an HMAC-SM3 key (an id starting with {SM3_PREFIX!r})" if guomi() else "a key"
        raise ImproperlyConfigured(f"QINQING_TIMELINE_KEY holds no {kind} for QINQING_CRYPTO")
    return wanted[-1]


def mac(key_id: str) -> "hmac.HMAC":
    """A fresh HMAC under the key `key_id`: HMAC-SM3 for an "sm3." id, else HMAC-SHA256."""
    secret = keyring().get(key_id)
    if secret is None:
        raise UnknownKey(key_id)
    return hmac.new(secret, digestmod="sm3" if key_id.startswith(SM3_PREFIX) else "sha256")


def seal(key_id: str, message: bytes) -> str:
    """The HMAC of `message` under the key `key_id` (see `mac`), in hex."""
    sealer = mac(key_id)
    sealer.update(message)
    return sealer.hexdigest()


def sm3(data: bytes = b"") -> "hashlib._Hash":
    """SM3 (GB/T 32905) from OpenSSL."""
    return hashlib.new("sm3", data)


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
    """The checkpoints' public key, what inspectors verify with: the base64 of the Ed25519 key's
    32 raw bytes, or under guomi of the SM2 point 04||x||y (65 bytes)."""
    if key is None and guomi():
        return base64.b64encode(bytes.fromhex("04" + sm2_key().public_hex)).decode()
    key = key or signing_key().public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_key_pem() -> str:
    if guomi():
        return sm2_public_key_pem(sm2_key().public_hex)
    return (
        signing_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


# --- SM2 (GB/T 32918.2) with SM3, for QINQING_CRYPTO=guomi ----------------------------------------
#
# `gmssl` (pure Python) does the curve arithmetic. Its own nonce helper draws from `random`, not a
# CSPRNG, and its `verify` checks neither the range of r and s nor the signature's length: the
# nonce comes from `secrets` here, and a signature is checked for shape before `verify` sees it.
# Z_A and the digest e = SM3(Z_A || M) are computed here with OpenSSL's SM3.

SM2_USER_ID = b"1234567812345678"  # the default distinguishing identifier (GB/T 35276)
SM2_CURVE = {  # the recommended curve sm2p256v1 (GB/T 32918.5), in gmssl's form
    "n": "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123",
    "p": "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF",
    "g": "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
    "a": "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
    "b": "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
}
# The SubjectPublicKeyInfo of an SM2 key up to its point (curve OID 1.2.156.10197.1.301).
_SM2_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d034200")


@dataclass(frozen=True)
class Sm2Key:
    private_hex: str  # d, 64 hex digits
    public_hex: str  # x || y, 128 hex digits (no 04 prefix)


def _gmssl(private_hex: str, public_hex: str, curve: dict[str, str]):
    try:
        from gmssl.sm2 import CryptSM2
    except ImportError:
        raise ImproperlyConfigured(
            "QINQING_CRYPTO=guomi signs checkpoints with SM2 from the gmssl package: install it "
            "(pip install 'qinqing[guomi]')"
        ) from None
    crypt = CryptSM2(private_hex, "", ecc_table=curve)
    # Set after construction: its constructor strips a leading "04" with str.lstrip, which
    # also eats the first digits of a point whose x starts with 0 or 4.
    crypt.public_key = public_hex.lower()
    return crypt


def sm2_key_from(private_hex: str, curve: dict[str, str] = SM2_CURVE) -> Sm2Key:
    d = int(private_hex, 16)
    if not 1 <= d < int(curve["n"], 16) - 1:
        raise ImproperlyConfigured("QINQING_CHECKPOINT_SM2_KEY is out of range for SM2")
    private_hex = f"{d:064x}"
    public_hex = _gmssl(private_hex, "", curve)._kg(d, curve["g"])
    return Sm2Key(private_hex, public_hex)


def sm2_key() -> Sm2Key:
    """The SM2 checkpoint key: 64 hex digits of d; derived from SECRET_KEY in development
    (production with QINQING_CRYPTO=guomi refuses to start without one)."""
    raw = settings.CHECKPOINT_SM2_KEY
    if not raw:
        seed = hashlib.sha256(b"qinqing checkpoint sm2\x00" + settings.SECRET_KEY.encode())
        n = int(SM2_CURVE["n"], 16)
        raw = f"{int(seed.hexdigest(), 16) % (n - 2) + 1:064x}"
    return _load_sm2_key(raw)


@lru_cache(maxsize=4)
def _load_sm2_key(raw: str) -> Sm2Key:
    if not re.fullmatch(r"[0-9A-Fa-f]{64}", raw):
        raise ImproperlyConfigured("QINQING_CHECKPOINT_SM2_KEY must be 64 hex digits")
    return sm2_key_from(raw)


def sm2_digest(
    public_hex: str,
    message: bytes,
    user_id: bytes = SM2_USER_ID,
    curve: dict[str, str] = SM2_CURVE,
) -> bytes:
    """e = SM3(Z_A || M), Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)."""
    z = sm3(
        (len(user_id) * 8).to_bytes(2, "big")
        + user_id
        + bytes.fromhex(curve["a"] + curve["b"] + curve["g"] + public_hex)
    ).digest()
    return sm3(z + message).digest()


def sm2_sign(
    key: Sm2Key,
    message: bytes,
    curve: dict[str, str] = SM2_CURVE,
    user_id: bytes = SM2_USER_ID,
) -> bytes:
    """The SM2 signature r || s (64 bytes) of `message`, by default with the default user id."""
    crypt = _gmssl(key.private_hex, key.public_hex, curve)
    digest = sm2_digest(key.public_hex, message, user_id, curve)
    n = int(curve["n"], 16)
    while True:  # a nonce that gives r = 0, r + k = n or s = 0 is drawn again (GB/T 32918.2)
        nonce = f"{secrets.randbelow(n - 1) + 1:064x}"
        signature = crypt.sign(digest, nonce)
        if signature:
            return bytes.fromhex(signature)


def sm2_verify(
    public_hex: str,
    signature: bytes,
    message: bytes,
    curve: dict[str, str] = SM2_CURVE,
    user_id: bytes = SM2_USER_ID,
) -> bool:
    """The signature r || s is SM2's over `message` by `public_hex` (x || y, hex)."""
    n = int(curve["n"], 16)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if len(signature) != 64 or not (1 <= r < n and 1 <= s < n):
        return False
    crypt = _gmssl("", public_hex, curve)
    try:
        return bool(crypt.verify(signature.hex(), sm2_digest(public_hex, message, user_id, curve)))
    except (TypeError, ValueError):  # a point at infinity on the way: not a signature
        return False


def sm2_public_key_pem(public_hex: str) -> str:
    der = _SM2_SPKI_PREFIX + bytes.fromhex("04" + public_hex)
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join(["-----BEGIN PUBLIC KEY-----", *lines, "-----END PUBLIC KEY-----", ""])
