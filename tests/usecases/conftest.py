"""Use cases on the in-memory event store: the commands as the composition root wires them,
without PostgreSQL, so each test runs in milliseconds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from uuid import UUID

import pytest

from commands.organizations import OrganizationCommands
from commands.ports import Sealing
from commands.users import UserCommands
from domain.envelope import Envelope
from domain.organization.commands import CreateOrganization
from infra.credentials import Credentials
from infra.memorystore import MemoryEventStore
from tests.builders import context

PASSWORD = "correct horse battery staple"


API_SECRET = "test-api-secret"


class FastCredentials(Credentials):
    """The real credentials but for argon2's cost (how a password is hashed does not matter
    to these use cases)."""

    def hash_password(self, password: str) -> str:
        return hashlib.sha256(password.encode()).hexdigest()

    def check_password(self, password_hash: str, password: str) -> bool:
        return bool(password_hash) and password_hash == self.hash_password(password)


class RacingStore(MemoryEventStore):
    """A store where other writers get in first: each of ``rivals`` runs just before one
    append (between that command's load and its write); a rival's own appends run as is."""

    def __init__(self) -> None:
        super().__init__()
        self.rivals: list[Callable[[], object]] = []
        self._racing = False

    def append(self, envelopes: Sequence[Envelope], *, sealing: Sealing | None = None,
               encoded: Sequence[bytes] | None = None) -> list[int]:
        if self.rivals and not self._racing:
            self._racing = True
            try:
                self.rivals.pop(0)()
            finally:
                self._racing = False
        return super().append(envelopes, sealing=sealing, encoded=encoded)


@pytest.fixture
def store() -> RacingStore:
    return RacingStore()


@pytest.fixture
def organizations(store: RacingStore) -> OrganizationCommands:
    return OrganizationCommands(store, retries=3)


@pytest.fixture
def users(store: RacingStore) -> UserCommands:
    return UserCommands(store, FastCredentials(API_SECRET, "test-encryption-key"), retries=3)


def new_org(organizations: OrganizationCommands, slug: str = "acme") -> UUID:
    return organizations.create(context(), CreateOrganization(name="Acme", slug=slug)).stream_id
