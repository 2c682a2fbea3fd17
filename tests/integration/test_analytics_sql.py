"""``chronicle analytics sql``: an analyst's query answered as a table or JSON lines, and
anything but a read refused by ClickHouse itself (readonly=1), with nothing changed."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from infra import analyst, clickhouse
from infra.settings import Settings
from projections.api_requests import COLUMNS
from tests.conftest import env_for

ROOT = Path(__file__).resolve().parents[2]


def insert_requests(settings: Settings, org: uuid.UUID, count: int) -> None:
    at = datetime(2032, 3, 1, 12, tzinfo=UTC)
    values = {"organization_id": org, "timestamp": at, "trace_id": "", "method": "GET",
              "route": "/v1/users", "status": 200, "duration_ms": 12.5, "actor_kind": "user",
              "api_key_id": "", "user_id": "u", "client_id": "", "ip": "10.0.0.1",
              "user_agent": 'quote " and\nnewline', "bytes_in": 0, "bytes_out": 100,
              "rate_limited": False, "expires_at": at + timedelta(days=90)}
    rows = [[{**values, "request_id": f"r{i}"}[c] for c in COLUMNS] for i in range(count)]
    ch = clickhouse.client(settings)
    try:
        ch.insert("api_requests", rows, column_names=COLUMNS)
    finally:
        ch.close()


def chronicle(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infra.cli", "analytics", "sql", *args],
                          cwd=ROOT, env=env_for(settings), capture_output=True, text=True,
                          timeout=60, check=False)


def test_a_query_is_printed_as_an_aligned_table_and_as_json_lines(settings: Settings) -> None:
    org = uuid.uuid4()
    insert_requests(settings, org, 3)
    query = ("SELECT route, count() AS calls, any(user_agent) AS agent FROM api_requests"
             f" WHERE organization_id = '{org}' GROUP BY route")
    shown = chronicle(settings, query)
    assert shown.returncode == 0, shown.stderr
    header, rule, row, count = shown.stdout.splitlines()
    assert header.split(" | ")[0].strip() == "route"
    assert set(rule) <= {"-", "+"}
    assert [c.strip() for c in row.split(" | ")] == ["/v1/users", "3", 'quote " and\\nnewline']
    assert count == "(1 row)"
    lines = chronicle(settings, "--json", query)
    assert lines.returncode == 0, lines.stderr
    assert [json.loads(x) for x in lines.stdout.splitlines()] == [
        {"route": "/v1/users", "calls": 3, "agent": 'quote " and\nnewline'}]


@pytest.mark.parametrize("query", [
    "DROP TABLE api_requests",
    "INSERT INTO api_requests (request_id) VALUES ('x')",
    "ALTER TABLE api_requests DELETE WHERE 1",
    "SELECT 1 SETTINGS readonly = 0",
    "CREATE TABLE stolen (x UInt8) ENGINE = Memory",
])
def test_anything_but_a_read_is_refused_and_changes_nothing(
        settings: Settings, query: str, capsys: pytest.CaptureFixture[str]) -> None:
    ch = clickhouse.client(settings)
    try:
        before = ch.command("SELECT count() FROM api_requests")
        tables = ch.command("SELECT count() FROM system.tables WHERE database = currentDatabase()")
        assert analyst.command(settings, query, as_json=False, max_rows=10, timeout_s=10) == 1
        assert "readonly" in capsys.readouterr().err.lower()
        assert ch.command("SELECT count() FROM api_requests") == before
        assert ch.command(
            "SELECT count() FROM system.tables WHERE database = currentDatabase()") == tables
    finally:
        ch.close()


def test_more_rows_than_max_rows_are_cut_and_said_so(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert analyst.command(settings, "SELECT number FROM system.numbers LIMIT 50",
                           as_json=False, max_rows=5, timeout_s=10) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 + 5 + 1
    assert out[-1] == "(5 rows, more were cut: raise --max-rows)"
