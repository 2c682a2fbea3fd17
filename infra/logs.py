"""How every process writes its log: one JSON object per line (LOG_FORMAT=json), or plain text.

A JSON line is parsed by a log shipper as it comes, so nothing a record carries (a quote, a
newline, a traceback, a field of any type) may end the line or the object early: each record is
encoded whole, in ASCII, so no character of it is a line break to anyone.
"""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# What every LogRecord has; anything else on a record came in through ``extra=``.
STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


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
