"""Seed data: the demo organization, created once through the ordinary command path."""

from __future__ import annotations

import uuid

from commands.organizations import OrganizationCommands
from commands.runner import Context
from domain.envelope import SYSTEM
from domain.errors import SlugTaken
from domain.organization.commands import CreateOrganization
from infra.eventstore import EventStore, datastore_from_url
from infra.settings import Settings

DEMO = CreateOrganization(name="Demo Organization", slug="demo", plan="professional")


def seed(settings: Settings) -> str:
    store = EventStore(datastore_from_url(settings.database_url, pool_size=1, max_overflow=0),
                       max_event_bytes=settings.max_event_bytes)
    try:
        commands = OrganizationCommands(store)
        ctx = Context(actor=SYSTEM, request_id=f"seed_{uuid.uuid4().hex}")
        result = commands.create(ctx, DEMO)
    except SlugTaken:
        return "demo organization already present"
    finally:
        store.close()
    return f"seeded demo organization {result.stream_id}"
