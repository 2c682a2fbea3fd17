"""One resource write of a batch (a transaction's item, a bulk operation's item): which
resource, what to do to it, and the version the caller expects it at."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import msgspec

from domain.resource.commands import Content

WriteOp = Literal["create", "replace", "patch", "upsert", "delete"]


class ResourceWrite(msgspec.Struct, frozen=True, kw_only=True):
    """``content`` for a create, replace or upsert; ``patch`` (RFC 7396) for a patch;
    ``resource_id`` for replace, patch and delete; ``key`` for an upsert; ``cascade``: a
    delete takes the resources that depend on it along (else they refuse it)."""

    op: WriteOp
    resource_type: str
    resource_id: UUID | None = None
    key: str | None = None
    expected_version: int | None = None
    content: Content | None = None
    patch: dict[str, Any] | None = None
    cascade: bool = False
