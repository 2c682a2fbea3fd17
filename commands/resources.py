"""Resource use cases: create, upsert by external key, replace, merge-patch, delete, archive and
restore a typed resource, each checked against its type's current schema version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import msgspec

from commands.ports import EventStore, Schemas
from commands.runner import (
    Context,
    Loaded,
    Result,
    Seal,
    StreamWrite,
    check_expected,
    execute,
    load,
    write,
)
from domain.errors import ForeignNotFound, InvalidValue, NotFound
from domain.organization import decider as org
from domain.organization.rules import require_live
from domain.permissions import Action
from domain.resource import decider as res
from domain.resource.access import check_write
from domain.resource.commands import (
    ArchiveResource,
    Content,
    CreateResource,
    DeleteResource,
    PatchResource,
    ReplaceResource,
    RestoreResource,
    UpsertResource,
)
from domain.resource.document import document, merge_patch
from domain.resource.events import ResourceEvent
from domain.resource.fields import kept
from domain.resource.relations import check_acyclic, parents
from domain.resource.stamps import Stamp, actor_text, folded, replayed
from domain.resource_type import decider as rt

MAX_MESSAGE = 300  # the decoder's message, as it reaches the error's params
Transition = DeleteResource | ArchiveResource | RestoreResource


class ResourceCommands:
    def __init__(self, store: EventStore, schemas: Schemas, *, retries: int = 5) -> None:
        self.store, self.schemas, self.retries = store, schemas, retries

    def create(self, ctx: Context, organization_id: UUID, resource_type: str, content: Content,
               seal: Seal | None = None) -> Result:
        resource_id = ctx.new_id()  # fresh: no stream to load

        def attempt() -> list[StreamWrite]:
            type_version = self._checked(organization_id, resource_type, content)
            command = CreateResource(organization_id=organization_id,
                                     resource_type=resource_type, type_version=type_version,
                                     content=content)
            return [guarded(ctx, "create", resource_id, organization_id,
                            Loaded(res.INITIAL, 0), res.decide(command, res.INITIAL))]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal)

    def upsert(self, ctx: Context, organization_id: UUID, resource_type: str, key: str,
               content: Content, *, expected_version: int | None = None,
               seal: Seal | None = None) -> Result:
        """The key's stream is derived from it: concurrent upserts of a new key meet at
        version 0, and the one retried replaces what the other created."""
        resource_id = res.key_stream_id(organization_id, resource_type, res.check_key(key))

        def attempt() -> list[StreamWrite]:
            current = loaded(self.store, resource_id)
            check_expected(expected_version, current.version)
            written = content if current.state.status == "absent" else kept(
                ctx.grants, f"resources:{resource_type}", current.state.content, content)
            type_version = self._checked(organization_id, resource_type, written)
            self._acyclic(resource_id, written)
            command = UpsertResource(organization_id=organization_id,
                                     resource_type=resource_type, type_version=type_version,
                                     external_key=key, content=written)
            return [guarded(ctx, "update", resource_id, organization_id, current,
                            res.decide(command, current.state))]

        return execute(self.store, ctx, attempt, retries=self.retries,
                       pinned=expected_version is not None, seal=seal)

    def replace(self, ctx: Context, organization_id: UUID, resource_type: str,
                resource_id: UUID, content: Content, *, expected_version: int | None = None,
                seal: Seal | None = None) -> Result:
        def attempt() -> list[StreamWrite]:
            current = self._current(organization_id, resource_type, resource_id,
                                    expected_version)
            written = kept(ctx.grants, f"resources:{resource_type}", current.state.content,
                           content)
            type_version = self._checked(organization_id, resource_type, written)
            self._acyclic(resource_id, written)
            command = ReplaceResource(type_version=type_version, content=written)
            return [guarded(ctx, "update", resource_id, organization_id, current,
                            res.decide(command, current.state))]

        return execute(self.store, ctx, attempt, retries=self.retries,
                       pinned=expected_version is not None, seal=seal)

    def patch(self, ctx: Context, organization_id: UUID, resource_type: str,
              resource_id: UUID, patch: dict[str, Any], *,
              expected_version: int | None = None, seal: Seal | None = None) -> Result:
        """``patch`` is an RFC 7396 merge patch on the resource's writable document
        (``data``, ``metadata`` without checksum and size, ``relationships``)."""

        def attempt() -> list[StreamWrite]:
            current = self._current(organization_id, resource_type, resource_id,
                                    expected_version)
            content = patched(current.state.content, patch)
            type_version = self._checked(organization_id, resource_type, content)
            self._acyclic(resource_id, content)
            command = PatchResource(type_version=type_version, content=content)
            return [guarded(ctx, "update", resource_id, organization_id, current,
                            res.decide(command, current.state))]

        return execute(self.store, ctx, attempt, retries=self.retries,
                       pinned=expected_version is not None, seal=seal)

    def transition(self, ctx: Context, organization_id: UUID, resource_type: str,
                   resource_id: UUID, command: Transition, *,
                   expected_version: int | None = None, seal: Seal | None = None) -> Result:
        """Delete (soft), archive or restore."""

        def attempt() -> list[StreamWrite]:
            current = self._current(organization_id, resource_type, resource_id,
                                    expected_version)
            action: Action = "delete" if isinstance(command, DeleteResource) else "update"
            return [guarded(ctx, action, resource_id, organization_id, current,
                            res.decide(command, current.state))]

        return execute(self.store, ctx, attempt, retries=self.retries,
                       pinned=expected_version is not None, seal=seal)

    def delete(self, ctx: Context, organization_id: UUID, resource_type: str,
               resource_id: UUID, dependents: tuple[UUID, ...] = (), *,
               expected_version: int | None = None, seal: Seal | None = None) -> Result:
        """Delete (soft) the resource and, for a cascade, the ``dependents`` the caller found
        (``DELETE ?cascade=true``): every deletion in one append, or none."""

        def attempt() -> list[StreamWrite]:
            current = self._current(organization_id, resource_type, resource_id,
                                    expected_version)
            writes = [guarded(ctx, "delete", resource_id, organization_id, current,
                              res.decide(DeleteResource(), current.state))]
            for other in dependents:
                found = loaded(self.store, other)
                if found.state.organization_id == organization_id and other != resource_id:
                    writes.append(guarded(ctx, "delete", other, organization_id, found,
                                          res.decide(DeleteResource(), found.state),
                                          named=False))
            return writes

        return execute(self.store, ctx, attempt, retries=self.retries,
                       pinned=expected_version is not None, seal=seal)

    def _acyclic(self, resource_id: UUID, content: Content) -> None:
        """No parent chain from the new relationships leads back to the resource: read from
        the event store (each ancestor's stream), so a write just made counts at once."""
        check_acyclic(resource_id, content.relationships, lambda ancestor: parents(
            load(self.store, res.DECIDER, ancestor).state.relationships))

    def _current(self, organization_id: UUID, resource_type: str, resource_id: UUID,
                 expected_version: int | None) -> Loaded[res.Resource]:
        return current_of(loaded(self.store, resource_id), organization_id, resource_type,
                          expected_version)

    def _checked(self, organization_id: UUID, resource_type: str, content: Content) -> int:
        require_live(load(self.store, org.DECIDER, organization_id).state)
        type_id, kind = type_of(self.store, organization_id, resource_type)
        return checked(self.schemas, type_id, kind, content,
                       lambda related: owned(self.store, related, organization_id))


def guarded(ctx: Context, action: Action, resource_id: UUID, organization_id: UUID,
            current: Loaded[res.Resource], events: list[ResourceEvent], *,
            named: bool = True) -> StreamWrite:
    """The resource's write, once the caller's permission filters admit the resource as it is
    and (but for a delete) as the events leave it, written by the caller now, and its
    ``fields`` every path the write changes (``named``: the caller asked for this one, not a
    cascade)."""
    if ctx.grants is not None:
        after = (folded(current.state, events, stamp_of(ctx)), current.version + len(events))
        check_write(ctx.grants, action, resource_id, (current.state, current.version), after,
                    named=named)
    return write(res.DECIDER, resource_id, organization_id, current.version, events)


def loaded(store: EventStore, resource_id: UUID) -> Loaded[res.Resource]:
    """The resource with who wrote it and when (its stamps), and its version."""
    return Loaded(*replayed(store.load(resource_id)))


def stamp_of(ctx: Context) -> Stamp:
    """Who the caller's writes are by, and about when (the append's clock reads again)."""
    return Stamp(actor_text(ctx.actor), ctx.clock())


def current_of(current: Loaded[res.Resource], organization_id: UUID, resource_type: str,
               expected_version: int | None) -> Loaded[res.Resource]:
    """The resource, if it is of ``resource_type`` in the organization (another
    organization's is not found, and recorded as a denied access)."""
    state = current.state
    if state.status != "absent" and state.organization_id != organization_id:
        raise ForeignNotFound("resource not found", code="resource_not_found")
    if state.status == "absent" or state.resource_type != resource_type:
        raise NotFound("resource not found", code="resource_not_found")
    check_expected(expected_version, current.version)
    return current


def type_of(store: EventStore, organization_id: UUID,
            resource_type: str) -> tuple[UUID, rt.ResourceType]:
    """The organization's active type of that name, and its stream id."""
    type_id = rt.stream_id(organization_id, resource_type)
    kind = load(store, rt.DECIDER, type_id).state
    if kind.status != "active":
        raise NotFound("resource type not found", code="resource_type_not_found")
    return type_id, kind


def checked(schemas: Schemas, type_id: UUID, kind: rt.ResourceType, content: Content,
            known: Callable[[UUID], bool]) -> int:
    """The type's current version, after checking the content against it: the data matches
    its schema, and every relationship names a resource ``known`` to the organization. The
    content's bounds are the decider's to check (``res.decide``), once; the request bodies
    bound the same fields before any of this runs."""
    schemas.validator((type_id, kind.type_version), kind.schemas[-1])(content.data)
    for i, related in enumerate(content.relationships):
        if not known(related.id):
            raise InvalidValue("a relationship names no resource of this organization",
                               field=f"relationships[{i}]", code="relationship_unknown")
    return kind.type_version


def owned(store: EventStore, resource_id: UUID, organization_id: UUID) -> bool:
    """Whether the stream is a resource of the organization (by its first event)."""
    first = store.load(resource_id, lte=1)
    return bool(first) and first[0].stream_type == res.DECIDER.stream_type and (
        first[0].organization_id == organization_id)


def patched(content: Content, patch: dict[str, Any]) -> Content:
    """``content`` with the merge patch applied; a result that is no resource is a 422."""
    merged = merge_patch(document(content), patch)
    metadata = merged.get("metadata") if isinstance(merged.get("metadata"), dict) else {}
    try:
        return msgspec.convert({"data": merged.get("data", {}), **metadata,
                                "relationships": merged.get("relationships") or []}, Content)
    except msgspec.ValidationError as e:
        message = str(e)[:MAX_MESSAGE]
        raise InvalidValue(f"the patched resource is not valid: {message}", field="body",
                           code="patch_invalid", params={"message": message}) from None
