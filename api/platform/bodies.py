"""The one base of every request body, the bounded field types, and the nested input shapes.

Every JSON body a route takes is a ``Body``: camelCase, unknown fields refused, every string
and list bounded (by domain/limits.py), and no string anywhere in it that PostgreSQL text or
jsonb cannot store. What a body refuses is a 422 before any command runs, so nothing is written.
The nested shapes (a permission, a rate limit, organization settings) are twins of the domain's
event types: the events carry no constraints, so old streams always decode, while what clients
send now is bounded here. ``to_domain`` turns a twin into the domain's type.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta

from domain import limits as lim
from domain.permissions import Action, ApiPermission

T = TypeVar("T")
# NUL and lone UTF-16 surrogates: PostgreSQL cannot store the first in text or jsonb, and the
# second cannot be encoded as UTF-8 at all. Either would be written as an event and then stop
# every read model at it.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Body(msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True):
    def __post_init__(self) -> None:
        # The class's own field tuples: msgspec.structs.fields() evaluates every annotation again
        # on each call, which was ~10 % of a create's Python time.
        for name, encoded in zip(self.__struct_fields__, self.__struct_encode_fields__,
                                 strict=True):
            problem = _unstorable(getattr(self, name))
            if problem:
                raise ValueError(f"{encoded} must not contain {problem}")


def _unstorable(value: Any) -> str:
    """What in ``value`` cannot be stored ("" when nothing); nested bodies checked themselves."""
    if isinstance(value, str):
        found = UNSTORABLE.search(value)
        if found is None:
            return ""
        return "NUL (\\u0000) characters" if found.group() == "\x00" else "unpaired surrogates"
    if isinstance(value, list | tuple):
        return next((p for p in map(_unstorable, value) if p), "")
    if isinstance(value, dict):
        return next((p for k, v in value.items() for p in (_unstorable(k), _unstorable(v)) if p),
                    "")
    if isinstance(value, msgspec.Struct) and not isinstance(value, Body):
        return next((p for f in value.__struct_fields__
                     if (p := _unstorable(getattr(value, f)))), "")
    return ""


def storable(text: str, limit: int) -> str:
    """A header or path value that goes into an event: what cannot be stored replaced, cut to
    ``limit`` characters (it is not the caller's data, so it is kept rather than refused)."""
    return UNSTORABLE.sub("\ufffd", text[:limit])


def to_domain(value: Any, kind: type[T]) -> T:
    """The domain's struct (or list of them) for an input twin of the same shape."""
    return msgspec.convert(msgspec.to_builtins(value), kind)


Name = Annotated[str, Meta(min_length=1, max_length=lim.MAX_NAME)]
Slug = Annotated[str, Meta(min_length=1, max_length=lim.MAX_SLUG,
                           pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")]
Reason = Annotated[str, Meta(max_length=lim.MAX_REASON)]
Email = Annotated[str, Meta(min_length=3, max_length=lim.MAX_EMAIL)]
# The policy (12-256) answers with its own code.
Password = Annotated[str, Meta(max_length=lim.MAX_PASSWORD_INPUT)]
PersonName = Annotated[str, Meta(max_length=lim.MAX_NAME)]
Rate = Annotated[int, Meta(ge=1, le=lim.MAX_RATE)]
FieldName = Annotated[str, Meta(max_length=lim.MAX_FIELD_NAME)]
FilterValue = Annotated[str, Meta(max_length=lim.MAX_FILTER_VALUE)]
Resource = Annotated[str, Meta(min_length=1, max_length=lim.MAX_RESOURCE)]
DeviceText = Annotated[str, Meta(max_length=lim.MAX_DEVICE_TEXT)]


class ConditionsIn(Body, frozen=True):
    fields: Annotated[list[FieldName], Meta(max_length=lim.MAX_CONDITION_FIELDS)] | None = None
    filters: Annotated[dict[FieldName, FilterValue | int | float | bool],
                       Meta(max_length=lim.MAX_CONDITION_FILTERS)] | None = None


class PermissionIn(Body, frozen=True):
    """The seed's ApiPermission, as a client sends it."""

    resource: Resource
    actions: Annotated[list[Action], Meta(max_length=lim.MAX_ACTIONS)]
    conditions: ConditionsIn | None = None


Permissions = Annotated[list[PermissionIn], Meta(max_length=lim.MAX_PERMISSIONS)]


def permissions_of(given: list[PermissionIn]) -> tuple[ApiPermission, ...]:
    return tuple(to_domain(given, list[ApiPermission]))


class RateLimitIn(Body, frozen=True):
    """The seed's RateLimit: every window's quota positive and bounded."""

    requests_per_second: Annotated[float, Meta(gt=0, le=lim.MAX_RATE)]
    burst_limit: Rate
    requests_per_minute: Rate
    requests_per_hour: Rate
    requests_per_day: Rate


@cache
def known_timezones() -> frozenset[str]:
    """The IANA zone names of the system's tz database (or of the tzdata package)."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def check_timezone(name: str | None) -> None:
    if name is not None and name not in known_timezones():
        raise ValueError(f"{name!r} is not an IANA time zone such as Europe/Paris or UTC")


Timezone = Annotated[str, Meta(min_length=1, max_length=lim.MAX_TIMEZONE)]
Cidr = Annotated[str, Meta(min_length=1, max_length=lim.MAX_CIDR)]
Origin = Annotated[str, Meta(min_length=1, max_length=lim.MAX_ORIGIN)]
Days = Annotated[int, Meta(ge=1, le=lim.MAX_RETENTION_DAYS)]
Minutes = Annotated[int, Meta(ge=1, le=lim.MAX_SESSION_MINUTES)]
# Tuples, as in the domain: a settings value is a default elsewhere, so it must be hashable.
Cidrs = Annotated[tuple[Cidr, ...], Meta(max_length=lim.MAX_LIST_ITEMS)]
Origins = Annotated[tuple[Origin, ...], Meta(max_length=lim.MAX_LIST_ITEMS)]


class DataRetentionIn(Body, frozen=True):
    logs: Days = 90
    analytics: Days = 365
    backups: Days = 30


class SecurityIn(Body, frozen=True):
    require_https: bool = True
    allowed_origins: Origins = ()
    session_timeout: Minutes = 60


class SettingsIn(Body, frozen=True):
    """An organization's settings as a client sends them on creation."""

    timezone: Timezone = "UTC"
    ip_whitelist: Cidrs = ()
    data_retention: DataRetentionIn = DataRetentionIn()
    security: SecurityIn = SecurityIn()

    def __post_init__(self) -> None:
        super().__post_init__()
        check_timezone(self.timezone)


class DeviceIn(Body, frozen=True):
    """What a client says about the device it logs in from."""

    type: Literal["web", "mobile", "desktop", "api"] = "api"
    os: DeviceText | None = None
    browser: DeviceText | None = None
    version: DeviceText | None = None
    fingerprint: DeviceText = ""
