"""Usage events: an organization's month crossed a share of a plan quota, tagged ``usage.<Name>``."""

from __future__ import annotations

from uuid import UUID

import msgspec


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    organization_id: UUID
    period: str  # the month, "2026-12"
    metric: str  # one of domain/organization/plans.py METRICS
    used: int
    limit: int


class ThresholdReached(_Event, tag="usage.ThresholdReached", frozen=True):
    """The month's use reached WARN_AT of the quota: the warning, once per month and metric."""

    percent: int


class LimitReached(_Event, tag="usage.LimitReached", frozen=True):
    """The month's use reached the quota; ``policy`` says what follows: block_429, block_402
    or overage (events before the two blocks were told apart say block)."""

    policy: str


UsageEvent = ThresholdReached | LimitReached
