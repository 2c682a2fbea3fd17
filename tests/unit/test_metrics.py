"""The Prometheus exposition of infra/metrics.py: cumulative buckets on the OTel bounds, bounded
labels, and several API workers' figures added up from their snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from infra.metrics import (
    BUCKETS,
    Histogram,
    Snapshot,
    Snapshots,
    families_of,
    prepare,
    render,
)


def lines(text: bytes) -> list[str]:
    return text.decode().splitlines()


def test_buckets_are_cumulative_with_an_inf_bucket_a_sum_and_a_count() -> None:
    h = Histogram()
    for seconds in (0.001, 0.005, 0.02, 3.0, 60.0):
        h.observe("GET", "/v1/things/{id}", 200, seconds)
    out = lines(render([h.family()]))
    base = 'http_request_method="GET",http_route="/v1/things/{id}",http_response_status_code="200"'
    assert f'http_server_request_duration_seconds_bucket{{{base},le="0.005"}} 2' in out
    assert f'http_server_request_duration_seconds_bucket{{{base},le="0.025"}} 3' in out
    assert f'http_server_request_duration_seconds_bucket{{{base},le="2.5"}} 3' in out
    assert f'http_server_request_duration_seconds_bucket{{{base},le="5"}} 4' in out
    assert f'http_server_request_duration_seconds_bucket{{{base},le="10"}} 4' in out
    assert f'http_server_request_duration_seconds_bucket{{{base},le="+Inf"}} 5' in out
    assert f"http_server_request_duration_seconds_count{{{base}}} 5" in out
    (total,) = [line for line in out if line.startswith("http_server_request_duration_seconds_sum")]
    assert float(total.rsplit(" ", 1)[1]) == pytest.approx(63.026)
    assert len([line for line in out if "_bucket" in line]) == len(BUCKETS) + 1


def test_an_unknown_method_is_counted_as_other_and_a_label_is_escaped() -> None:
    h = Histogram()
    h.observe("BREW", 'a"b\\c', 418, 0.1)
    text = render([h.family()]).decode()
    assert 'http_request_method="_OTHER",http_route="a\\"b\\\\c"' in text


def test_flat_figures_become_families_counters_by_their_total_suffix() -> None:
    out = lines(render(families_of({"relay_lag": 3, 'projection_lag{projection="x"}': 1.5,
                                    "relay_published_total": 9})))
    assert "# TYPE chronicle_relay_lag gauge" in out
    assert "# TYPE chronicle_relay_published_total counter" in out
    assert 'chronicle_projection_lag{projection="x"} 1.5' in out
    assert out[0].startswith("# HELP chronicle_relay_lag ")


def test_a_worker_reads_its_siblings_snapshots_but_not_its_own(tmp_path: Path) -> None:
    prepare(str(tmp_path))
    mine = Histogram()
    mine.observe("GET", "/r", 200, 0.01)
    Snapshots(str(tmp_path)).write(mine, {"request_log_dropped_total": 2})
    sibling = Snapshot(os.getpid() + 1, 0.0, [("GET", "/r", 200, [4.0] + [0.0] * 15)],
                       {"request_log_dropped_total": 5})
    (tmp_path / f"{os.getpid() + 1}.snapshot").write_bytes(msgspec.msgpack.encode(sibling))
    others = Snapshots(str(tmp_path)).others()
    assert [s.pid for s in others] == [os.getpid() + 1]
    mine.merge({(m, r, s): c for m, r, s, c in others[0].series})
    assert sum(mine.series[("GET", "/r", 200)][:-1]) == 5
    prepare(str(tmp_path))
    assert not list(tmp_path.glob("*.snapshot"))


def test_without_a_directory_a_worker_is_on_its_own() -> None:
    snapshots = Snapshots("")
    snapshots.write(Histogram(), {})
    assert snapshots.others() == []
