"""OAuth client decider: given events, when a command, then events or the rule's error."""

from __future__ import annotations

import uuid

import pytest

from domain.errors import DomainError
from domain.oauthclient import decider as client
from domain.oauthclient.events import OAuthClientDeleted, OAuthClientRegistered, OAuthClientUpdated
from tests.unit.spec import Specification

ORG = uuid.UUID(int=1)


def register(**changes: object) -> client.RegisterClient:
    fields: dict[str, object] = {
        "organization_id": ORG, "name": "App", "hashed_secret": "h",
        "redirect_uris": ("https://app.example/cb",), "scopes": ("organizations:read",),
        "grant_types": ("authorization_code",), "created_by": "operator", **changes}
    return client.RegisterClient(**fields)  # type: ignore[arg-type]


SPEC = Specification(client.DECIDER)


def given(*events: object) -> client.OAuthClient:
    return SPEC.given(*events).state


def code_of(command: client.OAuthClientCommand, state: client.OAuthClient) -> str:
    with pytest.raises(DomainError) as caught:
        client.decide(command, state)
    return caught.value.code


def test_registering_records_the_client_with_deduplicated_scopes() -> None:
    [event] = client.decide(register(scopes=("a:read", "a:read")), client.INITIAL)
    assert isinstance(event, OAuthClientRegistered)
    assert event.scopes == ("a:read",)
    assert given(event).status == "active"


@pytest.mark.parametrize(("changes", "code"), [
    ({"name": " "}, "oauth_client_name_invalid"),
    ({"redirect_uris": ("http://app.example/cb",)}, "redirect_uri_invalid"),
    ({"redirect_uris": ("https://app.example/cb#x",)}, "redirect_uri_invalid"),
    ({"redirect_uris": ("javascript:alert(1)",)}, "redirect_uri_invalid"),
    ({"redirect_uris": tuple(f"https://a.example/{i}" for i in range(11))},
     "redirect_uris_too_many"),
    ({"redirect_uris": ()}, "redirect_uri_required"),
    ({"scopes": ("organizations:fly",)}, "scope_invalid"),
    ({"scopes": tuple(f"r{i}:read" for i in range(51))}, "scopes_too_many"),
    ({"grant_types": ()}, "grant_types_required"),
])
def test_registration_rules(changes: dict[str, object], code: str) -> None:
    assert code_of(register(**changes), client.INITIAL) == code


@pytest.mark.parametrize("uri", ["http://localhost:8080/cb", "http://127.0.0.1/cb",
                                 "http://[::1]:9/cb", "https://app.example/cb?x=1"])
def test_https_and_loopback_http_redirect_uris_are_accepted(uri: str) -> None:
    assert client.valid_redirect_uri(uri)


def test_a_registered_client_cannot_be_registered_again_and_a_deleted_one_not_changed() -> None:
    registered = client.decide(register(), client.INITIAL)
    assert code_of(register(), given(*registered)) == "oauth_client_exists"
    deleted = given(*registered, OAuthClientDeleted())
    assert code_of(client.RotateSecret(hashed_secret="x"), deleted) == "oauth_client_deleted"
    assert code_of(client.DeleteClient(), client.INITIAL) == "oauth_client_not_found"


def test_an_update_keeps_what_it_does_not_name_and_checks_the_combination() -> None:
    state = given(*client.decide(register(), client.INITIAL))
    [event] = client.decide(client.UpdateClient(name="Renamed"), state)
    after = client.evolve(state, event)
    assert (after.name, after.redirect_uris) == ("Renamed", ("https://app.example/cb",))
    assert code_of(client.UpdateClient(redirect_uris=()), state) == "redirect_uri_required"


class UpdatedWithALaterField(OAuthClientUpdated, frozen=True):
    """An ``oauthclient.Updated`` as a later version may write it, with a field this
    state has no place for yet."""

    logo_uri: str | None = None


def test_an_update_event_with_a_field_the_state_does_not_know_still_replays() -> None:
    state = given(*client.decide(register(), client.INITIAL))
    after = client.evolve(state, UpdatedWithALaterField(name="Renamed",
                                                        logo_uri="https://app.example/l.png"))
    assert (after.name, after.scopes) == ("Renamed", ("organizations:read",))
