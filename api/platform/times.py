"""Time query parameters: a range's ``from`` and ``to`` (RFC 3339 with an offset) and an
``as_of`` (a version or an ISO 8601 time); a bad one is a 400."""

from __future__ import annotations

from datetime import UTC, datetime

from api.platform.dependencies import VERSION
from api.platform.errors import ApiException, FieldError


def parse_time(raw: str | None, name: str) -> datetime | None:
    """``raw`` as an aware time (None: not given); a time without an offset is refused, since
    RFC 3339 has none and guessing the caller's zone would shift the range."""
    if raw is None:
        return None
    try:
        at = datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        message = f"{name} must be an RFC 3339 time with an offset, like 2026-12-01T09:00:00Z"
        raise ApiException(400, "invalid_parameter", message,
                           details=[FieldError(name, message)])
    return at


def parse_as_of(raw: str) -> tuple[int | None, datetime | None]:
    """An ``as_of``: a version number, or a time (UTC when it names no offset)."""
    if VERSION.fullmatch(raw):
        return int(raw), None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiException(400, "invalid_parameter",
                           "as_of must be a version number or an ISO 8601 time",
                           reason="as_of_invalid") from None
    return None, at if at.tzinfo else at.replace(tzinfo=UTC)
