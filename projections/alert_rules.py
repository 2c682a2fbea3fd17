"""The alert_rules read model in PostgreSQL: each rule's definition and whether it is firing,
and beside it ``alert_evaluations``, the evaluator's last value and time for each rule.

The evaluation is no event (a tick that changes nothing writes none), so the evaluator upserts
it directly; both tables sit behind the tenant wall, and a system-wide rule (no organization)
is seen by the operator only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

import psycopg

from domain.alert_rule import decider as alert
from domain.alert_rule.events import (
    AlertFired,
    AlertResolved,
    AlertRuleCreated,
    AlertRuleDeleted,
    AlertRuleUpdated,
)
from projections.base import Item
from projections.readmodel import ReadModel
from projections.rows import tenant_wall
from projections.table import Column, Index, Table

TABLE = "alert_rules"
EVALUATIONS = "alert_evaluations"

SPEC = Table(TABLE, tenant="organization_id", columns=(
    Column("id", "uuid"),
    Column("organization_id", "uuid", null=True),  # None: system-wide
    Column("name", "text"),
    Column("metric", "text"),
    Column("window_seconds", "integer"),
    Column("comparison", "text"),
    Column("threshold", "double precision"),
    Column("route", "text", null=True),
    Column("include_4xx", "boolean"),
    Column("enabled", "boolean"),
    Column("status", "text"),  # active | deleted
    Column("state", "text"),  # ok | firing
    Column("changed_value", "double precision", null=True),  # observed when it last changed
    Column("changed_at", "timestamptz", null=True),
    Column("version", "bigint"),
    Column("created_position", "bigint"),
    Column("created_at", "timestamptz"),
    Column("updated_at", "timestamptz"),
), indexes=(Index("organization_idx", ("organization_id", "created_position")),))

EVALUATIONS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {EVALUATIONS} (rule_id uuid PRIMARY KEY,"
    " organization_id uuid, value double precision, evaluated_at timestamptz NOT NULL)",
    *(s.as_string() for s in tenant_wall(EVALUATIONS, "organization_id")),
)
RECORD = (f"INSERT INTO {EVALUATIONS} (rule_id, organization_id, value, evaluated_at)"
          " VALUES (%s, %s, %s, %s) ON CONFLICT (rule_id) DO UPDATE SET value = EXCLUDED.value,"
          f" evaluated_at = EXCLUDED.evaluated_at WHERE {EVALUATIONS}.evaluated_at"
          " <= EXCLUDED.evaluated_at")


class Evaluation(NamedTuple):
    rule_id: UUID
    organization_id: UUID | None
    value: float | None  # None: nothing to measure in the window (no requests)
    evaluated_at: datetime


def record(conn: psycopg.Connection, evaluations: Sequence[Evaluation]) -> None:
    """The evaluator's last look at each rule (an older tick never overwrites a newer one)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(RECORD, [tuple(e) for e in evaluations])


def _definition(event: AlertRuleCreated | AlertRuleUpdated) -> dict[str, Any]:
    return {k: getattr(event, k) for k in alert.DEFINITION}


class AlertRulesProjection(ReadModel):
    spec = SPEC
    stream_type = alert.DECIDER.stream_type

    def match(self, cur: psycopg.Cursor, item: Item) -> None:
        match item.envelope.event:
            case AlertRuleCreated() as c:
                self.insert(cur, item, organization_id=c.organization_id, **_definition(c),
                            status="active", state="ok", changed_value=None, changed_at=None)
            case AlertRuleUpdated() as u:
                self.update(cur, item, **_definition(u))
            case AlertRuleDeleted():
                self.update(cur, item, status="deleted")
            case AlertFired() | AlertResolved() as t:
                self.update(cur, item, state="firing" if isinstance(t, AlertFired) else "ok",
                            changed_value=t.value, changed_at=t.at)
            case _:
                return
