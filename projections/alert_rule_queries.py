"""Queries on the alert_rules read model: a page of rules with their last evaluation, one rule,
and the enabled rules the evaluator reads on each tick."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import dict_row

from projections import paging
from projections.alert_rules import EVALUATIONS, TABLE

# The rule with its last evaluation (none yet: NULLs), as one relation paging can read.
VIEW = (f"(SELECT r.*, e.value AS last_value, e.evaluated_at AS last_evaluated_at FROM {TABLE} r"
        f" LEFT JOIN {EVALUATIONS} e ON e.rule_id = r.id) AS rules")
LIVE = "status = 'active'"
ENABLED = (f"SELECT id, organization_id, metric, window_seconds, comparison, threshold, route,"
           f" include_4xx, state, version FROM {TABLE} WHERE {LIVE} AND enabled"
           " ORDER BY organization_id NULLS FIRST, created_position")


async def page(conn: AsyncConnection, organization_id: UUID | None, *, limit: int,
               after: int | None = None) -> paging.Page:
    """The organization's live rules (every rule for the operator's None), in creation order."""
    where, params = ((f"organization_id = %s AND {LIVE}", (organization_id,))
                     if organization_id else (LIVE, ()))
    return await paging.page(conn, VIEW, "*", where, params, limit=limit, after=after,
                             count=True)


async def with_id(conn: AsyncConnection, rule_id: UUID) -> list[dict[str, Any]]:
    return (await paging.page(conn, VIEW, "*", f"id = %s AND {LIVE}", (rule_id,),
                              limit=1)).rows


def enabled(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every live, enabled rule, grouped by organization (the system-wide ones first)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(ENABLED).fetchall()
