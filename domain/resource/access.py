"""Permission filters on resource writes: the resource as the API shows it (what a grant's
filters are written against), and whether a write may touch it, as it was and as it leaves it.

The routes check the action on the type before anything runs; the filters need the resource
itself, so the use cases (single writes, transactions, bulk items) check them here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.errors import Forbidden, NotFound
from domain.permissions import Action, Permissions, admitted
from domain.resource.decider import Resource
from domain.resource.fields import check_fields


def shown(resource_id: UUID, state: Resource, version: int) -> dict[str, Any]:
    """The resource in the API's camelCase shape, times as RFC 3339 text as a response has
    them (what a grant's filters are compared with)."""
    return {"id": str(resource_id), "type": state.resource_type,
            "typeVersion": state.type_version, "externalKey": state.external_key,
            "data": state.data, "metadata": {
                "tags": list(state.tags), "labels": state.labels,
                "annotations": state.annotations, "checksum": state.checksum,
                "size": state.size},
            "relationships": [{"type": r.type, "id": str(r.id)} for r in state.relationships],
            "status": state.status, "version": version, "createdBy": state.created_by,
            "updatedBy": state.updated_by, "createdAt": _text(state.created_at),
            "updatedAt": _text(state.updated_at), "deletedAt": _text(state.deleted_at)}


def _text(at: datetime | None) -> str | None:
    return None if at is None else str(msgspec.to_builtins(at))


def check_write(grants: tuple[Permissions, ...] | None, action: Action, resource_id: UUID,
                before: tuple[Resource, int], after: tuple[Resource, int], *,
                named: bool = True) -> None:
    """A resource the caller names that its filters do not admit as it is cannot be found by
    it (as a read would not); one they would not admit as the write leaves it (but for a
    delete), that a cascade would take along (``named`` False), or a write that changes a
    path outside its ``fields`` is refused (403)."""
    if grants is None:
        return
    state, version = before
    resource = f"resources:{after[0].resource_type}"
    hidden = state.status != "absent" and not admitted(grants, resource, action,
                                                       shown(resource_id, state, version))
    if hidden and named:
        raise NotFound("resource not found", code="resource_not_found")
    if hidden or (action != "delete" and not admitted(grants, resource, action,
                                                      shown(resource_id, *after))):
        raise Forbidden(f"this caller may not {action} {resource} with these values",
                        code="permission_denied",
                        params={"action": action, "resource": resource})
    check_fields(grants, action, resource, state, after[0])
