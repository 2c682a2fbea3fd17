"""Credentials: argon2id password hashes, signed mail tokens, TOTP (RFC 6238) and the AES-GCM
box two-factor secrets are stored in. Everything but the hashes' salts and the fresh secrets is
deterministic given its inputs. The use cases get them through their Credentials port
(commands/ports.py), which ``Credentials`` implements; their tests may then skip argon2's time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from datetime import datetime, timedelta
from typing import NamedTuple
from urllib.parse import quote
from uuid import UUID

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.user.rules import INVITE as INVITE
from domain.user.rules import VERIFY as VERIFY

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Verified against when the email is unknown, so both answers take an argon2 verification.
_DUMMY = _hasher.hash("chronicle-dummy-password")
TOKEN_TTL = timedelta(hours=72)
TOTP_STEP, TOTP_DIGITS, TOTP_WINDOW = 30, 6, 1


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


# Mail tokens: HMAC-SHA256(API_SECRET, purpose, user, email, version, expiry). Nothing is stored:
# the mailer derives the token from the event, the endpoint recomputes it and compares.

class Token(NamedTuple):
    purpose: str
    user_id: UUID
    version: int
    expires: int  # unix seconds


def _mac(secret: str, token: Token, email: str) -> str:
    message = f"{token.purpose}\n{token.user_id}\n{email}\n{token.version}\n{token.expires}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def make_token(secret: str, purpose: str, user_id: UUID, email: str, version: int,
               issued_at: datetime) -> str:
    token = Token(purpose, user_id, version, int((issued_at + TOKEN_TTL).timestamp()))
    return f"{purpose}.{user_id.hex}.{version}.{token.expires}.{_mac(secret, token, email)}"


def parse_token(raw: str) -> tuple[Token, str] | None:
    parts = raw.split(".")
    if len(parts) != 5 or len(raw) > 200:
        return None
    purpose, user_hex, version, expires, mac = parts
    try:
        return Token(purpose, UUID(hex=user_hex), int(version), int(expires)), mac
    except ValueError:
        return None


def token_valid(secret: str, token: Token, mac: str, email: str, now: datetime) -> bool:
    return (now.timestamp() < token.expires
            and hmac.compare_digest(mac, _mac(secret, token, email)))


# TOTP, RFC 6238: HMAC-SHA1, 6 digits, 30 s steps, one step of drift either way.

def new_totp_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def totp(secret_b32: str, step: int) -> str:
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**TOTP_DIGITS
    return str(code).zfill(TOTP_DIGITS)


def totp_ok(secret_b32: str, code: str, now: datetime) -> bool:
    if not (len(code) == TOTP_DIGITS and code.isascii() and code.isdigit()):
        return False
    step = int(now.timestamp()) // TOTP_STEP
    return any(hmac.compare_digest(totp(secret_b32, step + d), code)
               for d in range(-TOTP_WINDOW, TOTP_WINDOW + 1))


def otpauth_uri(secret_b32: str, email: str, issuer: str = "Chronicle") -> str:
    return (f"otpauth://totp/{quote(issuer)}:{quote(email)}?secret={secret_b32}"
            f"&issuer={quote(issuer)}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP}")


class SecretBox:
    """AES-256-GCM under a key derived from ENCRYPTION_KEY; the user id is the associated
    data, so a ciphertext copied onto another user does not decrypt."""

    def __init__(self, encryption_key: str) -> None:
        self.aead = AESGCM(hashlib.sha256(b"chronicle.totp\n" + encryption_key.encode()).digest())

    def seal(self, plaintext: str, user_id: UUID) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self.aead.encrypt(nonce, plaintext.encode(), user_id.bytes)
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, ciphertext: str, user_id: UUID) -> str | None:
        try:
            raw = base64.urlsafe_b64decode(ciphertext)
            return self.aead.decrypt(raw[:12], raw[12:], user_id.bytes).decode()
        except (ValueError, InvalidTag):
            return None


class Credentials:
    """The Credentials port: argon2id, mail tokens under API_SECRET, TOTP, and the box
    two-factor secrets are sealed in under ENCRYPTION_KEY."""

    def __init__(self, api_secret: str, encryption_key: str) -> None:
        self.api_secret = api_secret
        self.box = SecretBox(encryption_key)

    def hash_password(self, password: str) -> str:
        return hash_password(password)

    def check_password(self, password_hash: str, password: str) -> bool:
        return check_password(password_hash, password)

    def new_totp_secret(self) -> str:
        return new_totp_secret()

    def otpauth_uri(self, secret: str, email: str) -> str:
        return otpauth_uri(secret, email)

    def totp_ok(self, secret: str, code: str, now: datetime) -> bool:
        return totp_ok(secret, code, now)

    def seal(self, plaintext: str, user_id: UUID) -> str:
        return self.box.seal(plaintext, user_id)

    def open(self, ciphertext: str, user_id: UUID) -> str | None:
        return self.box.open(ciphertext, user_id)

    def token_user(self, raw: str, purpose: str) -> UUID | None:
        parsed = parse_token(raw)
        return parsed[0].user_id if parsed is not None and parsed[0].purpose == purpose else None

    def token_valid(self, raw: str, email: str, now: datetime) -> bool:
        parsed = parse_token(raw)
        return parsed is not None and token_valid(self.api_secret, *parsed, email, now)
