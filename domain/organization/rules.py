"""What the use cases of an organization's members (users, roles, API keys, OAuth clients)
require of the organization, once: to them a deleted organization does not exist."""

from __future__ import annotations

from domain.errors import InvalidState, NotFound
from domain.organization.decider import Organization


def require_live(owner: Organization) -> None:
    if owner.status in ("absent", "deleted"):
        raise NotFound("organization not found", code="organization_not_found")


def require_active(owner: Organization, message: str, code: str) -> None:
    """Live and not suspended (``code`` names what a suspended one may not get)."""
    require_live(owner)
    if owner.status != "active":
        raise InvalidState(message, code=code)
