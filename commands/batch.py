"""Resource writes staged together for one append (a transaction, a bulk operation's chunk):
each write is decided on the state the writes before it left, and none touches the store
until the caller appends them all.

A stream written twice in a batch gets two writes in order (versions n+1, then n+2); the
organization and each type are loaded once per batch, or once per chain of batches that follow
one another (a bulk operation's chunks, applied in one run); a relationship may name a resource an
earlier write of the batch created. The single writes' relationship rules hold on the batch's
states: no parent cycle (the ancestors as the batch leaves them, else their streams), and no
delete of a resource others depend on unless the item cascades (the dependents the read model
knows, as the batch leaves them, and those the batch itself made depend on it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, assert_never
from uuid import UUID

from commands.ports import EventStore, Schemas
from commands.resources import checked, current_of, loaded, owned, patched, type_of
from commands.runner import Loaded, StreamWrite, check_expected, load, write
from domain.errors import DomainError, InvalidState, InvalidValue
from domain.limits import MAX_CASCADE
from domain.organization import decider as org
from domain.organization.rules import require_live
from domain.permissions import Action, Permissions
from domain.resource import decider as res
from domain.resource.access import check_write
from domain.resource.commands import (
    Content,
    CreateResource,
    DeleteResource,
    PatchResource,
    ReplaceResource,
    ResourceCommand,
    UpsertResource,
)
from domain.resource.events import ResourceEvent
from domain.resource.fields import kept
from domain.resource.relations import check_acyclic, parents
from domain.resource.stamps import Stamp, folded, replayed
from domain.resource.writes import ResourceWrite, WriteOp
from domain.resource_type import decider as rt

# The permission action each write needs (the routes check it on the type beforehand).
ACTIONS: dict[WriteOp, Action] = {"create": "create", "replace": "update", "patch": "update",
                                  "upsert": "update", "delete": "delete"}
# For each of the resources (of the organization) a batch deletes, the live resources that
# depend on it, transitively, as the read model has them: asked once per batch.
Dependents = Callable[[UUID, Sequence[UUID]], Mapping[UUID, Sequence[UUID]]]


class Applied(NamedTuple):
    resource_id: UUID
    version: int


class Staged(NamedTuple):
    """One stream's write, decided, before it joins the batch."""

    stream_id: UUID
    before: Loaded[res.Resource]
    events: list[ResourceEvent]
    after: Loaded[res.Resource]


def _staged(stream_id: UUID, before: Loaded[res.Resource], events: list[ResourceEvent],
            stamp: Stamp) -> Staged:
    return Staged(stream_id, before, events, Loaded(folded(before.state, events, stamp),
                                                    before.version + len(events)))


class Batch:
    """Writes of one organization's resources, decided one after the other."""

    def __init__(self, store: EventStore, schemas: Schemas, organization_id: UUID, *,
                 dependents: Dependents, stamp: Stamp,
                 grants: tuple[Permissions, ...] | None = None,
                 after: Batch | None = None) -> None:
        """``dependents``: the read model's, for a delete; ``stamp``: who writes, and when;
        ``grants``: the caller's permission sets whose conditions every write must meet
        (None: none); ``after``: a batch whose append has not committed yet, which this one
        follows (it sees the streams that batch wrote as that batch left them)."""
        self.store, self.schemas, self.organization_id = store, schemas, organization_id
        self.dependents, self.grants, self.stamp = dependents, grants, stamp
        self._dependents: dict[UUID, Sequence[UUID]] = {}
        self.writes: list[StreamWrite] = []
        self._streams: dict[UUID, Loaded[res.Resource]] = {} if after is None else {
            w.stream_id: after._streams[w.stream_id] for w in after.writes}
        # The organization's liveness and its types, loaded once for a chain of batches (a
        # bulk operation's chunks): two loads per chunk were a third of a chunk's time.
        self._types: dict[str, tuple[UUID, rt.ResourceType]] = {} if after is None else (
            after._types)
        self._live: bool = after is not None and after._live

    def prefetch(self, items: Sequence[ResourceWrite]) -> None:
        """Load, in one read, the streams the items write that a create does not make, and
        ask the read model once what depends on those the items delete."""
        self._ask([i.resource_id for i in items if i.op == "delete" and i.resource_id])
        wanted = []
        for item in items:
            if item.op == "create":
                continue
            try:
                wanted.append(self._target(item, UUID(int=0)))  # no create: no new id
            except DomainError:  # the item itself will be refused with this error
                continue
        missing = [stream_id for stream_id in dict.fromkeys(wanted)
                   if stream_id not in self._streams]
        found = self.store.load_many(missing)
        for stream_id in missing:
            self._streams[stream_id] = Loaded(*replayed(found.get(stream_id, ())))

    def apply(self, item: ResourceWrite, new_id: UUID) -> Applied:
        """Decide ``item`` (a create takes ``new_id``); raise a DomainError, or a
        VersionConflict for a stale expected version, with nothing staged."""
        resource_id = self._target(item, new_id)
        # A create's id is new (random, or derived from a bulk item never applied): no stream
        # to load; were it taken, the append would fail on its version and decide again.
        current = self._streams.get(resource_id) or (
            Loaded(res.INITIAL, 0) if item.op == "create" else self._current(resource_id))
        if item.op in ("create", "upsert"):
            check_expected(item.expected_version, current.version)
        else:
            current = current_of(current, self.organization_id, item.resource_type,
                                 item.expected_version)
        events = res.decide(self._command(item, current.state), current.state)
        staged = [_staged(resource_id, current, events, self.stamp)]
        action = ACTIONS[item.op]
        if item.op == "delete":
            staged += self._cascade(resource_id, item.cascade)
        else:
            check_acyclic(resource_id, staged[0].after.state.relationships, self._parents)
        for i, one in enumerate(staged):  # the first is the item's, the others its cascade
            check_write(self.grants, action, one.stream_id, one.before, one.after,
                        named=i == 0)
        for one in staged:
            self.writes.append(write(res.DECIDER, one.stream_id, self.organization_id,
                                     one.before.version, one.events))
            self._streams[one.stream_id] = one.after
        return Applied(resource_id, staged[0].after.version)

    def _parents(self, resource_id: UUID) -> list[UUID]:
        return parents(self._current(resource_id).state.relationships)

    def _cascade(self, resource_id: UUID, cascade: bool) -> list[Staged]:
        """The deletions a delete of ``resource_id`` takes with it: none when nothing depends
        on it, else a 409 unless the item cascades."""
        found = self._depending(resource_id)
        if found and not cascade:
            raise InvalidState(f"{len(found)} resources depend on this one",
                               code="resource_has_dependents", params={"count": len(found)})
        if len(found) > MAX_CASCADE:
            raise InvalidState(f"a cascade deletes at most {MAX_CASCADE} dependents",
                               code="cascade_too_large", params={"max": MAX_CASCADE})
        return [_staged(other, before, res.decide(DeleteResource(), before.state), self.stamp)
                for other in found for before in (self._current(other),)]

    def _depending(self, resource_id: UUID) -> list[UUID]:
        """The live resources that depend on ``resource_id``, transitively: the read model's
        that the batch left live and depending, and those the batch made depend."""
        self._ask([resource_id])
        known = list(self._dependents[resource_id])
        marked, found = {resource_id, *known}, []
        for other in known:
            if (seen := self._streams.get(other)) is None or self._depends(seen, marked):
                found.append(other)
        marked = {resource_id, *found}
        grew = True
        while grew and len(found) <= MAX_CASCADE:
            grew = False
            for other, seen in self._streams.items():
                if other not in marked and self._depends(seen, marked):
                    found.append(other)
                    marked.add(other)
                    grew = True
        return found

    def _ask(self, deleted: Sequence[UUID]) -> None:
        if missing := [i for i in dict.fromkeys(deleted) if i not in self._dependents]:
            found = self.dependents(self.organization_id, missing)
            self._dependents.update({i: found.get(i, ()) for i in missing})

    def _depends(self, seen: Loaded[res.Resource], on: set[UUID]) -> bool:
        state = seen.state
        return state.status in ("active", "archived") and (
            state.organization_id == self.organization_id) and any(
            r.type == "dependency" and r.id in on for r in state.relationships)

    def _target(self, item: ResourceWrite, new_id: UUID) -> UUID:
        if item.op == "create":
            return new_id
        if item.op == "upsert":
            return res.key_stream_id(self.organization_id, item.resource_type,
                                     res.check_key(_required(item.key, "key")))
        return _required(item.resource_id, "id")

    def _command(self, item: ResourceWrite, state: res.Resource) -> ResourceCommand:
        match item.op:
            case "create":
                content = _required(item.content, "data")
                return CreateResource(organization_id=self.organization_id,
                                      resource_type=item.resource_type,
                                      type_version=self._checked(item.resource_type, content),
                                      content=content)
            case "upsert":
                content = self._kept(item, state)
                return UpsertResource(organization_id=self.organization_id,
                                      resource_type=item.resource_type,
                                      type_version=self._checked(item.resource_type, content),
                                      external_key=_required(item.key, "key"), content=content)
            case "replace":
                content = self._kept(item, state)
                return ReplaceResource(type_version=self._checked(item.resource_type, content),
                                       content=content)
            case "patch":
                content = patched(state.content, _required(item.patch, "patch"))
                return PatchResource(type_version=self._checked(item.resource_type, content),
                                     content=content)
            case "delete":
                return DeleteResource()
            case _:
                assert_never(item.op)

    def _kept(self, item: ResourceWrite, state: res.Resource) -> Content:
        """A replace's (or an upsert's of an existing resource) content: what the caller may
        not write stays as it is."""
        content = _required(item.content, "data")
        return content if state.status == "absent" else kept(
            self.grants, f"resources:{item.resource_type}", state.content, content)

    def _current(self, resource_id: UUID) -> Loaded[res.Resource]:
        if (seen := self._streams.get(resource_id)) is None:
            seen = self._streams[resource_id] = loaded(self.store, resource_id)
        return seen

    def _checked(self, resource_type: str, content: Content) -> int:
        if not self._live:
            require_live(load(self.store, org.DECIDER, self.organization_id).state)
            self._live = True
        if (found := self._types.get(resource_type)) is None:
            found = self._types[resource_type] = type_of(self.store, self.organization_id,
                                                         resource_type)
        return checked(self.schemas, *found, content, self._known)

    def _known(self, resource_id: UUID) -> bool:
        staged = self._streams.get(resource_id)
        if staged is not None and staged.state.status != "absent":
            return staged.state.organization_id == self.organization_id
        return owned(self.store, resource_id, self.organization_id)


def _required(value: Any, name: str) -> Any:
    if value is None:
        raise InvalidValue(f"this write needs {name}", field=name, code="batch_item_incomplete",
                           params={"field": name})
    return value
