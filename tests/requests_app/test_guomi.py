"""国密 (issue 13): QINQING_CRYPTO=guomi seals events with HMAC-SM3, builds the checkpoints' Merkle
tree with SM3 and signs them with SM2; switching from the standard suite keeps what it sealed and
signed verifiable. The SM3 and SM2 checks use the published vectors (GB/T 32905, GB/T 32918.2)."""

import base64
import datetime as dt
import hashlib
import json
import shutil
import subprocess
from io import StringIO

import pytest
from Cryptodome.Util.asn1 import DerSequence
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from django.core.management import call_command
from django.db import connection
from django.utils import translation

from requests_app import checkpoints, sealing
from requests_app.checkpoints import verify_chain
from requests_app.models import GENESIS_HASH, RequestEvent, TimelineHead, event_message
from requests_app.timeline import NewEvent, append_event, append_many
from tests.portal.test_security import PRODUCTION_ENV, _manage

pytestmark = pytest.mark.django_db

EVENTS = connection.ops.quote_name(RequestEvent._meta.db_table)


@pytest.fixture(autouse=True)
def _own_checkpoints(settings, tmp_path):
    settings.CHECKPOINT_DIR = tmp_path / "checkpoints"
    with translation.override("en"):
        yield


@pytest.fixture
def guomi(settings):
    settings.CRYPTO = "guomi"
    return settings


def said(service_request) -> list[str]:
    with translation.override("en"):
        return verify_chain(service_request).messages


# --- the primitives against published vectors ----------------------------------------------------


def test_sm3_of_abc_is_the_standard_vector():
    expected = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sealing.sm3(b"abc").hexdigest() == expected
    digest = hashes.Hash(hashes.SM3())
    digest.update(b"abc")
    assert digest.finalize().hex() == expected


def test_hmac_sm3_agrees_with_cryptography():
    key_id = sealing.SM3_PREFIX + "dev"
    other = crypto_hmac.HMAC(sealing.keyring()[key_id], hashes.SM3())
    other.update(b"a message")
    assert sealing.seal(key_id, b"a message") == other.finalize().hex()
    assert sealing.seal("dev", b"a message") != sealing.seal(key_id, b"a message")


# GB/T 32918.2-2016 appendix A.2 (the same example as GM/T 0003.2-2012): a 256-bit test curve,
# user id ALICE123@YAHOO.COM, message "message digest".
EXAMPLE_CURVE = {
    "p": "8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3",
    "a": "787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498",
    "b": "63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A",
    "n": "8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7",
    "g": "421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D"
    "0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2",
}
ALICE = b"ALICE123@YAHOO.COM"
EXAMPLE_D = "128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263"
EXAMPLE_PUBLIC = (
    "0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A"
    "7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857"
)
EXAMPLE_K = "6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F"
EXAMPLE_E = "B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76"
EXAMPLE_R = "40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1"
EXAMPLE_S = "6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7"


def test_sm2_signs_the_gbt_32918_example(monkeypatch):
    key = sealing.sm2_key_from(EXAMPLE_D, EXAMPLE_CURVE)
    assert key.public_hex.upper() == EXAMPLE_PUBLIC
    digest = sealing.sm2_digest(key.public_hex, b"message digest", ALICE, EXAMPLE_CURVE)
    assert digest.hex().upper() == EXAMPLE_E
    # The example's nonce, through the one place a nonce comes from (`secrets`).
    monkeypatch.setattr(sealing.secrets, "randbelow", lambda n: int(EXAMPLE_K, 16) - 1)
    signature = sealing.sm2_sign(key, b"message digest", EXAMPLE_CURVE, ALICE)
    assert signature.hex().upper() == EXAMPLE_R + EXAMPLE_S
    assert sealing.sm2_verify(key.public_hex, signature, b"message digest", EXAMPLE_CURVE, ALICE)
    assert not sealing.sm2_verify(key.public_hex, signature, b"message digest", EXAMPLE_CURVE)


def test_sm2_round_trips_and_refuses_what_it_did_not_sign():
    key = sealing.sm2_key()
    signature = sealing.sm2_sign(key, b"checkpoint 1")
    assert len(signature) == 64
    assert sealing.sm2_verify(key.public_hex, signature, b"checkpoint 1")
    assert sealing.sm2_sign(key, b"checkpoint 1") != signature  # a fresh nonce each time
    assert not sealing.sm2_verify(key.public_hex, signature, b"checkpoint 2")
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    assert not sealing.sm2_verify(key.public_hex, flipped, b"checkpoint 1")
    n = bytes.fromhex(sealing.SM2_CURVE["n"])
    for forged in (b"", signature[:63], bytes(64), signature[:32] + n, signature[:32] + bytes(32)):
        assert not sealing.sm2_verify(key.public_hex, forged, b"checkpoint 1")
    other = sealing.sm2_key_from("1" * 64)
    assert not sealing.sm2_verify(other.public_hex, signature, b"checkpoint 1")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_openssl_verifies_the_portal_s_sm2_signatures(tmp_path):
    """An inspector without Python checks a checkpoint with OpenSSL (SM3, default user id)."""
    key = sealing.sm2_key()
    signature = sealing.sm2_sign(key, b"checkpoint line")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    (tmp_path / "sig.der").write_bytes(DerSequence([r, s]).encode())
    (tmp_path / "key.pem").write_text(sealing.sm2_public_key_pem(key.public_hex))

    def openssl_verifies(message: bytes) -> bool:
        (tmp_path / "message").write_bytes(message)
        command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "key.pem", "-rawin"]
        command += ["-in", "message", "-sigfile", "sig.der", "-digest", "sm3"]
        command += ["-pkeyopt", "distid:1234567812345678"]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
        return "Signature Verified Successfully" in result.stdout

    assert openssl_verifies(b"checkpoint line")
    assert not openssl_verifies(b"checkpoint linf")


# --- sealed events -------------------------------------------------------------------------------


def test_a_timeline_sealed_under_guomi_verifies(guomi, request_in):
    service_request = request_in("closed")
    assert set(service_request.events.values_list("key_id", flat=True)) == {"sm3.dev"}
    assert verify_chain(service_request).ok


def test_a_changed_note_under_guomi_fails(guomi, request_in):
    service_request = request_in("closed")
    third = service_request.events.get(seq=3)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {EVENTS} SET note = %s WHERE id = %s", ["Never.", third.pk])
    check = verify_chain(service_request)
    assert check.ok is False
    assert said(service_request) == ["Event #3's content was changed."]


@pytest.mark.parametrize("plain", ["sha256", "sm3"])
def test_a_chain_recomputed_without_the_key_under_guomi_fails(guomi, request_in, plain):
    """The insider knows the algorithm, not the key: a plain SHA-256 or SM3 chain fails."""
    service_request = request_in("closed")
    RequestEvent.objects.filter(request=service_request, seq=2).update(note="Never.")
    prev_hash = GENESIS_HASH
    for event in RequestEvent.objects.filter(request=service_request).order_by("seq"):
        if event.seq >= 2:
            message = event_message(prev_hash, **event.hashed_fields())
            digest = hashlib.new(plain, message).hexdigest()
            RequestEvent.objects.filter(pk=event.pk).update(prev_hash=prev_hash, hash=digest)
            event.hash = digest
        prev_hash = event.hash
    TimelineHead.objects.filter(request=service_request).update(hash=prev_hash)
    check = verify_chain(service_request)
    assert check.ok is False
    assert check.first_bad_event == service_request.events.get(seq=2).pk


def test_switching_standard_to_guomi_keeps_old_events_verifiable(settings, cast, request_in):
    settings.TIMELINE_KEYS = "old:" + "o" * 40 + ",sm3.new:" + "n" * 40
    service_request = request_in("assigned")
    assert set(service_request.events.values_list("key_id", flat=True)) == {"old"}
    settings.CRYPTO = "guomi"
    later = service_request.events.order_by("seq").last().created_at + dt.timedelta(hours=1)
    event = append_event(service_request, action="comment", actor=cast.hank, now=later)
    append_many([NewEvent(service_request.pk, "reminder", service_request.status)], later)
    assert list(service_request.events.order_by("seq").values_list("key_id", flat=True))[-2:] == [
        "sm3.new",
        "sm3.new",
    ]
    assert event.key_id == "sm3.new"
    assert verify_chain(service_request).ok
    settings.CRYPTO = "standard"  # and back: every event still verifies with its own key
    assert verify_chain(service_request).ok


def test_guomi_without_an_sm3_key_seals_nothing(guomi, request_in):
    guomi.TIMELINE_KEYS = "old:" + "o" * 40
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="HMAC-SM3 key"):
        sealing.current_key_id()


# --- checkpoints -------------------------------------------------------------------------------


def _sm3_reference_root(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.new("sm3", b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    left, right = _sm3_reference_root(leaves[:split]), _sm3_reference_root(leaves[split:])
    return hashlib.new("sm3", b"\x01" + left + right).digest()


@pytest.mark.parametrize("count", [0, 1, 3, 8, 13])
def test_the_sm3_merkle_root_is_rfc_6962_with_sm3(count):
    leaves = [checkpoints.leaf_hash(k, k + 1, f"{k:064x}", "sm3") for k in range(count)]
    tree = checkpoints.MerkleRoot("sm3")
    for leaf in leaves:
        tree.add(leaf)
    assert tree.hexdigest() == _sm3_reference_root(leaves).hex()
    if count:
        assert tree.hexdigest() != checkpoints.MerkleRoot().hexdigest()


def test_a_checkpoint_signed_with_sm2_verifies_and_fails_when_altered(guomi, cast, api, request_in):
    service_request = request_in("closed")
    call_command("checkpoint")
    log = checkpoints.folder() / checkpoints.LOG_NAME
    record = json.loads(log.read_text().splitlines()[-1])
    assert record["algorithm"] == "sm2-sm3"
    head = TimelineHead.objects.get(request=service_request)
    leaf = checkpoints.leaf_hash(service_request.pk, head.seq, head.hash, "sm3")
    assert record["root"] == leaf.hex()  # one leaf: the root is the SM3 leaf hash
    # Anyone with the printed public key checks the signature.
    out = StringIO()
    call_command("checkpoint", "--public-key", stdout=out)
    assert "-----BEGIN PUBLIC KEY-----" in out.getvalue()
    point = base64.b64decode(out.getvalue().rsplit("raw (base64): ", 1)[1].strip())
    assert len(point) == 65 and point[0] == 4
    signed = {name: record[name] for name in checkpoints.SIGNED_FIELDS}
    message = json.dumps(signed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    signature = base64.b64decode(record["signature"])
    assert sealing.sm2_verify(point[1:].hex(), signature, message.encode())
    assert checkpoints.signature_ok(record)
    assert checkpoints.checkpoint_problems(record) == []
    assert verify_chain(service_request).ok
    # Altered: the line no longer verifies, and the chain checked against it says so.
    assert not checkpoints.signature_ok({**record, "requests": 2})
    assert not checkpoints.signature_ok({**record, "root": "0" * 64})
    assert not checkpoints.signature_ok({**record, "algorithm": "ed25519"})
    log.write_text(json.dumps({**record, "requests": 2}) + "\n")
    assert verify_chain(service_request).ok is False
    assert "does not carry the portal's signature" in said(service_request)[0]


def test_switching_keeps_old_checkpoints_verifiable(settings, cast, api, request_in):
    request_in("closed")
    first = checkpoints.create()
    settings.CRYPTO = "guomi"
    second = checkpoints.create()
    assert (first["algorithm"], second["algorithm"]) == ("ed25519", "sm2-sm3")
    assert first["root"] != second["root"]  # the same heads under SHA-256 and under SM3
    assert checkpoints.signature_ok(first) and checkpoints.signature_ok(second)
    assert checkpoints.checkpoint_problems(first) == []
    assert checkpoints.checkpoint_problems(second) == []
    body = api(cast.ivan).get("/api/v1/timeline/checkpoints/").json()
    assert [(line["algorithm"], line["signature_ok"]) for line in body["results"]] == [
        ("sm2-sm3", True),
        ("ed25519", True),
    ]


# --- production ----------------------------------------------------------------------------------

GUOMI_ENV = {
    **PRODUCTION_ENV,
    "QINQING_CRYPTO": "guomi",
    "QINQING_TIMELINE_KEY": PRODUCTION_ENV["QINQING_TIMELINE_KEY"]
    + ",sm3.k2:another-test-timeline-key-long-enough-0123456789",
    "QINQING_CHECKPOINT_SM2_KEY": "3945208f7b2144b1" * 4,
}


def test_production_starts_under_guomi_with_its_keys():
    result = _manage("check", **GUOMI_ENV)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "change, message",
    [
        ({"QINQING_CHECKPOINT_SM2_KEY": ""}, "needs QINQING_CHECKPOINT_SM2_KEY"),
        ({"QINQING_TIMELINE_KEY": PRODUCTION_ENV["QINQING_TIMELINE_KEY"]}, "HMAC-SM3 key"),
        ({"QINQING_CRYPTO": "sm9"}, "QINQING_CRYPTO must be one of"),
    ],
)
def test_production_refuses_guomi_without_its_keys(change, message):
    result = _manage("check", **{**GUOMI_ENV, **change})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_refuses_guomi_without_gmssl(tmp_path):
    # sys.modules["gmssl"] = None makes the package unimportable, as if it were not installed.
    (tmp_path / "sitecustomize.py").write_text('import sys\nsys.modules["gmssl"] = None\n')
    result = _manage("check", **GUOMI_ENV, PYTHONPATH=str(tmp_path))
    assert result.returncode != 0
    assert "needs the gmssl package" in result.stderr
