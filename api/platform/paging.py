"""Cursor query parameters: decoded by the read side's paging helper, a bad one is a 400."""

from __future__ import annotations

import math
from typing import Any

from api.platform.errors import ApiException
from api.platform.schemas import PaginationInfo
from projections import paging


def cursor_position(raw: str) -> int:
    """The store position an opaque cursor stands for (400 ``cursor_invalid`` if none)."""
    position = paging.decode_cursor(raw)
    if position is None:
        raise ApiException(400, "invalid_parameter", "the cursor is not valid",
                           reason="cursor_invalid")
    return position


def pagination(rows: list[Any], more: bool, total: int | None, limit: int,
               after: int | None) -> PaginationInfo:
    """The seed's PaginationInfo of one page read after ``after`` (rows by created position)."""
    return PaginationInfo(
        limit=limit, total=total or 0, total_pages=math.ceil((total or 0) / limit),
        has_next=more, has_prev=after is not None,
        next_cursor=paging.encode_cursor(rows[-1]["created_position"]) if more else None)
