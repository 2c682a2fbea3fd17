"""Organization decider: state, evolve (never raises) and decide (every rule lives here)."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal, assert_never
from urllib.parse import urlsplit

import msgspec

from domain.decider import Decider
from domain.errors import AlreadyExists, InvalidState, InvalidValue, NotFound
from domain.limits import (
    MAX_CIDR,
    MAX_LIST_ITEMS,
    MAX_NAME,
    MAX_ORIGIN,
    MAX_REASON,
    MAX_RETENTION_DAYS,
    MAX_SESSION_MINUTES,
    MAX_TIMEZONE,
)
from domain.organization.commands import (
    ChangePlan,
    CreateOrganization,
    DeleteOrganization,
    OrganizationCommand,
    ReactivateOrganization,
    RenameOrganization,
    SetQuotaPolicy,
    SetRateLimit,
    SuspendOrganization,
    UpdateSettings,
)
from domain.organization.events import (
    OrganizationCreated,
    OrganizationDeleted,
    OrganizationEvent,
    OrganizationPlanChanged,
    OrganizationQuotaPolicyChanged,
    OrganizationRateLimitChanged,
    OrganizationReactivated,
    OrganizationRenamed,
    OrganizationSettings,
    OrganizationSettingsUpdated,
    OrganizationSuspended,
    Plan,
    QuotaPolicy,
    RateLimit,
)
from domain.organization.plans import check_rate_limit

Status = Literal["absent", "active", "suspended", "deleted"]

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
ORIGIN_HOST = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}$|^[0-9a-f:.]+$")  # a DNS name or an IP
# The shape of an IANA zone name; whether the zone exists is the API's check (the tz database is
# a file, and the domain reads none).
TIMEZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$")


class Organization(msgspec.Struct, frozen=True, kw_only=True):
    status: Status = "absent"
    name: str = ""
    slug: str = ""
    plan: Plan = "free"
    settings: OrganizationSettings = OrganizationSettings()
    rate_limit: RateLimit | None = None  # the operator's override of the plan's limits
    quota_policy: QuotaPolicy | None = None  # the operator's override of the plan's policy


INITIAL = Organization()


def evolve(state: Organization, event: OrganizationEvent) -> Organization:
    match event:
        case OrganizationCreated(name=name, slug=slug, plan=plan, settings=settings):
            return Organization(status="active", name=name, slug=slug, plan=plan,
                                settings=settings)
        case OrganizationRenamed(name=name):
            return msgspec.structs.replace(state, name=name)
        case OrganizationPlanChanged(plan=plan):
            return msgspec.structs.replace(state, plan=plan)
        case OrganizationSettingsUpdated(settings=settings):
            return msgspec.structs.replace(state, settings=settings)
        case OrganizationSuspended():
            return msgspec.structs.replace(state, status="suspended")
        case OrganizationReactivated():
            return msgspec.structs.replace(state, status="active")
        case OrganizationDeleted():
            return msgspec.structs.replace(state, status="deleted")
        case OrganizationRateLimitChanged(rate_limit=rate_limit):
            return msgspec.structs.replace(state, rate_limit=rate_limit)
        case OrganizationQuotaPolicyChanged(quota_policy=policy):
            return msgspec.structs.replace(state, quota_policy=policy)
        case _:
            return state


def decide(command: OrganizationCommand, state: Organization) -> list[OrganizationEvent]:
    match command:
        case CreateOrganization():
            if state.status != "absent":
                raise AlreadyExists("organization already exists", code="organization_already_exists")
            return [OrganizationCreated(
                name=_valid_name(command.name), slug=_valid_slug(command.slug),
                plan=command.plan, settings=_valid_settings(command.settings))]
        case RenameOrganization(name=name):
            _require_live(state)
            name = _valid_name(name)
            return [] if name == state.name else [
                OrganizationRenamed(name=name, previous_name=state.name)]
        case ChangePlan(plan=plan):
            _require_live(state)
            return [] if plan == state.plan else [
                OrganizationPlanChanged(plan=plan, previous_plan=state.plan)]
        case UpdateSettings(settings=settings):
            _require_live(state)
            settings = _valid_settings(settings)
            return [] if settings == state.settings else [
                OrganizationSettingsUpdated(settings=settings)]
        case SuspendOrganization(reason=reason):
            _require_live(state)
            if state.status == "suspended":
                raise InvalidState("organization is already suspended",
                                   code="organization_already_suspended")
            if len(reason) > MAX_REASON:
                raise InvalidValue(f"reason is longer than {MAX_REASON}", field="reason",
                                   code="suspend_reason_too_long", params={"max": MAX_REASON})
            return [OrganizationSuspended(reason=reason)]
        case ReactivateOrganization():
            _require_live(state)
            if state.status != "suspended":
                raise InvalidState("only a suspended organization can be reactivated",
                                   code="organization_not_suspended")
            return [OrganizationReactivated()]
        case DeleteOrganization():
            _require_live(state)
            return [OrganizationDeleted(slug=state.slug)]
        case SetRateLimit(rate_limit=rate_limit):
            _require_live(state)
            if rate_limit is not None:
                check_rate_limit(rate_limit, "rateLimit")
            return [] if rate_limit == state.rate_limit else [OrganizationRateLimitChanged(
                rate_limit=rate_limit, previous_rate_limit=state.rate_limit)]
        case SetQuotaPolicy(quota_policy=policy):
            _require_live(state)
            return [] if policy == state.quota_policy else [OrganizationQuotaPolicyChanged(
                quota_policy=policy, previous_quota_policy=state.quota_policy)]
        case _:
            assert_never(command)


def _require_live(state: Organization) -> None:
    if state.status == "absent":
        raise NotFound("organization not found", code="organization_not_found")
    if state.status == "deleted":
        raise InvalidState("organization has been deleted", code="organization_deleted")


def _valid_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidValue("name must not be blank", field="name", code="name_blank")
    if len(name) > MAX_NAME:
        raise InvalidValue(f"name is longer than {MAX_NAME} characters", field="name",
                           code="name_too_long", params={"max": MAX_NAME})
    return name


def _valid_slug(slug: str) -> str:
    if not SLUG_PATTERN.fullmatch(slug):
        raise InvalidValue(
            "slug must be 1-100 lowercase letters, digits or inner hyphens", field="slug",
            code="slug_invalid")
    return slug


def _valid_settings(settings: OrganizationSettings) -> OrganizationSettings:
    if len(settings.ip_whitelist) > MAX_LIST_ITEMS:
        raise InvalidValue("too many ipWhitelist entries", field="settings.ipWhitelist",
                           code="ip_whitelist_too_many")
    for i, cidr in enumerate(settings.ip_whitelist):
        try:
            if len(cidr) > MAX_CIDR:
                raise ValueError(cidr)
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise InvalidValue(f"{cidr!r} is not an IP address or CIDR range",
                               field=f"settings.ipWhitelist[{i}]", code="ip_whitelist_invalid",
                               params={"value": cidr}) from None
    if len(settings.security.allowed_origins) > MAX_LIST_ITEMS:
        raise InvalidValue("too many allowedOrigins", field="settings.security.allowedOrigins",
                           code="allowed_origins_too_many")
    for i, origin in enumerate(settings.security.allowed_origins):
        if not valid_origin(origin):
            raise InvalidValue(f"{origin[:100]!r} is not an origin like https://app.example.com",
                               field=f"settings.security.allowedOrigins[{i}]",
                               code="allowed_origin_invalid", params={"value": origin[:100]})
    if not 1 <= settings.security.session_timeout <= MAX_SESSION_MINUTES:
        raise InvalidValue(f"sessionTimeout must be between 1 and {MAX_SESSION_MINUTES} minutes",
                           field="settings.security.sessionTimeout",
                           code="session_timeout_out_of_range",
                           params={"min": 1, "max": MAX_SESSION_MINUTES})
    retention = settings.data_retention
    for part in ("logs", "analytics", "backups"):
        if not 1 <= getattr(retention, part) <= MAX_RETENTION_DAYS:
            raise InvalidValue(
                f"dataRetention.{part} must be between 1 and {MAX_RETENTION_DAYS} days",
                field=f"settings.dataRetention.{part}", code="data_retention_out_of_range",
                params={"part": part, "min": 1, "max": MAX_RETENTION_DAYS})
    if not TIMEZONE_NAME.fullmatch(settings.timezone) or len(settings.timezone) > MAX_TIMEZONE:
        raise InvalidValue("timezone must be an IANA zone name", field="settings.timezone",
                           code="timezone_invalid")
    return settings


def valid_origin(origin: str) -> bool:
    """An origin as browsers send it: http(s), a host, an optional port; nothing else."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return False
    # Rebuilt from its parts it must read the same: no path, query, fragment or userinfo.
    host = parts.hostname or ""
    rebuilt = (f"{parts.scheme}://{f'[{host}]' if ':' in host else host}"
               + (f":{port}" if port is not None else ""))
    return (len(origin) <= MAX_ORIGIN and parts.scheme in ("http", "https")
            and origin == rebuilt and port != 0
            and ORIGIN_HOST.fullmatch(host) is not None)


DECIDER = Decider("organization", INITIAL, evolve, decide)
