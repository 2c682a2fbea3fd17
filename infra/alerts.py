"""The alert evaluator (`chronicle alerts`): each tick reads the enabled rules, measures each
over its window (one ClickHouse query per organization, projection lag from the projections'
checkpoints, quota use as the meter measures it: infra/quota_use.py) and fires or resolves
the rules whose state changed, as commands.

A transition is appended at the version the read model showed: if another evaluator, or an
edit, moved the rule since, the append is refused and the next tick looks again. A rule whose
window saw no request has nothing to measure (its p95 or error rate is None) and keeps its state.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any
from uuid import UUID

import psycopg
from clickhouse_connect.driver.client import Client

from commands.alert_rules import AlertRuleCommands
from commands.runner import Context, VersionConflict
from domain.alert_rule.commands import FireAlert, ResolveAlert
from domain.envelope import Actor
from domain.errors import DomainError
from infra import quota_use
from projections import alert_rule_queries, status
from projections.alert_rules import Evaluation, record

log = logging.getLogger(__name__)
ACTOR = Actor(kind="system", id="chronicle-alerts")
REQUEST_METRICS = ("error_rate", "p95_ms", "request_rate")


def aggregate(index: int, rule: dict[str, Any], now: datetime) -> tuple[str, dict[str, Any]]:
    """The rule's value as one SELECT expression over the organization's recent rows, and its
    parameters: aggregates with -If conditions, so that every rule shares one scan."""
    window = int(rule["window_seconds"])
    cond = f"timestamp >= {{s{index}:DateTime64(3, 'UTC')}}"
    params: dict[str, Any] = {f"s{index}": now - timedelta(seconds=window)}
    if rule["route"] is not None:
        cond += f" AND route = {{r{index}:String}}"
        params[f"r{index}"] = rule["route"]
    match rule["metric"]:
        case "error_rate":
            errors = 400 if rule["include_4xx"] else 500
            expr = f"countIf(status >= {errors} AND {cond}) / nullIf(countIf({cond}), 0)"
        case "p95_ms":
            expr = f"quantileIf(0.95)(duration_ms, {cond})"
        case _:
            expr = f"countIf({cond}) / {window}"
    return f"{expr} AS v{index}", params


def request_values(ch: Client, organization_id: UUID | None, rules: list[dict[str, Any]],
                   now: datetime) -> list[float | None]:
    """Each rule's value over its window ending ``now``: one query for the organization (a
    system-wide rule: every organization's requests)."""
    parts = [aggregate(i, r, now) for i, r in enumerate(rules)]
    params: dict[str, Any] = {"until": now, "earliest": now - timedelta(
        seconds=max(int(r["window_seconds"]) for r in rules))}
    for _, p in parts:
        params.update(p)
    where = ("timestamp >= {earliest:DateTime64(3, 'UTC')}"
             " AND timestamp <= {until:DateTime64(3, 'UTC')}")
    if organization_id is not None:
        where += " AND organization_id = {org:UUID}"
        params["org"] = organization_id
    found = ch.query(f"SELECT {', '.join(e for e, _ in parts)} FROM api_requests WHERE {where}",
                     parameters=params).result_rows[0]
    return [None if v is None or math.isnan(v) else float(v) for v in found]


def breached(rule: dict[str, Any], value: float | None) -> bool | None:
    """Whether ``value`` is past the rule's threshold; None when there is nothing to measure."""
    if value is None:
        return None
    return value > rule["threshold"] if rule["comparison"] == "gt" else value < rule["threshold"]


class Evaluator:
    def __init__(self, ch: Client, rules: AlertRuleCommands, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.ch, self.rules, self.clock = ch, rules, clock

    def tick(self, conn: psycopg.Connection) -> int:
        """Evaluate every enabled rule once (``conn`` in autocommit: each read sees the latest
        rows); the number of rules that fired or resolved."""
        now = self.clock()
        enabled = alert_rule_queries.enabled(conn)
        values = self._lag_values(conn, enabled)
        quota_rules = [r for r in enabled if quota_use.is_quota_metric(r["metric"])]
        if quota_rules:
            ruled = {r["organization_id"] for r in quota_rules} - {None}
            found = quota_use.shares(conn, self.ch, now, ruled)
            values.update(quota_use.values(quota_rules, found))
        for org, group in groupby((r for r in enabled if r["metric"] in REQUEST_METRICS),
                                  key=lambda r: r["organization_id"]):
            rules = list(group)
            values.update(zip((r["id"] for r in rules),
                              request_values(self.ch, org, rules, now), strict=True))
        record(conn, [Evaluation(r["id"], r["organization_id"], values[r["id"]], now)
                           for r in enabled])
        ctx = Context(actor=ACTOR, request_id=f"alerts-{uuid.uuid4().hex}", clock=self.clock)
        return sum(self._transition(ctx, r, values[r["id"]], now) for r in enabled)

    def _lag_values(self, conn: psycopg.Connection,
                    rules: Iterable[dict[str, Any]]) -> dict[UUID, float | None]:
        lagging = [r for r in rules if r["metric"] == "projection_lag"]
        if not lagging:
            return {}
        worst = max((int(s["lag"]) for s in status.statuses(conn)), default=0)
        return {r["id"]: float(worst) for r in lagging}

    def _transition(self, ctx: Context, rule: dict[str, Any], value: float | None,
                    now: datetime) -> bool:
        past, firing = breached(rule, value), rule["state"] == "firing"
        if past is None or past == firing:
            return False
        assert value is not None
        command = FireAlert(value=value, at=now) if past else ResolveAlert(value=value, at=now)
        try:
            self.rules.transition(ctx, rule["id"], command, rule["version"])
        except (VersionConflict, DomainError) as exc:
            log.info("alert rule %s moved since it was read: %s", rule["id"], exc)
            return False
        log.info("alert rule %s %s at %s", rule["id"], "fired" if past else "resolved", value)
        return True


class Pulse:
    """The process's health: healthy while ticks succeed at their pace; and its figures."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self.ok_at = time.monotonic()  # a grace of three intervals for the first tick
        self.ticks = self.failures = self.transitions = 0
        self.last_error = ""

    def report(self) -> dict[str, object]:
        late = time.monotonic() - self.ok_at > 3 * self.every_s + 10
        return {"status": "unhealthy" if late else "healthy", "ticks": self.ticks,
                "lastError": self.last_error}

    def metrics(self) -> dict[str, float]:
        return {"alerts_ticks_total": self.ticks, "alerts_failures_total": self.failures,
                "alerts_transitions_total": self.transitions,
                "alerts_last_tick_age_seconds": time.monotonic() - self.ok_at}


def run(evaluator: Evaluator, database_url: str, pulse: Pulse, stop: threading.Event) -> None:
    """Tick every ``pulse.every_s`` seconds until ``stop`` is set, on a connection of its own
    each time; a failed tick is logged and the next one tries again (a service away)."""
    while not stop.is_set():
        try:
            with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
                pulse.transitions += evaluator.tick(conn)
            pulse.ticks, pulse.ok_at, pulse.last_error = pulse.ticks + 1, time.monotonic(), ""
        except Exception as exc:
            pulse.failures, pulse.last_error = pulse.failures + 1, str(exc)[:500]
            log.exception("alert evaluation failed; retrying in %.0f s", pulse.every_s)
        stop.wait(pulse.every_s)
