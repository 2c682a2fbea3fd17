"""The RS256 signing key ring: keys in PostgreSQL (private halves sealed with AES-GCM under a
key derived from ENCRYPTION_KEY), rotation, and the published JWKS.

API processes hold the ring in memory (loaded at startup, reloaded on a Redis message and
periodically), so verifying a token never touches the database. A retired key stays published,
and keeps verifying, until every access token it signed has expired.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CHANNEL = "signing_keys"
# Only for development and tests; production refuses to start without ENCRYPTION_KEY.
DEV_ENCRYPTION_KEY = "chronicle-development-encryption-key"
DDL = ("CREATE TABLE IF NOT EXISTS signing_keys ("
       " kid text PRIMARY KEY, public_pem text NOT NULL, private_sealed bytea NOT NULL,"
       " created_at timestamptz NOT NULL, retired_at timestamptz)")
_LOCK = 0x5167_4B45  # pg advisory lock: one rotation at a time across processes
_COLUMNS = "kid, public_pem, private_sealed, created_at, retired_at"


def sealing_key(encryption_key: str, purpose: bytes = b"chronicle signing keys v1") -> bytes:
    """The AES-256 key for private keys at rest (another ``purpose``: another key), derived so
    ENCRYPTION_KEY is never used raw."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=purpose).derive(encryption_key.encode())


def seal(key: bytes, kid: str, plaintext: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, kid.encode())


def unseal(key: bytes, kid: str, sealed: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], kid.encode())


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public: rsa.RSAPublicKey
    created_at: datetime
    retired_at: datetime | None
    private: rsa.RSAPrivateKey | None = None  # loaded for the current key only

    def jwk(self) -> dict[str, str]:
        numbers = self.public.public_numbers()
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": _b64(numbers.n), "e": _b64(numbers.e)}


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rotate(conn: psycopg.Connection[Any], encryption_key: str, now: datetime) -> str:
    """A new current key; the others are retired now (they keep verifying until their tokens
    expire). Returns the new kid."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = f"{now:%Y%m%d%H%M%S}-{os.urandom(4).hex()}"
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        conn.execute("UPDATE signing_keys SET retired_at = %s WHERE retired_at IS NULL", (now,))
        conn.execute("INSERT INTO signing_keys (kid, public_pem, private_sealed, created_at)"
                     " VALUES (%s, %s, %s, %s)",
                     (kid, public.decode(), seal(sealing_key(encryption_key), kid, pem), now))
    return kid


def ensure_current(conn: psycopg.Connection[Any], encryption_key: str, now: datetime,
                   rotation_days: int) -> str | None:
    """Rotate when there is no current key or it is older than ``rotation_days``; the kid made,
    or None. Safe to call from every process at once: the advisory lock serialises them."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        row = conn.execute("SELECT max(created_at) FROM signing_keys WHERE retired_at IS NULL"
                           ).fetchone()
        newest = row[0] if row else None
        if newest is not None and now - newest < timedelta(days=rotation_days):
            return None
        return rotate(conn, encryption_key, now)


def load(conn: psycopg.Connection[Any], encryption_key: str, now: datetime,
         keep_retired: timedelta, known: list[SigningKey] | None = None) -> list[SigningKey]:
    """Keys that still sign or verify, newest first; only the current one's private half is
    decrypted. A key in ``known`` with the same row is taken as it is, not parsed again."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM signing_keys WHERE retired_at IS NULL OR retired_at > %s"
        " ORDER BY created_at DESC", (now - keep_retired,)).fetchall()
    return _keys(rows, encryption_key, {k.kid: k for k in known or ()})


def _keys(rows: list[tuple[Any, ...]], encryption_key: str,
          known: dict[str, SigningKey]) -> list[SigningKey]:
    keys: list[SigningKey] = []
    sealer = sealing_key(encryption_key)
    for kid, public_pem, sealed, created_at, retired_at in rows:
        signs = retired_at is None and not keys
        had = known.get(kid)
        if had is not None and had.retired_at == retired_at and (had.private is not None) == signs:
            keys.append(had)
            continue
        public = serialization.load_pem_public_key(public_pem.encode())
        assert isinstance(public, rsa.RSAPublicKey)
        private = None
        if signs:
            # Our own key, sealed with AES-GCM (so unaltered): the RSA consistency check
            # cryptography runs by default took ~0.3 s of CPU, on every periodic reload.
            loaded = serialization.load_pem_private_key(
                unseal(sealer, kid, bytes(sealed)), None, unsafe_skip_rsa_key_validation=True)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            private = loaded
        keys.append(SigningKey(kid, public, created_at, retired_at, private))
    return keys


@dataclass
class KeyRing:
    """The in-memory ring one process signs and verifies with; ``keep_retired`` is how long
    a retired key outlives its retirement (the longest access token lifetime plus leeway)."""

    database_url: str
    encryption_key: str
    keep_retired: timedelta
    rotation_days: int
    keys: list[SigningKey] = field(default_factory=list)

    def refresh(self, now: datetime, *, rotate_if_due: bool = True) -> bool:
        """Reload from the database (rotating first if the current key is due); True when a
        key was made, so other processes should be told."""
        with psycopg.connect(self.database_url, autocommit=True, connect_timeout=5) as conn:
            made = ensure_current(conn, self.encryption_key, now, self.rotation_days) \
                if rotate_if_due else None
            self.keys = load(conn, self.encryption_key, now, self.keep_retired, self.keys)
        return made is not None

    @property
    def current(self) -> SigningKey:
        if not self.keys or self.keys[0].private is None:
            raise LookupError("no current signing key; run `chronicle keys rotate`")
        return self.keys[0]

    def published(self, now: datetime) -> list[SigningKey]:
        return [k for k in self.keys
                if k.retired_at is None or k.retired_at + self.keep_retired > now]

    def public(self, kid: str, now: datetime) -> SigningKey | None:
        return next((k for k in self.published(now) if k.kid == kid), None)

    def jwks(self, now: datetime) -> dict[str, list[dict[str, str]]]:
        return {"keys": [k.jwk() for k in self.published(now)]}
