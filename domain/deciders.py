"""Every aggregate's decider, once: the list of stream types (Kafka topics, the ClickHouse
subscription, the relay) is derived from this tuple, so a new aggregate is added here only."""

from __future__ import annotations

from typing import Any

from domain.access import decider as access
from domain.alert_rule import decider as alert_rule
from domain.apikey import decider as apikey
from domain.bulk_operation import decider as bulk_operation
from domain.claim import decider as claim
from domain.decider import Decider
from domain.oauthclient import decider as oauthclient
from domain.organization import decider as organization
from domain.resource import decider as resource
from domain.resource_type import decider as resource_type
from domain.role import decider as role
from domain.roster import decider as roster
from domain.slug import decider as slug
from domain.usage import decider as usage
from domain.user import decider as user
from domain.webhook_endpoint import decider as webhook_endpoint

DECIDERS: tuple[Decider[Any, Any, Any], ...] = (
    organization.DECIDER, slug.DECIDER, apikey.DECIDER, access.DECIDER, user.DECIDER,
    role.DECIDER, claim.DECIDER, roster.DECIDER, oauthclient.DECIDER,
    resource_type.DECIDER, resource.DECIDER, bulk_operation.DECIDER, usage.DECIDER,
    webhook_endpoint.DECIDER, alert_rule.DECIDER,
)
AGGREGATES: tuple[str, ...] = tuple(d.stream_type for d in DECIDERS)
