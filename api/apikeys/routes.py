"""API key routes: issue (the secret is shown once), list, read, roll, revoke."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.apikeys.schemas import ApiKeyList, ApiKeyOut, CreateApiKeyBody, IssuedKey, RollBody
from api.auth.access import Caller, Tenant, grantor_of, require
from api.auth.tenancy import not_found, read
from api.platform import openapi as docs
from api.platform.bodies import permissions_of, to_domain
from api.platform.dependencies import CaughtUp, Ctx, Services, waits_for
from api.platform.errors import ApiException
from domain.organization.plans import RateLimit
from domain.permissions import ApiPermission
from infra.container import Container
from projections import api_key_queries as keys
from projections.paging import Query

KeyId = FromPath[UUID]




def out(row: dict[str, Any], last_used: dict[Any, Any]) -> ApiKeyOut:
    used = last_used.get(str(row["id"]).encode())
    return ApiKeyOut(
        id=row["id"], organization_id=row["organization_id"], name=row["name"],
        environment=row["environment"], key_prefix=f"pk_{row['environment']}_{row['id'].hex}",
        status=row["status"], permissions=msgspec.convert(row["permissions"], list[ApiPermission]),
        rate_limit=msgspec.convert(row["rate_limit"], RateLimit) if row["rate_limit"] else None,
        expires_at=row["expires_at"], previous_valid_until=row["previous_valid_until"],
        created_by=row["created_by"], created_at=row["created_at"], version=row["version"],
        require_signature=row["require_signature"], role=row["role"],
        last_used_at=datetime.fromisoformat(used.decode()) if used else None)


def no_idempotency(request: Request) -> None:
    if "idempotency-key" in request.headers:
        raise ApiException(400, "idempotency_not_supported")


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    tags = ["api keys"]
    dependencies = waits_for("api_keys")

    @post("/", status_code=201, summary="Issue an API key (the secret is shown once)",
          **docs.documented(201, IssuedKey, *docs.BODY, "json_too_deep", "payload_too_large",
                            "event_too_large", "permission_too_large", "rate_limit_out_of_range",
                            "not_found", "organization_not_found", "organization_id_required",
                            "organization_suspended_no_keys", "permission_denied",
                            "permission_escalation", "idempotency_not_supported", "role_not_found",
                            "api_key_expiry_in_past", success_headers=("Location",),
                            description="The key: its secret appears in this response only."))
    async def create(self, request: Request, container: Services, ctx: Ctx, caller: Caller,
                     data: JSONBody[CreateApiKeyBody]) -> Response[IssuedKey]:
        no_idempotency(request)
        org_id = data.organization_id or (caller.organization_id if caller else None)
        if org_id is None:
            raise ApiException(422, "validation_failed", reason="organization_id_required")
        require(request, "api_keys", "create", org_id)
        c = container
        role = data.role or (caller.role if caller else None)
        issued = await to_thread.run_sync(lambda: c.api_keys.create(
            ctx, org_id, name=data.name, environment=data.environment,
            permissions=permissions_of(data.permissions),
            rate_limit=to_domain(data.rate_limit, RateLimit) if data.rate_limit else None,
            expires_at=data.expires_at, require_signature=data.require_signature, role=role,
            grantor=grantor_of(caller)))
        return Response(IssuedKey(id=issued.result.stream_id, key=issued.secret,
                                  version=issued.result.version, position=issued.result.position,
                                  signing_secret=issued.signing_secret(c.api_keys.api_secret)),
                        status_code=201,
                        headers={"Location": f"/v1/api-keys/{issued.result.stream_id}"})

    @get("/", summary="List API keys (never their secrets)",
         **docs.read(ApiKeyList, "invalid_parameter", "not_found", "permission_denied",
                     "not_caught_up"))
    async def list_(self, request: Request, container: Services, tenant: Tenant,
                    caught_up: CaughtUp,
                    organization_id: Annotated[UUID | None, QueryParameter(required=False)] = None,
                    ) -> ApiKeyList:
        org_id = organization_id or tenant
        require(request, "api_keys", "read", org_id)
        return ApiKeyList(data=await _rows(request, container, caught_up,
                                           lambda conn: keys.listed(conn, org_id)))

    @get("/{key_id:uuid}", summary="One API key (never its secret)",
         **docs.read(ApiKeyOut, "invalid_parameter", "not_found", "api_key_not_found",
                     "permission_denied", "not_caught_up"))
    async def read(self, request: Request, key_id: KeyId, container: Services,
                   caught_up: CaughtUp) -> ApiKeyOut:
        rows = await _rows(request, container, caught_up, lambda conn: keys.with_id(conn, key_id))
        if not rows:
            raise await not_found(container, request, key_id, "api_key_not_found")
        require(request, "api_keys", "read", rows[0].organization_id)
        return rows[0]

    @post("/{key_id:uuid}/roll", status_code=200,
          summary="Roll: a new secret; the old one stays valid for the grace period",
          **docs.documented(200, IssuedKey, "malformed_json", "validation_failed",
                            "json_too_deep", "payload_too_large", "api_key_not_found",
                            "api_key_revoked", "permission_denied", "idempotency_not_supported",
                            optional_body=True))
    async def roll(self, request: Request, key_id: KeyId, container: Services, ctx: Ctx,
                   tenant: Tenant, data: JSONBody[RollBody | None] = None) -> IssuedKey:
        no_idempotency(request)
        require(request, "api_keys", "update")
        c = container
        grace = timedelta(seconds=data.grace_period_seconds if data else 86400)
        issued = await to_thread.run_sync(lambda: c.api_keys.roll(ctx, tenant, key_id, grace))
        await c.key_changed(key_id)
        return IssuedKey(id=key_id, key=issued.secret, version=issued.result.version,
                         position=issued.result.position,
                         signing_secret=issued.signing_secret(c.api_keys.api_secret))

    @delete("/{key_id:uuid}", status_code=200, summary="Revoke an API key at once",
            **docs.documented(200, IssuedKey, "api_key_not_found", "api_key_revoked",
                              "permission_denied"))
    async def revoke(self, request: Request, key_id: KeyId, container: Services, ctx: Ctx,
                     tenant: Tenant) -> IssuedKey:
        require(request, "api_keys", "delete")
        c = container
        result = await to_thread.run_sync(lambda: c.api_keys.revoke(ctx, tenant, key_id))
        await c.key_changed(key_id)
        return IssuedKey(id=key_id, key="", version=result.version, position=result.position)


async def _rows(request: Request, c: Container, caught_up: CaughtUp,
                query: Query) -> list[ApiKeyOut]:
    await caught_up(c)
    rows = await read(c, request, query)
    used = await c.redis.hgetall(f"{c.settings.redis_key_prefix}apikeys.last_used")
    return [out(r, used) for r in rows]
