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


KEY = "pk_live_" + "0f" * 16 + "_s3cretS3cretS3cretS3cret"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_secret_named_fields_of_logged_mappings_never_reach_the_line() -> None:
    def emit(logger: logging.Logger) -> None:
        logger.info("headers %s", {"Authorization": "Bearer abc", "accept": "json",
                                   "nested": {"client_secret": "cs", "password": "hunter2"}})
        logger.info("called", extra={"api_key": KEY, "request": {"token": "t0k", "n": 1}})

    first, second = lines_of(emit)
    assert "abc" not in first["message"]
    assert "hunter2" not in first["message"]
    assert "'accept': 'json'" in first["message"]
    assert second["api_key"] == "[REDACTED]"
    assert second["request"] == {"token": "[REDACTED]", "n": 1}


def test_credentials_in_a_message_or_a_traceback_are_redacted_wherever_they_appear() -> None:
    def emit(logger: logging.Logger) -> None:
        logger.warning("refused Bearer eyJhbGciOi.eyJzdWIiOiJ4In0.c2ln for %s", KEY)
        try:
            raise ConnectionError("postgresql://app:pa55word@db:5432/chronicle is away")
        except ConnectionError:
            logger.exception("connecting")

    warning, error = lines_of(emit)
    text = json.dumps([warning, error])
    for secret in ("eyJhbGciOi", "s3cretS3cret", "pa55word"):
        assert secret not in text
    assert warning["message"] == ("refused Bearer [REDACTED] for pk_live_" + "0f" * 16
                                  + "_[REDACTED]")
    assert "postgresql://app:[REDACTED]@db:5432/chronicle" in error["exception"]


def test_undecodable_bytes_odd_keys_and_unprintable_objects_still_make_strict_json() -> None:
    def emit(logger: logging.Logger) -> None:
        logger.info("path %s", b"/\xff\xfe".decode("utf-8", "surrogateescape"),
                    extra={"raw": b"\xff\x00", "by_id": {UUID(int=1): 2}, "odd": Unprintable()})

    (first,) = lines_of(emit)
    assert first["message"] == "path /\\udcff\\udcfe"
    assert first["by_id"] == {str(UUID(int=1)): 2}
    assert first["odd"] == "<Unprintable: unprintable>"
    assert json.dumps(first, ensure_ascii=False).encode("utf-8")


def test_the_text_format_redacts_as_the_json_one_does() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import logging; from infra import logs;"
         " logs.configure('info', 'text');"
         f" logging.getLogger('chronicle.x').warning('key %s', {KEY!r})"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert "s3cret" not in done.stderr
    assert done.stderr.rstrip().endswith("_[REDACTED]")


def test_warnings_and_uncaught_exceptions_of_threads_are_json_lines() -> None:
    lines = run_python(
        "import threading, warnings\n"
        "from infra import logs\n"
        "logs.configure('info', 'json')\n"
        "warnings.warn('deprecated \"thing\"')\n"
        "import logging; logging.getLogger('x').info('bad format %d', 'not a number')\n"
        "def fail(): raise ValueError('in a thread\\nfor real')\n"
        "t = threading.Thread(target=fail, name='worker'); t.start(); t.join()\n")
    assert [line["logger"] for line in lines] == ["py.warnings", "x", "chronicle.uncaught"]
    assert 'deprecated "thing"' in lines[0]["message"]
    assert lines[1]["message"] == "bad format %d ('not a number',)"
    assert lines[2]["message"] == "uncaught exception in thread worker"
    assert "ValueError: in a thread\nfor real" in lines[2]["exception"]
