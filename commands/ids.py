"""Ids for writes made thousands at a time (a bulk operation's chunks): the same values as
``uuid.uuid5`` and ``uuid.uuid4``, for less: those were ~15 % of a bulk worker's CPU."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from uuid import UUID

RANDOM_BATCH = 1024  # uuid4s drawn per os.urandom call
_VERSION_4 = (0x4 << 76) | (0x2 << 62)  # the version nibble and the RFC 4122 variant bits
_CLEAR_4 = ~((0xF000 << 64) | (0xC000 << 48))


class NamedIds:
    """``uuid.uuid5(namespace, prefix + str(n))`` for each ``n``: the namespace's SHA-1 state
    is computed once (uuid5 encodes the namespace and hashes it again for every name)."""

    def __init__(self, namespace: UUID, prefix: str) -> None:
        self._base = hashlib.sha1(namespace.bytes + prefix.encode())  # noqa: S324  # uuid5's hash

    def __call__(self, n: int) -> UUID:
        h = self._base.copy()
        h.update(str(n).encode())
        return UUID(bytes=h.digest()[:16], version=5)


def random_ids(batch: int = RANDOM_BATCH) -> Callable[[], UUID]:
    """A ``uuid.uuid4`` that draws its randomness ``batch`` ids at a time (one system call
    each, not one per id); for one thread (a worker's), as the ids it makes are its own."""
    pool: list[int] = []

    def new_id() -> UUID:
        if not pool:
            raw = os.urandom(16 * batch)
            pool.extend((int.from_bytes(raw[i:i + 16], "big") & _CLEAR_4) | _VERSION_4
                        for i in range(0, len(raw), 16))
        return UUID(int=pool.pop())

    return new_id
