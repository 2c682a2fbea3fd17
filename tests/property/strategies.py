"""Hypothesis strategies for Chronicle events, envelopes and organization commands."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC

from hypothesis import strategies as st
from msgspec import UNSET
from msgspec.structs import replace

from domain.access.events import AccessDenied
from domain.alert_rule.events import (
    AlertFired,
    AlertResolved,
    AlertRuleCreated,
    AlertRuleDeleted,
    AlertRuleUpdated,
)
from domain.apikey.events import ApiKeyCreated, ApiKeyRevoked, ApiKeyRolled
from domain.bulk_operation.events import (
    BulkOperationFinished,
    BulkOperationStarted,
    BulkOperationSubmitted,
    ChunkApplied,
    ItemResult,
    ItemsStaged,
)
from domain.claim.events import ValueClaimed, ValueReleased
from domain.envelope import Actor, Envelope
from domain.oauthclient.events import (
    OAuthClientDeleted,
    OAuthClientRegistered,
    OAuthClientSecretRotated,
    OAuthClientUpdated,
)
from domain.organization.commands import (
    ChangePlan,
    CreateOrganization,
    DeleteOrganization,
    OrganizationCommand,
    ReactivateOrganization,
    RenameOrganization,
    SuspendOrganization,
    UpdateSettings,
)
from domain.organization.events import (
    PLANS,
    DataRetention,
    OrganizationCreated,
    OrganizationDeleted,
    OrganizationPlanChanged,
    OrganizationQuotaPolicyChanged,
    OrganizationRateLimitChanged,
    OrganizationReactivated,
    OrganizationRenamed,
    OrganizationSettings,
    OrganizationSettingsUpdated,
    OrganizationSuspended,
    SecuritySettings,
)
from domain.organization.plans import RateLimit
from domain.permissions import ApiPermission, Conditions
from domain.resource.commands import Content
from domain.resource.events import (
    Relationship,
    ResourceArchived,
    ResourceCreated,
    ResourceDeleted,
    ResourcePatched,
    ResourceReplaced,
    ResourceRestored,
)
from domain.resource.writes import ResourceWrite
from domain.resource_type.events import (
    DescriptionChanged,
    ResourceTypeRegistered,
    SchemaExtended,
    VersionAdded,
)
from domain.role.events import RoleCreated, RoleDeleted, RoleUpdated
from domain.roster.events import OwnerAdded, OwnerRemoved
from domain.slug.events import SlugClaimed, SlugReleased
from domain.usage.events import LimitReached, ThresholdReached
from domain.user.events import (
    UserEmailVerified,
    UserInvitationAccepted,
    UserInvited,
    UserLoggedIn,
    UserPasswordSet,
    UserProfileUpdated,
    UserReactivated,
    UserRegistered,
    UserRemoved,
    UserRoleChanged,
    UserSuspended,
    UserTwoFactorDisabled,
    UserTwoFactorEnabled,
    UserTwoFactorEnrollmentStarted,
)
from domain.webhook_endpoint.events import (
    EndpointDeleted,
    EndpointDisabled,
    EndpointEnabled,
    EndpointRegistered,
    EndpointUpdated,
    RedeliveryRequested,
    ReplayRequested,
    SecretRolled,
    TestRequested,
)

# Written independently of the decider's pattern, so a drift between the two shows up.
SLUG_RULE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?")
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)

texts = st.text()  # arbitrary unicode; hypothesis leaves out lone surrogates, as JSON must
utc_datetimes = st.datetimes(timezones=st.just(UTC))
plans = st.sampled_from(PLANS)
slugs = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True) | st.sampled_from(
    ["a", "a" * 100, "a-b", "0"])
bad_slugs = st.sampled_from(["", "Acme", "-acme", "acme-", "a" * 101, "ac me", "acme\n"]) | (
    texts.filter(lambda s: SLUG_RULE.fullmatch(s) is None))


def _stripped_length_ok(name: str) -> bool:
    return 0 < len(name.strip()) <= 255


names = st.text(min_size=1, max_size=40).filter(_stripped_length_ok) | st.sampled_from(
    ["Acme", " Acme ", "x" * 255])
bad_names = st.text(alphabet=" \t\n\r\x0b\x0c\u3000", max_size=5) | st.integers(
    min_value=256, max_value=400).map(lambda n: "n" * n)


# Any well-typed value, valid or not: what the codec must carry.

any_settings = st.builds(
    OrganizationSettings,
    timezone=texts,
    ip_whitelist=st.lists(texts, max_size=3).map(tuple),
    data_retention=st.builds(DataRetention, logs=INT64, analytics=INT64, backups=INT64),
    security=st.builds(SecuritySettings, require_https=st.booleans(),
                       allowed_origins=st.lists(texts, max_size=3).map(tuple),
                       session_timeout=INT64),
)

rate_limits = st.builds(RateLimit, requests_per_second=st.floats(0.001, 1e6),
                        burst_limit=INT64, requests_per_minute=INT64,
                        requests_per_hour=INT64, requests_per_day=INT64)
scalars = st.one_of(texts, INT64, st.booleans(), st.floats(allow_nan=False,
                                                            allow_infinity=False))
# What JSON metadata holds: scalars, lists and objects (no NaN: it has no JSON spelling).
json_values = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8)
permissions = st.builds(
    ApiPermission, resource=texts,
    actions=st.lists(st.sampled_from(["create", "read", "update", "delete"])).map(tuple),
    conditions=st.none() | st.builds(
        Conditions, fields=st.none() | st.lists(texts).map(tuple),
        filters=st.none() | st.dictionaries(texts, scalars)))

grant_types = st.lists(st.sampled_from(["client_credentials", "authorization_code",
                                        "refresh_token"]), max_size=3).map(tuple)

# What every resource write carries.
written = {
    "type_version": st.integers(1, 10**6), "data": st.dictionaries(texts, json_values, max_size=3),
    "tags": st.lists(texts, max_size=3).map(tuple),
    "labels": st.dictionaries(texts, texts, max_size=3),
    "annotations": st.dictionaries(texts, texts, max_size=3),
    "relationships": st.lists(st.builds(Relationship, type=st.sampled_from(
        ["parent", "child", "reference", "dependency"]), id=st.uuids()), max_size=3).map(tuple),
    "checksum": texts, "size": st.integers(0, 10**6)}
finite = st.floats(allow_nan=False, allow_infinity=False)
alert_rule = {"name": texts, "metric": st.sampled_from(
    ["error_rate", "p95_ms", "request_rate", "projection_lag", "quota_use",
     "quota_use.apiCalls", "quota_use.users"]),
    "window_seconds": st.integers(60, 86_400), "comparison": st.sampled_from(["gt", "lt"]),
    "threshold": finite, "route": st.none() | texts, "include_4xx": st.booleans(),
    "enabled": st.booleans()}
EVENT_STRATEGIES: dict[type, st.SearchStrategy] = {
    OrganizationCreated: st.builds(OrganizationCreated, name=texts, slug=texts, plan=plans,
                                   settings=any_settings),
    OrganizationRenamed: st.builds(OrganizationRenamed, name=texts, previous_name=texts),
    OrganizationPlanChanged: st.builds(OrganizationPlanChanged, plan=plans, previous_plan=plans),
    OrganizationSettingsUpdated: st.builds(OrganizationSettingsUpdated, settings=any_settings),
    OrganizationSuspended: st.builds(OrganizationSuspended, reason=texts),
    OrganizationReactivated: st.builds(OrganizationReactivated),
    OrganizationDeleted: st.builds(OrganizationDeleted, slug=texts),
    OrganizationRateLimitChanged: st.builds(OrganizationRateLimitChanged,
                                            rate_limit=st.none() | rate_limits,
                                            previous_rate_limit=st.none() | rate_limits),
    OrganizationQuotaPolicyChanged: st.builds(
        OrganizationQuotaPolicyChanged,
        quota_policy=st.none() | st.sampled_from(["block_429", "block_402", "overage"]),
        previous_quota_policy=st.none() | st.sampled_from(["block_429", "block_402", "overage"])),
    SlugClaimed: st.builds(SlugClaimed, slug=texts, organization_id=st.uuids()),
    SlugReleased: st.builds(SlugReleased, slug=texts, organization_id=st.uuids()),
    ApiKeyCreated: st.builds(
        ApiKeyCreated, organization_id=st.uuids(), name=texts,
        environment=st.sampled_from(["live", "test"]), hashed_key=texts,
        permissions=st.lists(permissions, max_size=3).map(tuple), created_by=texts,
        rate_limit=st.none() | rate_limits, expires_at=st.none() | utc_datetimes,
        require_signature=st.booleans(), role=st.none() | texts),
    ApiKeyRolled: st.builds(ApiKeyRolled, hashed_key=texts, previous_hashed_key=texts,
                            previous_valid_until=utc_datetimes),
    ApiKeyRevoked: st.builds(ApiKeyRevoked, reason=texts),
    OAuthClientRegistered: st.builds(
        OAuthClientRegistered, organization_id=st.uuids(), name=texts, hashed_secret=texts,
        redirect_uris=st.lists(texts, max_size=3).map(tuple),
        scopes=st.lists(texts, max_size=3).map(tuple), grant_types=grant_types,
        created_by=texts),
    OAuthClientUpdated: st.builds(
        OAuthClientUpdated, name=st.none() | texts,
        redirect_uris=st.none() | st.lists(texts, max_size=3).map(tuple),
        scopes=st.none() | st.lists(texts, max_size=3).map(tuple),
        grant_types=st.none() | grant_types),
    OAuthClientSecretRotated: st.builds(OAuthClientSecretRotated, hashed_secret=texts),
    OAuthClientDeleted: st.builds(OAuthClientDeleted),
    AccessDenied: st.builds(
        AccessDenied, method=texts, path=texts, status=st.integers(min_value=400, max_value=499),
        code=texts, reason=texts, resource_id=texts, ip_address=texts, user_agent=texts,
        source=st.sampled_from(["api", "web", "system"])),
    **{cls: st.builds(cls) for cls in (UserInvitationAccepted, UserReactivated,
                                       UserTwoFactorEnabled, UserTwoFactorDisabled,
                                       UserLoggedIn)},
    UserInvited: st.builds(UserInvited, organization_id=st.uuids(), email=texts, role=texts,
                           invited_by=texts, first_name=texts, last_name=texts,
                           permissions=st.lists(permissions, max_size=3).map(tuple)),
    UserRegistered: st.builds(UserRegistered, organization_id=st.uuids(), email=texts,
                              first_name=texts, last_name=texts, role=texts),
    UserPasswordSet: st.builds(UserPasswordSet, password_hash=texts),
    UserEmailVerified: st.builds(UserEmailVerified, email=texts),
    UserProfileUpdated: st.builds(UserProfileUpdated, first_name=texts, last_name=texts,
                                  avatar=texts, metadata=st.dictionaries(texts, json_values)),
    UserRoleChanged: st.builds(UserRoleChanged, role=texts, previous_role=texts,
                               permissions=st.lists(permissions, max_size=3).map(tuple)),
    UserSuspended: st.builds(UserSuspended, reason=texts),
    UserRemoved: st.builds(UserRemoved, email=texts),
    UserTwoFactorEnrollmentStarted: st.builds(UserTwoFactorEnrollmentStarted,
                                              secret_ciphertext=texts),
    RoleCreated: st.builds(RoleCreated, organization_id=st.uuids(), name=texts,
                           description=texts,
                           permissions=st.lists(permissions, max_size=3).map(tuple)),
    RoleUpdated: st.builds(RoleUpdated, name=texts, description=texts,
                           permissions=st.lists(permissions, max_size=3).map(tuple)),
    RoleDeleted: st.builds(RoleDeleted, name=texts),
    ValueClaimed: st.builds(ValueClaimed, kind=texts, value=texts, owner_id=st.uuids()),
    ValueReleased: st.builds(ValueReleased, kind=texts, value=texts, owner_id=st.uuids()),
    OwnerAdded: st.builds(OwnerAdded, user_id=st.uuids()),
    OwnerRemoved: st.builds(OwnerRemoved, user_id=st.uuids()),
    ResourceTypeRegistered: st.builds(
        ResourceTypeRegistered, organization_id=st.uuids(), name=texts,
        schema=st.dictionaries(texts, json_values, max_size=3), description=texts,
        indexed=st.lists(texts, max_size=3).map(tuple), type_version=st.integers(1, 10**6)),
    SchemaExtended: st.builds(SchemaExtended, type_version=st.integers(1, 10**6),
                              schema=st.dictionaries(texts, json_values, max_size=3)),
    VersionAdded: st.builds(VersionAdded, type_version=st.integers(1, 10**6),
                            schema=st.dictionaries(texts, json_values, max_size=3)),
    DescriptionChanged: st.builds(DescriptionChanged, description=texts),
    ResourceCreated: st.builds(ResourceCreated, organization_id=st.uuids(), resource_type=texts,
                               external_key=st.none() | texts, **written),
    ResourceReplaced: st.builds(ResourceReplaced, **written),
    ResourcePatched: st.builds(ResourcePatched, **written),
    **{cls: st.builds(cls) for cls in (ResourceDeleted, ResourceArchived, ResourceRestored)},
    BulkOperationSubmitted: st.builds(
        BulkOperationSubmitted, organization_id=st.uuids(), total_count=st.integers(0, 10**4),
        chunk_count=st.integers(0, 50), created_by=texts,
        grants=st.none() | st.lists(st.lists(permissions, max_size=2).map(tuple),
                                    max_size=2).map(tuple)),
    ItemsStaged: st.builds(ItemsStaged, chunk=st.integers(0, 50), first_index=st.integers(0, 10**4),
                           items=st.lists(st.builds(
                               ResourceWrite,
                               op=st.sampled_from(["create", "replace", "patch", "upsert",
                                                   "delete"]),
                               resource_type=texts, resource_id=st.none() | st.uuids(),
                               key=st.none() | texts,
                               expected_version=st.none() | st.integers(0, 10**6),
                               content=st.none() | st.builds(
                                   Content, data=written["data"], tags=written["tags"],
                                   labels=written["labels"],
                                   relationships=written["relationships"]),
                               patch=st.none() | written["data"], cascade=st.booleans()),
                           max_size=3).map(tuple)),
    BulkOperationStarted: st.builds(BulkOperationStarted),
    ChunkApplied: st.builds(ChunkApplied, chunk=st.integers(0, 50), results=st.lists(st.builds(
        ItemResult, index=st.integers(0, 10**4), success=st.booleans(),
        resource_id=st.none() | st.uuids(), version=st.none() | st.integers(1, 10**6),
        error=st.none() | texts, message=st.none() | texts), max_size=3).map(tuple)),
    BulkOperationFinished: st.builds(BulkOperationFinished,
                                     status=st.sampled_from(["completed", "failed"]),
                                     success_count=st.integers(0, 10**4),
                                     failure_count=st.integers(0, 10**4)),
    ThresholdReached: st.builds(ThresholdReached, organization_id=st.uuids(), period=texts,
                                metric=texts, used=st.integers(0, 2**62),
                                limit=st.integers(1, 2**62), percent=st.integers(0, 100)),
    LimitReached: st.builds(LimitReached, organization_id=st.uuids(), period=texts,
                            metric=texts, used=st.integers(0, 2**62),
                            limit=st.integers(1, 2**62), policy=texts),
    EndpointRegistered: st.builds(
        EndpointRegistered, organization_id=st.uuids(), url=texts,
        event_types=st.lists(texts, max_size=3).map(tuple), description=texts,
        metadata=st.dictionaries(texts, json_values, max_size=3), active=st.booleans(),
        sealed_secret=texts),
    EndpointUpdated: st.builds(
        EndpointUpdated, url=st.none() | texts,
        event_types=st.none() | st.lists(texts, max_size=3).map(tuple),
        description=st.none() | texts,
        metadata=st.none() | st.dictionaries(texts, json_values, max_size=3)),
    SecretRolled: st.builds(SecretRolled, sealed_secret=texts, previous_until=utc_datetimes),
    EndpointDisabled: st.builds(EndpointDisabled, reason=st.sampled_from(
        ["gone", "failures", "manual"]), detail=texts),
    **{cls: st.builds(cls) for cls in (EndpointEnabled, EndpointDeleted)},
    TestRequested: st.builds(TestRequested, test_id=st.uuids()),
    RedeliveryRequested: st.builds(RedeliveryRequested, delivery_id=st.uuids()),
    ReplayRequested: st.builds(ReplayRequested, from_position=st.none() | INT64,
                               from_time=st.none() | utc_datetimes),
    AlertRuleCreated: st.builds(AlertRuleCreated, organization_id=st.none() | st.uuids(),
                                **alert_rule),
    AlertRuleUpdated: st.builds(AlertRuleUpdated, **alert_rule),
    AlertRuleDeleted: st.builds(AlertRuleDeleted, name=texts),
    **{cls: st.builds(cls, value=finite, threshold=finite, at=utc_datetimes)
       for cls in (AlertFired, AlertResolved)},
}
events = st.one_of(*EVENT_STRATEGIES.values())

actors = st.builds(Actor, kind=st.sampled_from(["operator", "user", "api_key", "system"]),
                   id=texts)


# A W3C traceparent as infra/tracing.py writes it (the flags' sampled and random bits).
traceparents = st.builds(lambda t, s, f: f"00-{t:032x}-{s:016x}-{f:02x}",
                         st.integers(1, 2**128 - 1), st.integers(1, 2**64 - 1),
                         st.integers(0, 3))


def envelopes(event: st.SearchStrategy = events) -> st.SearchStrategy[Envelope]:
    return st.builds(
        Envelope, event_id=st.uuids(), stream_id=st.uuids(), stream_type=texts,
        version=st.integers(min_value=1, max_value=2**53), organization_id=st.uuids(),
        occurred_at=utc_datetimes, actor=actors, request_id=texts, correlation_id=texts,
        causation_id=texts, schema_version=st.integers(min_value=1, max_value=9),
        traceparent=st.one_of(st.just(UNSET), traceparents), event=event)


# Settings the decider accepts, and settings it rejects.


@st.composite
def cidrs(draw: st.DrawFn) -> str:
    """An address or a network, IPv4 or IPv6 (cheaper to draw than ``st.ip_addresses``)."""
    kind, bits = draw(st.sampled_from([(ipaddress.IPv4Address, 32), (ipaddress.IPv6Address, 128)]))
    address = kind(draw(st.integers(min_value=0, max_value=2**bits - 1)))
    prefix = draw(st.integers(min_value=0, max_value=bits))
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    return draw(st.sampled_from([str(address), str(network)]))


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


bad_cidrs = st.sampled_from(["", "not-an-ip", "10.0.0.0/33", "300.1.1.1", "::1/129"]) | (
    texts.filter(lambda s: not _is_network(s)))
days = st.integers(min_value=1, max_value=3650)
bad_days = st.integers(max_value=0) | st.integers(min_value=3651)

valid_settings = st.builds(
    OrganizationSettings,
    timezone=st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]),
    ip_whitelist=st.lists(cidrs(), max_size=3).map(tuple),
    data_retention=st.builds(DataRetention, logs=days, analytics=days, backups=days),
    security=st.builds(SecuritySettings, require_https=st.booleans(),
                       allowed_origins=st.lists(st.just("https://app.example"),
                                                max_size=2).map(tuple),
                       session_timeout=st.integers(min_value=1, max_value=43200)),
)


@st.composite
def invalid_settings(draw: st.DrawFn) -> OrganizationSettings:
    base = draw(valid_settings)
    fault = draw(st.sampled_from(["cidr", "timeout", "retention", "timezone"]))
    if fault == "cidr":
        whitelist = [*base.ip_whitelist, draw(bad_cidrs), *draw(st.lists(cidrs(), max_size=2))]
        return replace(base, ip_whitelist=tuple(whitelist))
    if fault == "timeout":
        timeout = draw(st.integers(max_value=0) | st.integers(min_value=43201))
        return replace(base, security=replace(base.security, session_timeout=timeout))
    if fault == "retention":
        part = draw(st.sampled_from(["logs", "analytics", "backups"]))
        retention = replace(base.data_retention, **{part: draw(bad_days)})
        return replace(base, data_retention=retention)
    return replace(base, timezone=draw(st.sampled_from(["", "Z" * 65])))


# Organization commands: valid and invalid inputs.

valid_creates = st.builds(CreateOrganization, name=names, slug=slugs, plan=plans,
                          settings=valid_settings)
invalid_creates = st.one_of(
    st.builds(CreateOrganization, name=bad_names, slug=slugs, plan=plans),
    st.builds(CreateOrganization, name=names, slug=bad_slugs, plan=plans),
    st.builds(CreateOrganization, name=names, slug=slugs, plan=plans,
              settings=invalid_settings()),
)
valid_renames = st.builds(RenameOrganization, name=names)
invalid_renames = st.builds(RenameOrganization, name=bad_names)
plan_changes = st.builds(ChangePlan, plan=plans)
valid_settings_updates = st.builds(UpdateSettings, settings=valid_settings)
invalid_settings_updates = st.builds(UpdateSettings, settings=invalid_settings())
short_reasons = st.text(max_size=50) | st.just("r" * 1000)
long_reasons = st.integers(min_value=1001, max_value=1100).map(lambda n: "r" * n)
suspends = st.builds(SuspendOrganization, reason=short_reasons)
overlong_suspends = st.builds(SuspendOrganization, reason=long_reasons)
reactivates = st.just(ReactivateOrganization())
deletes = st.just(DeleteOrganization())

organization_commands: st.SearchStrategy[OrganizationCommand] = st.one_of(
    valid_creates, invalid_creates, valid_renames, invalid_renames, plan_changes,
    valid_settings_updates, invalid_settings_updates, suspends, overlong_suspends,
    reactivates, deletes)
