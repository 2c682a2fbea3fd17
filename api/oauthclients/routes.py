"""OAuth client routes: register (the secret is shown once), list, read, update, rotate the
secret, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta
from psycopg.rows import dict_row

from api.apikeys.routes import no_idempotency
from api.auth.access import principal_of, require
from api.auth.tenancy import not_found, reading
from api.organizations.routes import MinPosition, caught_up, container_of, context_of
from api.platform import openapi as docs
from api.platform.bodies import Body, Name
from api.platform.errors import ApiException
from domain.limits import MAX_SCOPE, MAX_SCOPES, MAX_URI, MAX_URIS
from domain.oauthclient import decider as client
from domain.oauthclient.events import GrantType

ClientId = FromPath[UUID]
Uris = Annotated[list[Annotated[str, Meta(max_length=MAX_URI)]], Meta(max_length=MAX_URIS)]
Scopes = Annotated[list[Annotated[str, Meta(max_length=MAX_SCOPE)]], Meta(max_length=MAX_SCOPES)]
Grants = Annotated[list[GrantType], Meta(min_length=1, max_length=3)]
CLIENT_ERRORS = ("redirect_uri_invalid", "redirect_uri_required", "scope_invalid",
                 "grant_types_required", "redirect_uris_too_many", "scopes_too_many",
                 "oauth_client_name_invalid")


class CreateClientBody(Body, frozen=True):
    name: Name
    organization_id: UUID | None = None
    redirect_uris: Uris = []
    scopes: Scopes = []
    grant_types: Grants = msgspec.field(default_factory=lambda: ["client_credentials"])


class UpdateClientBody(Body, frozen=True):
    name: Name | None = None
    redirect_uris: Uris | None = None
    scopes: Scopes | None = None
    grant_types: Grants | None = None


class OAuthClientOut(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: UUID
    client_id: str
    organization_id: UUID
    name: str
    redirect_uris: list[str]
    scopes: list[str]
    grant_types: list[GrantType]
    status: str
    created_by: str
    created_at: datetime
    secret_rotated_at: datetime | None
    version: int


class IssuedClient(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: UUID
    client_id: str
    client_secret: str  # shown once; only its keyed hash is stored
    version: int
    position: int | None


class ClientChanged(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: UUID
    version: int
    position: int | None


class OAuthClientList(msgspec.Struct, frozen=True, kw_only=True):
    data: list[OAuthClientOut]


COLUMNS = ("id, organization_id, name, redirect_uris, scopes, grant_types, status, created_by,"
           " created_at, secret_rotated_at, version")


def out(row: dict[str, Any]) -> OAuthClientOut:
    return OAuthClientOut(client_id=str(row["id"]), **row)


def owner_of(request: Request) -> UUID | None:
    principal = principal_of(request)
    return principal.organization_id if principal else None


class OAuthClientController(Controller):
    path = "/v1/oauth/clients"
    tags = ["oauth"]

    @post("/", status_code=201, summary="Register an OAuth client (the secret is shown once)",
          **docs.documented(201, IssuedClient, *docs.BODY, "json_too_deep", "payload_too_large",
                            "event_too_large",
                            "not_found", "organization_not_found", "organization_id_required",
                            "organization_suspended_no_clients", "permission_denied",
                            "idempotency_not_supported", *CLIENT_ERRORS,
                            success_headers=("Location",)))
    async def create(self, request: Request,
                     data: JSONBody[CreateClientBody]) -> Response[IssuedClient]:
        no_idempotency(request)
        org_id = data.organization_id or owner_of(request)
        if org_id is None:
            raise ApiException(422, "validation_failed", reason="organization_id_required")
        require(request, "oauth_clients", "create", org_id)
        c, ctx = container_of(request), context_of(request)
        issued = await to_thread.run_sync(lambda: c.oauth_clients.register(
            ctx, org_id, name=data.name, redirect_uris=tuple(data.redirect_uris),
            scopes=tuple(data.scopes), grant_types=tuple(data.grant_types)))
        new_id = issued.result.stream_id
        return Response(IssuedClient(id=new_id, client_id=str(new_id),
                                     client_secret=issued.secret, version=issued.result.version,
                                     position=issued.result.position), status_code=201,
                        headers={"Location": f"/v1/oauth/clients/{new_id}"})

    @get("/", summary="List OAuth clients (never their secrets)",
         **docs.read(OAuthClientList, "invalid_parameter", "not_found", "permission_denied",
                     "not_caught_up"))
    async def list_(self, request: Request, min_position: MinPosition,
                    organization_id: Annotated[UUID | None, QueryParameter(required=False)] = None,
                    ) -> OAuthClientList:
        org_id = organization_id or owner_of(request)
        require(request, "oauth_clients", "read", org_id)
        return OAuthClientList(data=await self._rows(
            request, min_position, "organization_id = %s" if org_id else "true",
            (org_id,) if org_id else ()))

    @get("/{client_id:uuid}", summary="One OAuth client (never its secret)",
         **docs.read(OAuthClientOut, "invalid_parameter", "not_found", "oauth_client_not_found",
                     "permission_denied", "not_caught_up"))
    async def read(self, request: Request, client_id: ClientId,
                   min_position: MinPosition) -> OAuthClientOut:
        rows = await self._rows(request, min_position, "id = %s", (client_id,))
        if not rows or (owner_of(request) not in (None, rows[0].organization_id)):
            raise await not_found(container_of(request), request, client_id,
                                  "oauth_client_not_found")
        require(request, "oauth_clients", "read", rows[0].organization_id)
        return rows[0]

    @patch("/{client_id:uuid}", summary="Change an OAuth client's name, redirect URIs, scopes "
           "or grant types", **docs.documented(
               200, ClientChanged, *docs.BODY, "json_too_deep", "payload_too_large",
               "oauth_client_not_found", "oauth_client_deleted", "permission_denied",
               "idempotency_not_supported", *CLIENT_ERRORS))
    async def update(self, request: Request, client_id: ClientId,
                     data: JSONBody[UpdateClientBody]) -> ClientChanged:
        no_idempotency(request)
        require(request, "oauth_clients", "update")
        c, ctx = container_of(request), context_of(request)
        command = client.UpdateClient(
            name=data.name, redirect_uris=_tuple(data.redirect_uris), scopes=_tuple(data.scopes),
            grant_types=_tuple(data.grant_types))
        result = await to_thread.run_sync(lambda: c.oauth_clients.update(
            ctx, owner_of(request), client_id, command))
        return ClientChanged(id=client_id, version=result.version, position=result.position)

    @post("/{client_id:uuid}/rotate-secret", status_code=200,
          summary="A new client secret; the old one stops working at once",
          **docs.documented(200, IssuedClient, "oauth_client_not_found", "oauth_client_deleted",
                            "permission_denied", "idempotency_not_supported"))
    async def rotate_secret(self, request: Request, client_id: ClientId) -> IssuedClient:
        no_idempotency(request)
        require(request, "oauth_clients", "update")
        c, ctx = container_of(request), context_of(request)
        issued = await to_thread.run_sync(lambda: c.oauth_clients.rotate_secret(
            ctx, owner_of(request), client_id))
        return IssuedClient(id=client_id, client_id=str(client_id), client_secret=issued.secret,
                            version=issued.result.version, position=issued.result.position)

    @delete("/{client_id:uuid}", status_code=200, summary="Delete an OAuth client",
            **docs.documented(200, ClientChanged, "oauth_client_not_found",
                              "oauth_client_deleted", "permission_denied"))
    async def delete(self, request: Request, client_id: ClientId) -> ClientChanged:
        require(request, "oauth_clients", "delete")
        c, ctx = container_of(request), context_of(request)
        result = await to_thread.run_sync(lambda: c.oauth_clients.delete(
            ctx, owner_of(request), client_id))
        return ClientChanged(id=client_id, version=result.version, position=result.position)

    async def _rows(self, request: Request, min_position: int | None, where: str,
                    params: tuple[Any, ...]) -> list[OAuthClientOut]:
        c = container_of(request)
        await caught_up(c, min_position, "oauth_clients")
        async with reading(c, request) as conn:
            cur = conn.cursor(row_factory=dict_row)
            # A deleted client is gone, as a deleted role or a removed user is: 404, not listed.
            await cur.execute(f"SELECT {COLUMNS} FROM oauth_clients WHERE ({where})"
                              " AND status <> 'deleted' ORDER BY created_position LIMIT 500",
                              params)
            rows = await cur.fetchall()
        return [out(r) for r in rows]


def _tuple(values: list[Any] | None) -> tuple[Any, ...] | None:
    return tuple(values) if values is not None else None
