"""The response shapes every capability shares: the base of every response body, a command's
answer and a page's pagination (the error body is api/platform/errors.py's ``ErrorBody``)."""

from __future__ import annotations

from uuid import UUID

import msgspec


class Out(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A response body: camelCase JSON."""


class CommandAccepted(Out, frozen=True):
    id: UUID
    version: int
    position: int | None


class PaginationInfo(Out, frozen=True):
    limit: int
    total: int
    total_pages: int
    has_next: bool
    has_prev: bool
    next_cursor: str | None = None
    prev_cursor: str | None = None
