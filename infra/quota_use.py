"""The quota_use alert metrics: each organization's month's use of its plan's quotas as shares
(0: nothing used, 1: the quota reached, beyond 1 under an overage plan), measured as the meter
measures them (infra/metering.py): calls and bandwidth, storage and users from ClickHouse; the
plans from the PostgreSQL organizations read model."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from clickhouse_connect.driver.client import Client

from domain.organization.plans import METRICS, quota_of
from infra.metering import used_of
from projections import usage_queries as queries

PREFIX = "quota_use"
LARGEST = PREFIX  # the rule metric without a usage metric: the largest share of the four

Shares = dict[UUID, dict[str, float]]  # organization -> rule metric -> share


def is_quota_metric(metric: str) -> bool:
    return metric == LARGEST or metric.startswith(PREFIX + ".")


def shares(conn: psycopg.Connection, ch: Client, now: datetime,
           ruled: Iterable[UUID]) -> Shares:
    """This month's shares, by rule metric, of the live organizations that used something and
    of the ``ruled`` ones (an organization's rule reads 0, not nothing, on an unused month)."""
    period = queries.period_of(now)
    counts = queries.counts(ch, period)
    levels = queries.levels(ch)
    found: Shares = {}
    wanted = {*counts, *levels, *ruled}
    for org, organization in queries.organizations_now(conn, wanted).items():
        used = used_of(counts.get(org, queries.Counts()), levels.get(org, queries.Levels()))
        plan = quota_of(organization.plan)
        of = {f"{PREFIX}.{m}": used[m] / plan.of(m) for m in METRICS}
        found[org] = {**of, LARGEST: max(of.values())}
    return found


def values(rules: Iterable[dict[str, Any]], found: Shares) -> dict[UUID, float | None]:
    """Each quota rule's value: its organization's share (None: no such organization now); a
    system-wide rule's, the largest share of any organization."""
    out: dict[UUID, float | None] = {}
    for rule in rules:
        metric, org = rule["metric"], rule["organization_id"]
        if org is None:
            out[rule["id"]] = max((s[metric] for s in found.values()), default=None)
        else:
            out[rule["id"]] = found[org][metric] if org in found else None
    return out
