"""POST /v1/transactions: up to MAX_TRANSACTION_ITEMS resource writes (create, replace, merge
patch, upsert by key, delete; any type of the organization, each with an optional expected
version) applied in one append, or none. The permission is `resources` (or
`resources:<type>`) with each item's action."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, post
from litestar.params import JSONBody, QueryParameter

from api.auth.access import Tenant, organization_for, require
from api.platform import openapi as docs
from api.platform.dependencies import Ctx, Services
from api.platform.errors import ErrorBody, FieldError, error_response
from api.platform.idempotency import run_rendered
from api.resources.routes import dependents_of
from api.transactions.schemas import TransactionBody, TransactionItemOut, TransactionOut
from commands.batch import ACTIONS
from commands.idempotency import Claim, Rendered
from commands.transactions import Committed, ItemVersionConflict, TxSeal
from domain.resource.writes import ResourceWrite

OrgParam = Annotated[UUID | None, QueryParameter(
    required=False, description="The operator's choice of organization (a caller's own is"
                                " implied)")]
WRITTEN = ("resource_type_not_found", "resource_not_found", "data_invalid", "data_too_large",
           "relationship_unknown", "relationship_cycle", "relationship_too_deep",
           "resource_has_dependents", "cascade_too_large", "not_caught_up",
           "resource_deleted", "resource_archived",
           "external_key_invalid", "batch_item_incomplete", "patch_invalid",
           "organization_id_required", "organization_not_found", "permission_denied",
           "version_conflict", "too_much_contention")


def allowed(request: Request, organization_id: UUID, items: Iterable[ResourceWrite]) -> None:
    """Every item's action on its type, checked before anything runs."""
    for kind, action in sorted({(i.resource_type, ACTIONS[i.op]) for i in items}):
        require(request, f"resources:{kind}", action, organization_id)


def on_item_conflict(request: Request, exc: ItemVersionConflict) -> Response[ErrorBody]:
    """412, as a stale If-Match, naming the item whose expected version is not current."""
    field = f"items[{exc.index}]"
    return error_response(request, 412, exc.code, str(exc), details=[FieldError(
        field, f"{field}: {exc}", exc.code)], params={"expected": exc.expected,
                                                      "actual": exc.actual or 0})


def rendered(committed: Committed) -> Rendered:
    body = TransactionOut(items=[TransactionItemOut(index=i, id=a.resource_id, version=a.version)
                                 for i, a in enumerate(committed.items)],
                          position=committed.position)
    return Rendered(200, msgspec.json.encode(body), {})


class TransactionController(Controller):
    path = "/v1/transactions"
    tags = ["transactions"]
    exception_handlers = {ItemVersionConflict: on_item_conflict}

    @post("/", status_code=200, summary="Apply several resource writes atomically",
          **docs.documented(200, TransactionOut, *docs.WRITE, *docs.BODY, *WRITTEN,
                            request_headers=("IdempotencyKey",),
                            success_headers=("Idempotent-Replayed",),
                            description="Committed: each item's resource id and new version,"
                                        " and the position of the last event."))
    async def commit(self, request: Request, container: Services, ctx: Ctx, tenant: Tenant,
                     data: JSONBody[TransactionBody],
                     organization_id: OrgParam = None) -> Response[Any]:
        org_id = organization_for(tenant, organization_id)
        items = [item.write(item.op) for item in data.items]
        allowed(request, org_id, items)
        c = container
        deleted = list(dict.fromkeys(
            i.resource_id for i in items if i.op == "delete" and i.resource_id is not None))
        found = await dependents_of(c, request, org_id, deleted) if deleted else {}

        def command(claim: Claim | None) -> Rendered:
            seal = None if claim is None else TxSeal(claim, rendered)
            return rendered(c.transactions.commit(ctx, org_id, items, seal=seal,
                                                  dependents=found))

        return await run_rendered(request, c, command)
