"""Analysts' ad-hoc SQL on ClickHouse (``chronicle analytics sql``): read-only, bounded, shown
as an aligned table or as JSON lines.

Read-only is ClickHouse's own ``readonly=1`` on the query, not a parse of the text here: the
server refuses any write, DDL or change of a setting (``SETTINGS readonly=0`` included). The
row and time bounds ride along in the same request, before readonly applies.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from infra import clickhouse
from infra.settings import Settings

MAX_CELL = 80  # a table cell's characters; JSON output is never cut


class Answer(NamedTuple):
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    cut: bool  # more rows matched than max_rows


def run(ch: Client, query: str, *, max_rows: int, timeout_s: int) -> Answer:
    result = ch.query(query, settings={
        "max_result_rows": max_rows + 1, "result_overflow_mode": "break",
        "max_execution_time": timeout_s, "readonly": 1})
    rows = result.result_rows
    return Answer(result.column_names, rows[:max_rows], len(rows) > max_rows)


def plain(value: Any) -> Any:
    """A cell as JSON has it: times in ISO 8601, bytes as text, what JSON lacks as str."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


def json_lines(answer: Answer) -> str:
    """One JSON object per row, keyed by column."""
    return "".join(json.dumps(dict(zip(answer.columns, map(plain, row), strict=True)),
                              ensure_ascii=False) + "\n" for row in answer.rows)


def _cell(value: Any) -> str:
    text = plain(value)
    text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    text = text.replace("\n", "\\n").replace("\t", "\\t")
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def table(answer: Answer) -> str:
    """An aligned table with a header rule and a row count, as psql prints one."""
    cells = [[_cell(v) for v in row] for row in answer.rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(answer.columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(answer.columns, widths, strict=True)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    count = len(answer.rows)
    more = ", more were cut: raise --max-rows" if answer.cut else ""
    lines.append(f"({count} row{'' if count == 1 else 's'}{more})")
    return "\n".join(lines) + "\n"


def command(settings: Settings, query: str, *, as_json: bool, max_rows: int,
            timeout_s: int) -> int:
    """``chronicle analytics sql``: the answer on standard output; a query ClickHouse refuses
    (a write, bad SQL) is its message on standard error and exit 1."""
    ch = clickhouse.client(settings)
    try:
        answer = run(ch, query, max_rows=max_rows, timeout_s=timeout_s)
    except DatabaseError as exc:
        print(f"chronicle analytics: {exc}", file=sys.stderr)
        return 1
    finally:
        ch.close()
    sys.stdout.write(json_lines(answer) if as_json else table(answer))
    if as_json and answer.cut:
        print(f"chronicle analytics: more than {max_rows} rows; raise --max-rows",
              file=sys.stderr)
    return 0
