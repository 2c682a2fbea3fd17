"""The webhook endpoint decider: given events / when command / then events or error."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.webhook_endpoint import decider as wh
from domain.webhook_endpoint.commands import (
    DeleteEndpoint,
    DisableEndpoint,
    EnableEndpoint,
    RegisterEndpoint,
    Replay,
    RollSecret,
    UpdateEndpoint,
)
from domain.webhook_endpoint.events import (
    EndpointDeleted,
    EndpointDisabled,
    EndpointEnabled,
    EndpointRegistered,
    EndpointUpdated,
    ReplayRequested,
    SecretRolled,
)
from domain.webhook_endpoint.filters import check_filters, matches
from tests.unit.spec import Specification

ORG = uuid.uuid4()
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REGISTER = RegisterEndpoint(organization_id=ORG, url="https://hooks.example.com/in",
                            event_types=("resource.*",), sealed_secret="sealed-1")
REGISTERED = EndpointRegistered(organization_id=ORG, url="https://hooks.example.com/in",
                                event_types=("resource.*",), description="", metadata={},
                                active=True, sealed_secret="sealed-1")
spec = Specification(wh.DECIDER)


def test_registering_records_the_endpoint_with_its_sealed_secret() -> None:
    spec.given().when(REGISTER).then(REGISTERED)
    assert spec.given(REGISTERED).state.status == "active"


def test_an_endpoint_registered_inactive_starts_disabled_by_hand() -> None:
    state = spec.given(msgspec.structs.replace(REGISTERED, active=False)).state
    assert (state.status, state.disabled_reason) == ("disabled", "manual")


def test_registering_twice_is_refused() -> None:
    spec.given(REGISTERED).when(REGISTER).then_raises(AlreadyExists)


@pytest.mark.parametrize("url", ["ftp://example.com/", "https:///nohost", "https://u:p@x.com/",
                                 "https://x.com/#frag", "not a url", "https://x.com:99999/",
                                 "https://" + "a" * 2000 + ".com/"])
def test_a_url_that_is_not_an_absolute_http_url_is_refused(url: str) -> None:
    command = msgspec.structs.replace(REGISTER, url=url)
    spec.given().when(command).then_raises(InvalidValue, field="url")


@pytest.mark.parametrize("filters", [(), ("resource",), ("Resource.*",), ("a.b.c",), ("*.*x!",),
                                     tuple(f"t{i}.*" for i in range(51))])
def test_bad_event_type_filters_are_refused(filters: tuple[str, ...]) -> None:
    with pytest.raises(InvalidValue):
        check_filters(filters)


def test_filters_match_everything_an_aggregate_or_one_type() -> None:
    assert matches(("*",), "user.Invited")
    assert matches(("resource.*",), "resource.Created")
    assert not matches(("resource.*",), "resource_type.Registered")
    assert matches(("*.Deleted",), "role.Deleted")
    assert matches(("user.Invited", "role.*"), "user.Invited")
    assert not matches(("user.Invited",), "user.Registered")


def test_an_update_carries_only_what_changes() -> None:
    spec.given(REGISTERED).when(UpdateEndpoint(url="https://hooks.example.com/in",
                                               description="mine")).then(
        EndpointUpdated(description="mine"))
    spec.given(REGISTERED).when(UpdateEndpoint(event_types=("resource.*",))).then()


def test_rolling_keeps_the_previous_secret_signing_until_its_grace_ends() -> None:
    until = NOW + timedelta(hours=24)
    spec.given(REGISTERED).when(RollSecret(sealed_secret="sealed-2", previous_until=until)).then(
        SecretRolled(sealed_secret="sealed-2", previous_until=until))
    state = spec.given(REGISTERED, SecretRolled(sealed_secret="sealed-2",
                                                previous_until=until)).state
    assert state.signing_secrets(NOW) == ("sealed-2", "sealed-1")
    assert state.signing_secrets(until) == ("sealed-2",)


def test_disabling_records_why_and_a_second_disable_is_no_event() -> None:
    spec.given(REGISTERED).when(DisableEndpoint(reason="gone", detail="410")).then(
        EndpointDisabled(reason="gone", detail="410"))
    disabled = EndpointDisabled(reason="failures")
    spec.given(REGISTERED, disabled).when(DisableEndpoint(reason="gone")).then()
    assert spec.given(REGISTERED, disabled).state.disabled_reason == "failures"


def test_enabling_a_disabled_endpoint_and_only_a_disabled_one() -> None:
    spec.given(REGISTERED, EndpointDisabled(reason="manual")).when(EnableEndpoint()).then(
        EndpointEnabled())
    spec.given(REGISTERED).when(EnableEndpoint()).then()


def test_a_deleted_or_unknown_endpoint_is_not_found() -> None:
    spec.given(REGISTERED).when(DeleteEndpoint()).then(EndpointDeleted())
    spec.given(REGISTERED, EndpointDeleted()).when(EnableEndpoint()).then_raises(NotFound)
    spec.given().when(UpdateEndpoint(description="x")).then_raises(NotFound)


def test_a_replay_starts_at_exactly_one_of_a_position_or_a_time() -> None:
    spec.given(REGISTERED).when(Replay(from_position=0)).then(ReplayRequested(from_position=0))
    spec.given(REGISTERED).when(Replay(from_time=NOW)).then(ReplayRequested(from_time=NOW))
    for bad in (Replay(), Replay(from_position=1, from_time=NOW), Replay(from_position=-1)):
        assert spec.given(REGISTERED).when(bad).then_code() == "webhook_replay_invalid"
