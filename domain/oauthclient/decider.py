"""OAuth client decider: register, update, rotate the secret, delete; and the rules for
redirect URIs (exact strings; https, or http on localhost) and scopes (``resource:action``)."""

from __future__ import annotations

from typing import Literal, TypeVar, assert_never
from urllib.parse import urlsplit
from uuid import UUID

import msgspec

from domain.decider import Decider
from domain.errors import AlreadyExists, InvalidState, InvalidValue, NotFound
from domain.limits import MAX_NAME, MAX_SCOPE, MAX_SCOPES, MAX_URI, MAX_URIS
from domain.oauthclient.events import (
    GrantType,
    OAuthClientDeleted,
    OAuthClientEvent,
    OAuthClientRegistered,
    OAuthClientSecretRotated,
    OAuthClientUpdated,
)
from domain.permissions import parse_scope

Status = Literal["absent", "active", "deleted"]
T = TypeVar("T")
LOCALHOSTS = ("localhost", "127.0.0.1", "::1")


class OAuthClient(msgspec.Struct, frozen=True, kw_only=True):
    status: Status = "absent"
    organization_id: UUID | None = None
    name: str = ""
    hashed_secret: str = ""
    redirect_uris: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    grant_types: tuple[GrantType, ...] = ()


INITIAL = OAuthClient()


class RegisterClient(msgspec.Struct, frozen=True, kw_only=True):
    organization_id: UUID
    name: str
    hashed_secret: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    grant_types: tuple[GrantType, ...]
    created_by: str


class UpdateClient(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None = None
    redirect_uris: tuple[str, ...] | None = None
    scopes: tuple[str, ...] | None = None
    grant_types: tuple[GrantType, ...] | None = None


class RotateSecret(msgspec.Struct, frozen=True, kw_only=True):
    hashed_secret: str


class DeleteClient(msgspec.Struct, frozen=True, kw_only=True):
    pass


OAuthClientCommand = RegisterClient | UpdateClient | RotateSecret | DeleteClient


def evolve(state: OAuthClient, event: OAuthClientEvent) -> OAuthClient:
    match event:
        case OAuthClientRegistered():
            return OAuthClient(status="active", organization_id=event.organization_id,
                               name=event.name, hashed_secret=event.hashed_secret,
                               redirect_uris=event.redirect_uris, scopes=event.scopes,
                               grant_types=event.grant_types)
        case OAuthClientUpdated():
            # Field by field (not from the event's field names): a field added to the event
            # later is ignored here until the state has a place for it.
            return msgspec.structs.replace(
                state, name=_or(event.name, state.name),
                redirect_uris=_or(event.redirect_uris, state.redirect_uris),
                scopes=_or(event.scopes, state.scopes),
                grant_types=_or(event.grant_types, state.grant_types))
        case OAuthClientSecretRotated():
            return msgspec.structs.replace(state, hashed_secret=event.hashed_secret)
        case OAuthClientDeleted():
            return msgspec.structs.replace(state, status="deleted")
        case _:
            return state


def _or(value: T | None, current: T) -> T:
    return current if value is None else value


def decide(command: OAuthClientCommand, state: OAuthClient) -> list[OAuthClientEvent]:
    match command:
        case RegisterClient():
            if state.status != "absent":
                raise AlreadyExists("OAuth client already exists", code="oauth_client_exists")
            return [OAuthClientRegistered(
                organization_id=command.organization_id, name=_name(command.name),
                hashed_secret=command.hashed_secret,
                redirect_uris=_uris(command.redirect_uris, command.grant_types),
                scopes=_scopes(command.scopes), grant_types=_grants(command.grant_types),
                created_by=command.created_by)]
        case UpdateClient():
            _require_active(state)
            grants = command.grant_types if command.grant_types is not None else state.grant_types
            uris = command.redirect_uris if command.redirect_uris is not None else (
                state.redirect_uris)
            _uris(uris, grants)
            return [OAuthClientUpdated(
                name=_name(command.name) if command.name is not None else None,
                redirect_uris=command.redirect_uris,
                scopes=_scopes(command.scopes) if command.scopes is not None else None,
                grant_types=_grants(command.grant_types)
                if command.grant_types is not None else None)]
        case RotateSecret():
            _require_active(state)
            return [OAuthClientSecretRotated(hashed_secret=command.hashed_secret)]
        case DeleteClient():
            _require_active(state)
            return [OAuthClientDeleted()]
        case _:
            assert_never(command)


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidValue(f"name must be 1-{MAX_NAME} characters", field="name",
                           code="oauth_client_name_invalid")
    return name


def valid_redirect_uri(uri: str) -> bool:
    """https anywhere, or http on the loopback host (native apps); no fragment."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return False
    if parts.fragment or not parts.netloc or len(uri) > MAX_URI:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCALHOSTS)


def _uris(uris: tuple[str, ...], grants: tuple[GrantType, ...]) -> tuple[str, ...]:
    if len(uris) > MAX_URIS:
        raise InvalidValue(f"at most {MAX_URIS} redirect URIs", field="redirectUris",
                           code="redirect_uris_too_many", params={"max": MAX_URIS})
    for uri in uris:
        if not valid_redirect_uri(uri):
            raise InvalidValue(f"{uri!r} is not an https (or http://localhost) URI without a "
                               "fragment", field="redirectUris", code="redirect_uri_invalid",
                               params={"value": uri})
    if "authorization_code" in grants and not uris:
        raise InvalidValue("the authorization_code grant needs at least one redirect URI",
                           field="redirectUris", code="redirect_uri_required")
    return tuple(dict.fromkeys(uris))


def valid_scope(scope: str) -> bool:
    return parse_scope(scope) is not None and " " not in scope and len(scope) <= MAX_SCOPE


def _scopes(scopes: tuple[str, ...]) -> tuple[str, ...]:
    if len(scopes) > MAX_SCOPES:
        raise InvalidValue(f"at most {MAX_SCOPES} scopes", field="scopes",
                           code="scopes_too_many", params={"max": MAX_SCOPES})
    for scope in scopes:
        if not valid_scope(scope):
            raise InvalidValue(f"{scope!r} is not a scope like organizations:read",
                               field="scopes", code="scope_invalid", params={"value": scope})
    return tuple(dict.fromkeys(scopes))


def _grants(grants: tuple[GrantType, ...]) -> tuple[GrantType, ...]:
    if not grants:
        raise InvalidValue("at least one grant type is required", field="grantTypes",
                           code="grant_types_required")
    return tuple(dict.fromkeys(grants))


def _require_active(state: OAuthClient) -> None:
    if state.status == "absent":
        raise NotFound("OAuth client not found", code="oauth_client_not_found")
    if state.status == "deleted":
        raise InvalidState("OAuth client has been deleted", code="oauth_client_deleted")


DECIDER = Decider("oauthclient", INITIAL, evolve, decide)
