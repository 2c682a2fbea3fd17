"""Quota use as an alert metric on the real services: an organization's month of request rows
in ClickHouse is a share of its plan's call quota; a quota_use rule fires past its threshold and
resolves when a new month starts from nothing; another organization's rule sees none of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from domain.alert_rule.events import AlertFired, AlertResolved
from domain.organization.plans import PLAN_QUOTAS
from infra.eventstore import EventStore
from infra.metering import month_end
from infra.settings import Settings
from projections.api_requests import COLUMNS
from tests.integration.test_alert_evaluation import ch, events, requests, rule, seen, tick
from tests.integration.test_api_keys import new_org

__all__ = ["ch"]  # the fixture, shared with test_alert_evaluation
CALLS = 20
SHARE = CALLS / PLAN_QUOTAS["free"].api_calls


def test_a_quota_use_rule_fires_past_its_share_and_resolves_in_the_next_month(
        client: TestClient[Any], settings: Settings, store: EventStore, ch: Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    a, b = new_org(client, plan="free")["id"], new_org(client, plan="free")["id"]
    calls = rule(client, a, metric="quota_use.apiCalls", threshold=SHARE / 2)
    largest = rule(client, a, metric="quota_use", threshold=SHARE / 2)
    users = rule(client, a, metric="quota_use.users", threshold=0.5)
    blind = rule(client, b, metric="quota_use.apiCalls", threshold=0)
    ch.insert("api_requests", requests(a, now - timedelta(seconds=5), [200] * CALLS),
              column_names=COLUMNS)
    seen(client, blind, store.head())

    tick(settings, store, now)
    assert events(store, calls, AlertFired) == [AlertFired(value=SHARE, threshold=SHARE / 2,
                                                           at=now)]
    assert [f.value for f in events(store, largest, AlertFired)] == [SHARE]
    assert events(store, users, AlertFired) == events(store, blind, AlertFired) == []
    body = seen(client, calls, store.head())
    assert (body["state"], body["metric"], body["lastValue"]) == (
        "firing", "quota_use.apiCalls", pytest.approx(SHARE))
    assert seen(client, blind, store.head())["lastValue"] == 0.0

    next_month = month_end(now) + timedelta(hours=1)
    tick(settings, store, next_month)
    assert events(store, calls, AlertResolved) == [
        AlertResolved(value=0.0, threshold=SHARE / 2, at=next_month)]
    assert [r.value for r in events(store, largest, AlertResolved)] == [0.0]
    assert seen(client, calls, store.head())["state"] == "ok"
