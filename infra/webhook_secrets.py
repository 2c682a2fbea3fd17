"""Webhook signing secrets: sealed for the event store with the signing keys' AES-GCM helper
(infra/signing.py) under a key of their own derived from ENCRYPTION_KEY, the endpoint's id as
associated data; and the Standard Webhooks signature they make."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from uuid import UUID

from cryptography.exceptions import InvalidTag

from infra.signing import seal, sealing_key, unseal

PREFIX = "whsec_"


class WebhookSecrets:
    """The ``Sealer`` port for webhook endpoints."""

    def __init__(self, encryption_key: str) -> None:
        self.key = sealing_key(encryption_key, b"chronicle webhook secrets v1")

    def seal(self, plaintext: str, owner: UUID) -> str:
        return base64.b64encode(seal(self.key, str(owner), plaintext.encode())).decode()

    def open(self, sealed: str, owner: UUID) -> str:
        try:
            return unseal(self.key, str(owner), base64.b64decode(sealed)).decode()
        except (InvalidTag, ValueError) as exc:
            raise ValueError(f"this secret was not sealed for endpoint {owner}") from exc


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``id.timestamp.body`` under the secret's key bytes."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(mac).decode()}"


def signatures(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: one signature per signing secret, space-separated."""
    return " ".join(signature(s, msg_id, timestamp, body) for s in secrets)
