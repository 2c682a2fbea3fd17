"""OAuth client routes: register (the secret is shown once), list, read, update, rotate the
secret, delete."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.apikeys.routes import no_idempotency
from api.auth.access import Tenant, organization_for, require
from api.auth.tenancy import not_found, read
from api.oauthclients.schemas import (
    ClientChanged,
    CreateClientBody,
    IssuedClient,
    OAuthClientList,
    OAuthClientOut,
    UpdateClientBody,
)
from api.platform import openapi as docs
from api.platform.dependencies import CaughtUp, Ctx, Services, waits_for
from domain.oauthclient import decider as client
from infra.container import Container
from projections import oauth_client_queries as clients
from projections.paging import Query

ClientId = FromPath[UUID]
CLIENT_ERRORS = ("redirect_uri_invalid", "redirect_uri_required", "scope_invalid",
                 "grant_types_required", "redirect_uris_too_many", "scopes_too_many",
                 "oauth_client_name_invalid")




def out(row: dict[str, Any]) -> OAuthClientOut:
    return OAuthClientOut(client_id=str(row["id"]), **row)


class OAuthClientController(Controller):
    path = "/v1/oauth/clients"
    tags = ["oauth"]
    dependencies = waits_for("oauth_clients")

    @post("/", status_code=201, summary="Register an OAuth client (the secret is shown once)",
          **docs.documented(201, IssuedClient, *docs.BODY, "json_too_deep", "payload_too_large",
                            "event_too_large",
                            "not_found", "organization_not_found", "organization_id_required",
                            "organization_suspended_no_clients", "permission_denied",
                            "idempotency_not_supported", *CLIENT_ERRORS,
                            success_headers=("Location",)))
    async def create(self, request: Request, container: Services, ctx: Ctx, tenant: Tenant,
                     data: JSONBody[CreateClientBody]) -> Response[IssuedClient]:
        no_idempotency(request)
        org_id = organization_for(tenant, data.organization_id)
        require(request, "oauth_clients", "create", org_id)
        issued = await to_thread.run_sync(lambda: container.oauth_clients.register(
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
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp,
                    organization_id: Annotated[UUID | None, QueryParameter(required=False)] = None,
                    ) -> OAuthClientList:
        org_id = organization_id or tenant
        require(request, "oauth_clients", "read", org_id)
        return OAuthClientList(data=await _rows(
            request, container, caught_up, lambda conn: clients.listed(conn, org_id)))

    @get("/{client_id:uuid}", summary="One OAuth client (never its secret)",
         **docs.read(OAuthClientOut, "invalid_parameter", "not_found", "oauth_client_not_found",
                     "permission_denied", "not_caught_up"))
    async def read(self, request: Request, client_id: ClientId, container: Services,
                   tenant: Tenant, caught_up: CaughtUp) -> OAuthClientOut:
        rows = await _rows(request, container, caught_up,
                           lambda conn: clients.with_id(conn, client_id))
        if not rows or (tenant not in (None, rows[0].organization_id)):
            raise await not_found(container, request, client_id, "oauth_client_not_found")
        require(request, "oauth_clients", "read", rows[0].organization_id)
        return rows[0]

    @patch("/{client_id:uuid}", summary="Change an OAuth client's name, redirect URIs, scopes "
           "or grant types", **docs.documented(
               200, ClientChanged, *docs.BODY, "json_too_deep", "payload_too_large",
               "oauth_client_not_found", "oauth_client_deleted", "permission_denied",
               "idempotency_not_supported", *CLIENT_ERRORS))
    async def update(self, request: Request, client_id: ClientId, container: Services,
                     ctx: Ctx, tenant: Tenant, data: JSONBody[UpdateClientBody]) -> ClientChanged:
        no_idempotency(request)
        require(request, "oauth_clients", "update")
        command = client.UpdateClient(
            name=data.name, redirect_uris=_tuple(data.redirect_uris), scopes=_tuple(data.scopes),
            grant_types=_tuple(data.grant_types))
        result = await to_thread.run_sync(lambda: container.oauth_clients.update(
            ctx, tenant, client_id, command))
        return ClientChanged(id=client_id, version=result.version, position=result.position)

    @post("/{client_id:uuid}/rotate-secret", status_code=200,
          summary="A new client secret; the old one stops working at once",
          **docs.documented(200, IssuedClient, "oauth_client_not_found", "oauth_client_deleted",
                            "permission_denied", "idempotency_not_supported"))
    async def rotate_secret(self, request: Request, client_id: ClientId, container: Services,
                            ctx: Ctx, tenant: Tenant) -> IssuedClient:
        no_idempotency(request)
        require(request, "oauth_clients", "update")
        issued = await to_thread.run_sync(lambda: container.oauth_clients.rotate_secret(
            ctx, tenant, client_id))
        return IssuedClient(id=client_id, client_id=str(client_id), client_secret=issued.secret,
                            version=issued.result.version, position=issued.result.position)

    @delete("/{client_id:uuid}", status_code=200, summary="Delete an OAuth client",
            **docs.documented(200, ClientChanged, "oauth_client_not_found",
                              "oauth_client_deleted", "permission_denied"))
    async def delete(self, request: Request, client_id: ClientId, container: Services,
                     ctx: Ctx, tenant: Tenant) -> ClientChanged:
        require(request, "oauth_clients", "delete")
        result = await to_thread.run_sync(lambda: container.oauth_clients.delete(
            ctx, tenant, client_id))
        return ClientChanged(id=client_id, version=result.version, position=result.position)


async def _rows(request: Request, c: Container, caught_up: CaughtUp,
                query: Query) -> list[OAuthClientOut]:
    await caught_up(c)
    rows = await read(c, request, query)
    return [out(r) for r in rows]


def _tuple(values: list[Any] | None) -> tuple[Any, ...] | None:
    return tuple(values) if values is not None else None
