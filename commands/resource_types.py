"""Resource type use cases: register a type, change its schema or description, and validate a
resource's data against one of its type versions (what the resources' CRUD calls)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from commands.ports import EventStore, Schemas
from commands.runner import Context, Result, Seal, StreamWrite, check_expected, execute, load, write
from domain.errors import NotFound
from domain.organization import decider as org
from domain.organization.rules import require_live
from domain.resource_type import decider as rt
from domain.resource_type.commands import ChangeResourceType, RegisterResourceType


class ResourceTypeCommands:
    def __init__(self, store: EventStore, schemas: Schemas, *, retries: int = 5) -> None:
        self.store, self.schemas, self.retries = store, schemas, retries

    def register(self, ctx: Context, command: RegisterResourceType,
                 seal: Seal | None = None) -> Result:
        """A second registration of the name finds the stream written (or loses the append at
        version 0 and, retried, finds it): 409 either way."""
        self._check(command.schema)
        org_id = command.organization_id
        type_id = rt.stream_id(org_id, rt.check_name(command.name))

        def attempt() -> list[StreamWrite]:
            require_live(load(self.store, org.DECIDER, org_id).state)
            current = load(self.store, rt.DECIDER, type_id)
            return [write(rt.DECIDER, type_id, org_id, current.version,
                          rt.decide(command, current.state))]

        return execute(self.store, ctx, attempt, retries=self.retries, seal=seal)

    def change(self, ctx: Context, organization_id: UUID, name: str, command: ChangeResourceType,
               *, expected_version: int | None = None, seal: Seal | None = None) -> Result:
        if command.schema is not None:
            self._check(command.schema)
        type_id = rt.stream_id(organization_id, name)

        def attempt() -> list[StreamWrite]:
            current = load(self.store, rt.DECIDER, type_id)
            if current.state.status == "absent":
                raise NotFound("resource type not found", code="resource_type_not_found")
            check_expected(expected_version, current.version)
            return [write(rt.DECIDER, type_id, organization_id, current.version,
                          rt.decide(command, current.state))]

        return execute(self.store, ctx, attempt, retries=self.retries,
                       pinned=expected_version is not None, seal=seal)

    def validate(self, organization_id: UUID, name: str, type_version: int, data: Any) -> None:
        """Raise InvalidValue (``data_invalid``, the failing pointer under ``/data``) unless
        ``data`` matches type version ``type_version`` of the organization's type ``name``."""
        type_id = rt.stream_id(organization_id, name)
        schema = load(self.store, rt.DECIDER, type_id).state.schema_of(type_version)
        if schema is None:
            raise NotFound("resource type not found", code="resource_type_not_found")
        self.schemas.validator((type_id, type_version), schema)(data)

    def _check(self, schema: dict[str, Any]) -> None:
        """The bounds first, so the library never sees an oversized schema; then the meta-schema."""
        self.schemas.check(rt.check_schema(schema))
