"""Analytics figures (issue 13's bench): the request-log projector's ClickHouse ingest
(bench/analytics_ingest.py); then GET /v1/metrics' query over N request rows (10 M by default),
generated inside ClickHouse through the views in large INSERT ... SELECT batches, answered from
the views' states beside the same answer scanned from the raw rows (the baseline). The private
ClickHouse database, and with it the rows' disk, is dropped at the end.

    python -m bench.analytics [--rows 10000000] [--queries 20] [--ingest-rows 500000]
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from clickhouse_connect.driver.client import Client

from bench import analytics_ingest
from bench.common import pct, private_environment
from infra import clickhouse
from infra.settings import Settings
from projections import metric_queries as queries

ORGS = 50
WINDOW = timedelta(days=30)
# N rows spread over the last 30 days, 50 organizations, 200 keys, the usual statuses.
GENERATE = """
INSERT INTO api_requests
SELECT toUUID(concat('00000000-0000-4000-8000-', leftPad(toString(number % {orgs}), 12, '0'))),
       now64(3) - toIntervalSecond(number % 2592000), concat('b', toString(number)), '',
       ['GET', 'GET', 'POST', 'PATCH', 'DELETE'][number % 5 + 1],
       ['/v1/organizations/{{organization_id}}', '/v1/api-keys', '/v1/users',
        '/v1/resources/{{resource_type}}', '/v1/events'][intDiv(number, 7) % 5 + 1],
       [200, 200, 200, 201, 204, 400, 404, 429, 500][number % 9 + 1],
       (number % 1000) / 10 + 0.5, 'api_key', toString(number % 200), '', '', '10.0.0.1',
       'bench', number % 5000, number % 9000, number % 9 = 7, now() + toIntervalDay(90)
FROM numbers({offset}, {rows})
"""
CHUNK = 200_000  # rows an insert: each answers well within the client's 30 s timeout
# The same answer scanned from the raw rows: the baseline the views are measured against.
RAW_WHERE = "timestamp >= {start:DateTime64(3, 'UTC')} AND timestamp < {end:DateTime64(3, 'UTC')}"
RAW = [
    "SELECT method, route, status, rate_limited, count(), sum(duration_ms) FROM api_requests"
    " WHERE WHERE_ GROUP BY method, route, status, rate_limited",
    "SELECT api_key_id, count() FROM api_requests WHERE WHERE_ AND rate_limited"
    " GROUP BY api_key_id",
    "SELECT quantiles(0.5, 0.95, 0.99)(duration_ms) FROM api_requests WHERE WHERE_",
    "SELECT BUCKET_(timestamp) AS at, count(), countIf(status >= 400), sum(duration_ms),"
    " quantiles(0.5, 0.95, 0.99)(duration_ms) FROM api_requests WHERE WHERE_ GROUP BY at",
]
RAW_BUCKET = {"1h": "toStartOfHour", "1d": "toStartOfDay"}


def raw_scan(ch: Client, w: queries.Window) -> None:
    where = RAW_WHERE + ("" if w.organization_id is None else " AND organization_id = {org:UUID}")
    values = {"start": w.start, "end": w.end, "org": w.organization_id}
    for sql in RAW:
        ch.query(sql.replace("WHERE_", where).replace("BUCKET_", RAW_BUCKET[w.bucket]),
                 parameters=values)


def timed(run: Callable[[], object], n: int) -> list[float]:
    took = []
    for _ in range(n):
        started = time.perf_counter()
        run()
        took.append((time.perf_counter() - started) * 1000)
    return took


def query_latency(settings: Settings, rows: int, n: int) -> list[str]:
    ch = clickhouse.client(settings)
    started = time.perf_counter()
    for offset in range(0, rows, CHUNK):
        ch.command(GENERATE.format(orgs=ORGS, offset=offset, rows=min(CHUNK, rows - offset)))
    loaded = time.perf_counter() - started
    end = datetime.now(UTC) + timedelta(hours=1)
    one = uuid.UUID(f"00000000-0000-4000-8000-{3:012d}")
    lines = [f"    {rows:,} rows generated through the views in {loaded:.1f} s"
             f" ({rows / loaded:,.0f} rows/s)"]
    for label, org, bucket in (("every organization, 1d", None, "1d"),
                               ("every organization, 1h", None, "1h"),
                               ("one organization, 1h", one, "1h")):
        window = queries.Window(org, queries.floor_time(end - WINDOW, bucket),
                                queries.floor_time(end, bucket), bucket)  # type: ignore[arg-type]
        views = timed(lambda w=window: queries.metrics(ch, w), n)
        scan = timed(lambda w=window: raw_scan(ch, w), n)
        lines.append(f"    GET /v1/metrics 30 days, {label:<24} views p50 {pct(views, 50):7.1f}"
                     f" ms p95 {pct(views, 95):7.1f} ms   raw scan (baseline) p50"
                     f" {pct(scan, 50):7.1f} ms p95 {pct(scan, 95):7.1f} ms   ratio p50"
                     f" {pct(views, 50) / pct(scan, 50):.2f} p95 {pct(views, 95) / pct(scan, 95):.2f}")
    ch.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--ingest-rows", type=int, default=500_000)
    args = parser.parse_args()
    with private_environment() as settings:
        print("== request-log ingest into ClickHouse")
        lines, write_rate = analytics_ingest.write_path(settings)
        lines += analytics_ingest.projector(settings, args.ingest_rows, write_rate)
        for line in lines:
            print(line)
        print(f"== metric queries over {args.rows:,} request rows ({args.queries} each)")
        for line in query_latency(settings, args.rows, args.queries):
            print(line)


if __name__ == "__main__":
    main()
