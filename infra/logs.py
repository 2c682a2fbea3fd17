"""How every process writes its log: one JSON object per line (LOG_FORMAT=json), or plain text.

A JSON line is parsed by a log shipper as it comes, so nothing a record carries (a quote, a
newline, a traceback, a field of any type) may end the line or the object early: each record is
encoded whole, in ASCII, so no character of it is a line break to anyone.

Inside a request every line also names its request id, organization and W3C trace id (the
active span's when tracing is on, infra/tracing.py, else the incoming traceparent's): the
request's ASGI scope is kept in a context variable (``REQUEST``, set by the API's outermost
layer) and read only when a line is written, so a request that logs nothing pays one
``ContextVar.set``.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import sys
import threading
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from infra import redaction, tracing
from infra.redaction import REDACTED

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
            "trace_id": tracing.trace_id() or trace_id_of(scope.get("headers", ()))}


def in_requests(app: Any) -> Any:
    """``app`` (ASGI) with each HTTP request's scope in the logs' context, for when the API's
    telemetry layer, which does it otherwise, is off (ENABLE_METRICS and ENABLE_REQUEST_LOG)."""

    async def logged(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        token = REQUEST.set(scope)
        try:
            await app(scope, receive, send)
        finally:
            REQUEST.reset(token)

    return logged


def message_of(record: logging.LogRecord) -> str:
    """The record's message as ``getMessage`` makes it, from its arguments with secret-named
    fields redacted, then with every credential in the text redacted; never raises."""
    message = redaction.shown(record.msg)
    if record.args:
        try:
            message = message % redaction.args(record.args)
        except Exception:  # a bad format string is the caller's bug; its line still goes out
            message = f"{message} {redaction.shown(record.args)}"
    return redaction.text(message)


class JsonFormatter(logging.Formatter):
    """time (ISO 8601, UTC), level, logger, message, then exception and stack (each one string
    with its newlines escaped) and the record's extra fields (unknown types as ``str``), every
    credential redacted (infra/redaction.py)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname, "logger": record.name, "message": message_of(record)}
        if record.exc_info:
            entry["exception"] = redaction.text(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redaction.text(record.exc_text)
        if record.stack_info:
            entry["stack"] = redaction.text(self.formatStack(record.stack_info))
        for name, value in vars(record).items():
            if name not in STANDARD:
                entry.setdefault(name, REDACTED if redaction.SECRET_NAME.search(name)
                                 else redaction.value(value))
        scope = REQUEST.get()
        if scope is not None:
            for name, value in request_fields(scope).items():
                entry.setdefault(name, value)
        elif trace := tracing.trace_id():  # a span of a process outside any request
            entry.setdefault("trace_id", trace)
        return json.dumps(entry)


class TextFormatter(logging.Formatter):
    """LOG_FORMAT=text: the plain line, with the same redaction as the JSON one."""

    def __init__(self) -> None:
        super().__init__(TEXT)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = message_of(record)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802
        return redaction.text(super().formatException(ei))


def _uncaught(kind: str, exc: tuple[Any, Any, Any]) -> None:
    logging.getLogger("chronicle.uncaught").critical("uncaught exception in %s", kind,
                                                     exc_info=exc)


def _uncaught_in_thread(hook: threading.ExceptHookArgs) -> None:
    name = hook.thread.name if hook.thread is not None else "?"
    _uncaught(f"thread {name}", (hook.exc_type, hook.exc_value, hook.exc_traceback))


def config(level: str, fmt: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the root logger; granian takes the same one for its
    own records, which then reach the root's handler in this format."""
    formatter: dict[str, Any] = {"()": JsonFormatter if fmt == "json" else TextFormatter}
    return {
        "version": 1, "disable_existing_loggers": False,
        "formatters": {"chronicle": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "chronicle"}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {},
    }


def configure(level: str, fmt: str) -> None:
    """The root logger in ``fmt``, and stray output through it (``capture``)."""
    logging.config.dictConfig(config(level, fmt))
    capture()


def capture() -> None:
    """Python's warnings and any uncaught exception (of the main thread or another) as log
    records rather than bare text on stderr. Also called by each API worker
    (``api.app.worker_app``): granian's workers apply ``config`` but do not run ``configure``."""
    logging.captureWarnings(True)
    sys.excepthook = lambda *exc: _uncaught("the main thread", exc)
    threading.excepthook = _uncaught_in_thread
