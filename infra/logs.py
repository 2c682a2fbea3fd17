"""How every process writes its log: one JSON object per line (LOG_FORMAT=json), or plain text.

A JSON line is parsed by a log shipper as it comes, so nothing a record carries (a quote, a
newline, a traceback, a field of any type) may end the line or the object early: each record is
encoded whole, in ASCII, so no character of it is a line break to anyone.

Inside a request every line also names its request id, organization and W3C trace id: the
request's ASGI scope is kept in a context variable (``REQUEST``, set by the API's outermost
layer) and read only when a line is written, so a request that logs nothing pays one
``ContextVar.set``.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# What every LogRecord has; anything else on a record came in through ``extra=``.
STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}
REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("chronicle_request", default=None)
# version 00 as W3C Trace Context writes it; an all-zero trace id is invalid.
_TRACEPARENT = re.compile(rb"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")


def trace_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The trace id of a valid ``traceparent`` header, else ""."""
    for name, value in headers:
        if name == b"traceparent":
            found = _TRACEPARENT.match(value.strip().lower())
            if found and found.group(1) != b"0" * 32:
                return found.group(1).decode()
            return ""
    return ""


def request_fields(scope: dict[str, Any]) -> dict[str, Any]:
    """What a log line inside this request says of it (nothing a caller could make secret)."""
    state = scope.get("state", {})
    org = state.get("organization_id")
    return {"request_id": state.get("request_id", ""),
            "organization_id": "" if org is None else str(org),
            "trace_id": trace_id_of(scope.get("headers", ()))}


class JsonFormatter(logging.Formatter):
    """time (ISO 8601, UTC), level, logger, message, then exception and stack (each one string
    with its newlines escaped) and the record's extra fields (unknown types as ``str``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for name, value in vars(record).items():
            if name not in STANDARD:
                entry.setdefault(name, value)
        scope = REQUEST.get()
        if scope is not None:
            for name, value in request_fields(scope).items():
                entry.setdefault(name, value)
        return json.dumps(entry, default=str)


def config(level: str, fmt: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the root logger; granian takes the same one for its
    own records, which then reach the root's handler in this format."""
    formatter: dict[str, Any] = {"()": JsonFormatter} if fmt == "json" else {"format": TEXT}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"chronicle": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "chronicle"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {},
    }


def configure(level: str, fmt: str) -> None:
    logging.config.dictConfig(config(level, fmt))
