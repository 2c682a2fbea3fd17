"""The dashboard's reads for one scope (an organization, or every one): the last minutes of
traffic from the metric views, this month's usage, and the pipeline's lag. Cheap by design:
the minute states of ``api_metrics_1m`` over a short window, one usage rollup row per
organization, and the lag query /metrics already runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from clickhouse_connect.driver.client import Client
from psycopg import AsyncConnection

from projections import metric_queries, usage_queries
from projections.usage_queries import Counts, Levels

_COUNTS = ("SELECT sum(api_calls), sum(bytes_in) + sum(bytes_out), uniqExact(organization_id)"
           " FROM usage_monthly WHERE month = {month:Date}")


class Usage(NamedTuple):
    period: str
    counts: Counts
    levels: Levels
    plan: str | None  # the organization's plan; None in the operator's view
    organizations: int  # those with calls this month (the operator's view), else 1


def traffic(ch: Client, org: UUID | None, now: datetime, minutes: int) -> metric_queries.Metrics:
    """The last ``minutes`` minutes (the current one included) in minute buckets."""
    end = metric_queries.floor_time(now, "1m") + timedelta(minutes=1)
    return metric_queries.metrics(ch, metric_queries.Window(
        org, end - timedelta(minutes=minutes), end, "1m"))


def month_counts(ch: Client, org: UUID | None, period: str) -> tuple[Counts, int]:
    """This month's calls and bandwidth (one organization's, or every one's), and how many
    organizations made calls."""
    sql = _COUNTS
    values: dict[str, object] = {"month": usage_queries.first_day(period)}
    if org is not None:
        sql += " AND organization_id = {org:UUID}"
        values["org"] = org
    calls, size, organizations = ch.query(sql, parameters=values).result_rows[0]
    return Counts(int(calls or 0), int(size or 0)), int(organizations or 0)


def month_levels(ch: Client, org: UUID | None) -> Levels:
    """Storage and users now (summed over organizations for the operator)."""
    found = usage_queries.levels(ch, org)
    return Levels(sum(lv.storage for lv in found.values()), sum(lv.users for lv in found.values()))


async def plan(conn: AsyncConnection, org: UUID | None) -> str | None:
    """The organization's plan (None in the operator's view)."""
    found = await usage_queries.plan(conn, org) if org is not None else None
    return None if found is None else found.plan


def period_now(now: datetime) -> str:
    return usage_queries.period_of(now.astimezone(UTC))
