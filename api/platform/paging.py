"""Cursor query parameters: decoded by the read side's paging helper, a bad one is a 400."""

from __future__ import annotations

from api.platform.errors import ApiException
from projections import paging


def cursor_position(raw: str) -> int:
    """The store position an opaque cursor stands for (400 ``cursor_invalid`` if none)."""
    position = paging.decode_cursor(raw)
    if position is None:
        raise ApiException(400, "invalid_parameter", "the cursor is not valid",
                           reason="cursor_invalid")
    return position
