"""Standard Webhooks signatures: the specification's published test vector, an independent
verifier written from the specification's text, both secrets during a roll, and secrets sealed
so that only their own endpoint opens them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import pytest

from commands.webhook_endpoints import new_secret
from infra.webhook_secrets import WebhookSecrets, signature, signatures

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID, VECTOR_TS, VECTOR_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'


def spec_verify(secret: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """As the specification says: drop whsec_, base64-decode the rest as the HMAC key, sign
    "{id}.{timestamp}.{body}" with HMAC-SHA256, base64 it, and accept when any space-separated
    v1 entry matches (compared in constant time)."""
    key = base64.b64decode(secret[len("whsec_"):])
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    entries = [e.split(",", 1) for e in header.split(" ")]
    return any(v == "v1" and hmac.compare_digest(s.encode(), expected) for v, s in entries)


def test_the_specification_test_vector_is_reproduced() -> None:
    assert signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def test_an_independent_verifier_accepts_ours_and_refuses_a_changed_body() -> None:
    secret = new_secret()
    header = signature(secret, "msg_1", 1_700_000_000, b'{"a":1}')
    assert spec_verify(secret, "msg_1", "1700000000", b'{"a":1}', header)
    assert not spec_verify(secret, "msg_1", "1700000000", b'{"a":2}', header)
    assert not spec_verify(secret, "msg_1", "1700000001", b'{"a":1}', header)
    assert not spec_verify(new_secret(), "msg_1", "1700000000", b'{"a":1}', header)


def test_during_a_roll_both_secrets_sign_space_separated() -> None:
    new, old = new_secret(), new_secret()
    header = signatures([new, old], "msg_2", 1_700_000_000, b"{}")
    assert len(header.split(" ")) == 2
    assert spec_verify(new, "msg_2", "1700000000", b"{}", header)
    assert spec_verify(old, "msg_2", "1700000000", b"{}", header)


def test_secrets_are_whsec_and_32_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert secret != new_secret()


def test_a_sealed_secret_opens_only_for_its_endpoint_and_its_key() -> None:
    box, endpoint = WebhookSecrets("k" * 32), uuid.uuid4()
    sealed = box.seal("whsec_abc", endpoint)
    assert "whsec_abc" not in sealed
    assert box.open(sealed, endpoint) == "whsec_abc"
    with pytest.raises(ValueError, match="not sealed for"):
        box.open(sealed, uuid.uuid4())
    with pytest.raises(ValueError, match="not sealed for"):
        WebhookSecrets("j" * 32).open(sealed, endpoint)
