"""What a WebSocket client may send on an open stream: ``{"type": "resume", "after": N}``
(replay the events after store position N, then continue live). Anything else, text or
binary, is answered with the structured error body in an error frame; the stream stays open."""

from __future__ import annotations

from typing import Literal

import msgspec

from api.platform.errors import ApiException, FieldError
from domain import limits as lim


class Resume(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    type: Literal["resume"]
    after: int


_decoder = msgspec.json.Decoder(Resume)
MESSAGE = ('a client message must be {"type": "resume", "after": <store position>}, as JSON'
           f" text of at most {lim.MAX_WS_MESSAGE} bytes")


def _invalid(field: str, message: str = MESSAGE) -> ApiException:
    return ApiException(400, "invalid_parameter", message,
                        details=[FieldError(field, message)])


def client_request(text: object, data: object) -> int | ApiException:
    """The position a client message (its ASGI ``text`` and ``bytes``) resumes after, or the
    error to answer it with."""
    if not isinstance(text, str) or data is not None or len(text) > lim.MAX_WS_MESSAGE:
        return _invalid("message")
    try:
        resume = _decoder.decode(text)
    except msgspec.ValidationError as exc:
        return _invalid("after" if "after" in str(exc) else "message")
    except msgspec.DecodeError:
        return _invalid("message")
    if not 0 <= resume.after <= 2**63 - 1:
        return _invalid("after", "after must be a store position (0 or more)")
    return resume.after
