"""Who a request acts for, once authenticated: an organization's API key, user or OAuth client.

The platform operator has no Principal (it is not bound to an organization). Every access
check (api/auth/access.py) and rate-limit scope (api/platform/ratelimit.py) reads this one shape, so a new
way to authenticate only has to build a Principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from domain.organization.plans import RateLimit
from domain.permissions import ApiPermission

Kind = Literal["api_key", "user", "oauth_client"]


@dataclass(frozen=True, slots=True)
class Principal:
    kind: Kind
    id: UUID
    organization_id: UUID
    permissions: tuple[ApiPermission, ...]
    rate_limit: RateLimit
    organization_limit: RateLimit
    # The permissions this principal can never exceed (an API key's creator role, say);
    # None: no ceiling beyond ``permissions``.
    ceiling: tuple[ApiPermission, ...] | None = None
    session_id: str | None = None
    role: str | None = None  # a system role's name or a custom role's id

    @property
    def grants(self) -> tuple[tuple[ApiPermission, ...], ...]:
        """Every permission set that must allow an action: the principal's own and its ceiling."""
        return (self.permissions,) if self.ceiling is None else (self.permissions, self.ceiling)
