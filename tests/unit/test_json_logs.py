"""LOG_FORMAT=json writes one JSON object per line, whatever a record carries (infra/logs.py)."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

from infra import logs
from infra.logs import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = 'a "quoted" word,\na second line\r\nand a \u2028 separator'


def lines_of(emit: Any) -> list[dict[str, Any]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("chronicle.test.json")
    logger.addHandler(handler)
    logger.propagate, logger.level = False, logging.DEBUG
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_record_is_one_parsable_json_line_with_its_quotes_and_newlines_intact() -> None:
    def emit(logger: logging.Logger) -> None:
        logger.info(HOSTILE)
        logger.warning("key %s was %s", "k1", "revoked")
        try:
            raise ValueError('bad "value"\nacross lines')
        except ValueError:
            logger.exception("the projector failed on %r", 'event "x"')

    first, second, third = lines_of(emit)
    assert first["message"] == HOSTILE
    assert (first["level"], first["logger"]) == ("INFO", "chronicle.test.json")
    assert first["time"].endswith("Z")
    assert second["message"] == "key k1 was revoked"
    assert third["level"] == "ERROR"
    assert third["message"] == "the projector failed on 'event \"x\"'"
    assert third["exception"].startswith("Traceback (most recent call last):")
    assert 'ValueError: bad "value"\nacross lines' in third["exception"]


def test_extra_fields_are_fields_of_the_object_and_unknown_types_become_strings() -> None:
    key = UUID(int=7)

    def emit(logger: logging.Logger) -> None:
        logger.info("checked", extra={"key_id": key, "lag": 3, "note": 'say "hi"\n'},
                    stack_info=True)

    (line,) = lines_of(emit)
    assert line["key_id"] == str(key)
    assert line["lag"] == 3
    assert line["note"] == 'say "hi"\n'
    assert line["stack"].startswith("Stack (most recent call last):")
    assert not {"args", "msg", "exc_info"} & line.keys()


def run_python(code: str) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    return [json.loads(line) for line in done.stderr.splitlines()]


def test_the_configured_root_logger_and_granian_s_own_logger_both_write_json() -> None:
    lines = run_python(
        "import logging\n"
        "from granian.log import LogLevels, configure_logging\n"
        "from infra import logs\n"
        "logs.configure('info', 'json')\n"
        "logging.getLogger('chronicle.x').warning('a \"b\"\\nc')\n"
        "configure_logging(LogLevels.info, logs.config('info', 'json'))\n"
        "logging.getLogger('_granian').info('Listening at: 127.0.0.1:8080')\n"
        "logging.getLogger('chronicle.x').debug('below the level')\n")
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("chronicle.x", 'a "b"\nc'), ("_granian", "Listening at: 127.0.0.1:8080")]


def test_the_text_format_stays_plain_text() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import logging; from infra import logs;"
         " logs.configure('info', 'text'); logging.getLogger('chronicle.x').warning('plain')"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert done.stderr.rstrip().endswith(" WARNING chronicle.x plain")


def test_a_line_inside_a_request_names_its_request_organization_and_trace() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    scope = {"state": {"request_id": "req_1", "organization_id": UUID(int=9)},
             "headers": [(b"traceparent", f"00-{trace}-00f067aa0ba902b7-01".encode()),
                         (b"authorization", b"Bearer secret-token")]}
    token = logs.REQUEST.set(scope)
    try:
        inside = lines_of(lambda logger: logger.info("handled"))
    finally:
        logs.REQUEST.reset(token)
    outside = lines_of(lambda logger: logger.info("idle"))
    assert inside[0]["request_id"] == "req_1"
    assert inside[0]["organization_id"] == str(UUID(int=9))
    assert inside[0]["trace_id"] == trace
    assert "secret-token" not in json.dumps(inside)
    assert not {"request_id", "trace_id"} & outside[0].keys()


def test_a_malformed_or_all_zero_traceparent_gives_no_trace_id() -> None:
    assert logs.trace_id_of([(b"traceparent", b"garbage")]) == ""
    assert logs.trace_id_of([(b"traceparent", b"00-" + b"0" * 32 + b"-00f067aa0ba902b7-01")]) == ""
    assert logs.trace_id_of([]) == ""
