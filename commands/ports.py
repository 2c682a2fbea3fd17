"""The ports the use cases depend on: what an event store, the credentials and the JSON Schema
library do for them.

``infra/eventstore.py`` implements the store on PostgreSQL (the composition root's), and
``infra/memorystore.py`` in memory (for use-case tests that run in milliseconds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from commands.idempotency import Record
from domain.envelope import Envelope

# Given the position of the last event appended, the idempotency record to commit with them.
Sealing = Callable[[int], Record]


class ConcurrencyError(Exception):
    """Another writer appended to one of the streams first (stale expected version)."""


class DuplicateRecord(Exception):
    """A row written with the events (an idempotency record) already exists: nothing was written."""


# A compiled schema: returns if the data matches, else raises InvalidValue naming its pointer.
Validator = Callable[[Any], None]


class Schemas(Protocol):
    """JSON Schema (draft 2020-12): checking a schema against the meta-schema, and compiling one
    (``infra/jsonschemas.py``)."""

    def check(self, schema: dict[str, Any]) -> None:
        """Raise InvalidValue (``schema_invalid``) with the failing JSON pointer as its field."""
        ...

    def validator(self, key: tuple[UUID, int], schema: dict[str, Any]) -> Validator:
        """``schema`` compiled, once per process for ``key`` (a type's stream and type version)
        as long as the schema is the same."""
        ...


class Credentials(Protocol):
    """Password hashes, mailed tokens, TOTP and sealed two-factor secrets
    (infra/credentials.py: argon2id, HMAC-SHA256, RFC 6238, AES-GCM)."""

    def hash_password(self, password: str) -> str: ...

    def check_password(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` is the hashed one; an empty hash matches nothing (and takes
        as long as a real one, so an unknown email answers as slowly as a wrong password)."""
        ...

    def new_totp_secret(self) -> str: ...

    def otpauth_uri(self, secret: str, email: str) -> str: ...

    def totp_ok(self, secret: str, code: str, now: datetime) -> bool: ...

    def seal(self, plaintext: str, user_id: UUID) -> str:
        """``plaintext`` encrypted for ``user_id`` only (another user's id does not open it)."""
        ...

    def open(self, ciphertext: str, user_id: UUID) -> str | None: ...

    def token_user(self, raw: str, purpose: str) -> UUID | None:
        """The user a mailed token for ``purpose`` names, before it is checked."""
        ...

    def token_valid(self, raw: str, email: str, now: datetime) -> bool:
        """Whether the token was made for this email address and has not expired."""
        ...


class Sealer(Protocol):
    """Secrets kept in events only encrypted, bound to their owner's id (a webhook endpoint's:
    ``infra/webhook_secrets.py``, AES-GCM under a key derived from ENCRYPTION_KEY)."""

    def seal(self, plaintext: str, owner: UUID) -> str: ...

    def open(self, sealed: str, owner: UUID) -> str:
        """The plaintext; ValueError when ``sealed`` was not sealed for ``owner``."""
        ...


# Raises InvalidValue (``webhook_url_forbidden``) unless a URL reaches only public addresses.
Destinations = Callable[[str], object]


class EventStore(Protocol):
    # The largest encoded event the store lets through (the bus's limit, with room to spare).
    @property
    def max_event_bytes(self) -> int: ...

    def load(self, stream_id: UUID, *, lte: int | None = None) -> list[Envelope]:
        """The stream's envelopes in version order (up to version ``lte``)."""
        ...

    def load_many(self, stream_ids: Sequence[UUID]) -> dict[UUID, list[Envelope]]:
        """Several streams' envelopes in version order, in one read (a batch of writes loads
        its streams at once); a stream with no events is absent."""
        ...

    def append(self, envelopes: Sequence[Envelope], *, sealing: Sealing | None = None,
               encoded: Sequence[bytes] | None = None) -> list[int]:
        """Append in one transaction, each envelope at its version (ConcurrencyError if a
        version is taken), with the sealing's idempotency record (DuplicateRecord if its key
        is live); returns the store positions, in order. ``encoded``: the envelopes' bytes
        (``encode``, as ``check_sizes`` returns them), stored as they are, not made again."""
        ...

    def record(self, record: Record) -> None:
        """Record the response of a command that appended nothing (DuplicateRecord if live)."""
        ...
