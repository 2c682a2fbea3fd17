"""The request log as deployed: `chronicle api` records, `chronicle projector` writes ClickHouse."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from infra import clickhouse
from infra.settings import Settings
from tests.conftest import ADMIN_TOKEN, running_stack, wait_until


def test_a_request_to_the_api_process_reaches_clickhouse_through_the_projector_process(
        isolated: Settings, tmp_path: Path) -> None:
    request_id = f"req-{uuid.uuid4().hex}"
    with running_stack(isolated, tmp_path / "stack.log") as url:
        answered = httpx.get(f"{url}/v1/projections", timeout=20, headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}", "X-Request-Id": request_id})
        assert answered.status_code == 200
        ch = clickhouse.client(isolated)
        try:
            def rows() -> list[tuple[object, ...]]:
                return ch.query(
                    "SELECT route, status, actor_kind FROM api_requests"
                    " WHERE request_id = {r:String}", parameters={"r": request_id}).result_rows

            wait_until(rows, timeout=60, message="the request's row in ClickHouse")
            assert rows() == [("/v1/projections", 200, "operator")]
        finally:
            ch.close()
