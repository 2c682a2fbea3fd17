"""Webhook endpoint use cases on the in-memory store: the secret is made, returned once and
stored sealed; a destination the guard refuses writes nothing; a roll keeps the previous
secret signing for the grace; another organization's endpoint is not found."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from commands.organizations import OrganizationCommands
from commands.webhook_endpoints import Issued, WebhookEndpointCommands
from domain.errors import ForeignNotFound, InvalidValue
from domain.webhook_endpoint import decider as wh
from domain.webhook_endpoint.commands import RegisterEndpoint, UpdateEndpoint
from infra.ssrf import Guard
from infra.webhook_secrets import WebhookSecrets
from tests.builders import context
from tests.usecases.conftest import RacingStore, new_org

BOX = WebhookSecrets("test-encryption-key")


@pytest.fixture
def hooks(store: RacingStore) -> WebhookEndpointCommands:
    guard = Guard(resolver=lambda host, port: [(2, 1, 6, "", ("93.184.216.34", port))])
    return WebhookEndpointCommands(store, BOX, guard.check, retries=3)


def register(hooks: WebhookEndpointCommands, org: uuid.UUID,
             url: str = "https://hooks.example/in") -> Issued:
    return hooks.register(context(), RegisterEndpoint(
        organization_id=org, url=url, event_types=("*",), sealed_secret=""))


def test_the_secret_is_returned_once_and_stored_only_sealed_for_its_endpoint(
        store: RacingStore, organizations: OrganizationCommands,
        hooks: WebhookEndpointCommands) -> None:
    issued = register(hooks, new_org(organizations))
    state = wh.DECIDER.fold(wh.INITIAL, (e.event for e in store.load(issued.result.stream_id)))
    assert issued.secret not in state.sealed_secret
    assert BOX.open(state.sealed_secret, issued.result.stream_id) == issued.secret


def test_a_refused_destination_writes_nothing(
        store: RacingStore, organizations: OrganizationCommands,
        hooks: WebhookEndpointCommands) -> None:
    org = new_org(organizations)
    head = len(store.log)
    for url in ("http://127.0.0.1/", "http://0x7f.1/", "http://[::1]/"):
        with pytest.raises(InvalidValue):
            register(hooks, org, url)
    with pytest.raises(InvalidValue):
        hooks.update(context(), org, register(hooks, org).result.stream_id,
                     UpdateEndpoint(url="http://10.0.0.1/"))
    assert len(store.log) == head + 1  # the one registration that passed


def test_a_roll_signs_with_both_secrets_until_the_grace_ends(
        store: RacingStore, organizations: OrganizationCommands,
        hooks: WebhookEndpointCommands) -> None:
    org = new_org(organizations)
    first = register(hooks, org)
    endpoint = first.result.stream_id
    ctx = context()
    rolled = hooks.roll_secret(ctx, org, endpoint, timedelta(hours=1))
    state = wh.DECIDER.fold(wh.INITIAL, (e.event for e in store.load(endpoint)))
    opened = [BOX.open(s, endpoint) for s in state.signing_secrets(ctx.clock())]
    assert opened == [rolled.secret, first.secret]
    later = ctx.clock() + timedelta(hours=2)
    assert [BOX.open(s, endpoint) for s in state.signing_secrets(later)] == [rolled.secret]


def test_another_organizations_endpoint_is_not_found(
        organizations: OrganizationCommands, hooks: WebhookEndpointCommands) -> None:
    endpoint = register(hooks, new_org(organizations)).result.stream_id
    with pytest.raises(ForeignNotFound):
        hooks.roll_secret(context(), new_org(organizations, "other"), endpoint,
                          timedelta(0))
