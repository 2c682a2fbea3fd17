"""A line logged inside a request names the request even with the API's telemetry layer off
(ENABLE_METRICS and ENABLE_REQUEST_LOG false), which otherwise puts it in the logs' context."""

from __future__ import annotations

import io
import json
import logging

import msgspec
from litestar.testing import TestClient

from api.app import create_app
from infra.logs import JsonFormatter
from infra.settings import Settings
from tests.integration.conftest import AUTH, HTTPS


def test_a_line_logged_inside_a_request_names_it_with_the_telemetry_layer_off(
        settings: Settings) -> None:
    bare = msgspec.structs.replace(
        settings, enable_metrics=False, enable_request_log=False,
        clickhouse_url=settings.clickhouse_url.rsplit("/", 1)[0] + "/no_such_database")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("chronicle.api").addHandler(handler)
    try:
        with TestClient(app=create_app(bare), base_url=HTTPS,
                        raise_server_exceptions=False) as c:
            answer = c.get("/v1/metrics", headers={**AUTH, "X-Request-Id": "req-bare"})
    finally:
        logging.getLogger("chronicle.api").removeHandler(handler)
    assert answer.status_code == 500
    line = next(json.loads(x) for x in out.getvalue().splitlines()
                if json.loads(x)["message"].startswith("unhandled error"))
    assert line["request_id"] == "req-bare"
