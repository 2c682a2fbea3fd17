"""What each event means to the audit trail: its resource and action, and the field-level diff
it made to its stream's state, with every credential redacted."""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec

from domain.envelope import AnyEvent, event_type

# Every event type, by its persisted tag: (the permission resource it concerns, the action).
# tests/unit/test_audit_map.py fails when a member of the event union is missing here.
ENTRIES: dict[str, tuple[str, str]] = {
    "access.Denied": ("access", "deny"),
    "alert_rule.Created": ("alerts", "create"),
    "alert_rule.Updated": ("alerts", "update"),
    "alert_rule.Deleted": ("alerts", "delete"),
    "alert_rule.Fired": ("alerts", "fire"),
    "alert_rule.Resolved": ("alerts", "resolve"),
    "apikey.Created": ("api_keys", "create"),
    "apikey.Rolled": ("api_keys", "roll"),
    "apikey.Revoked": ("api_keys", "revoke"),
    "claim.Claimed": ("claims", "claim"),
    "claim.Released": ("claims", "release"),
    "oauthclient.Registered": ("oauth_clients", "create"),
    "oauthclient.Updated": ("oauth_clients", "update"),
    "oauthclient.SecretRotated": ("oauth_clients", "rotate_secret"),
    "oauthclient.Deleted": ("oauth_clients", "delete"),
    "organization.Created": ("organizations", "create"),
    "organization.Renamed": ("organizations", "rename"),
    "organization.PlanChanged": ("organizations", "change_plan"),
    "organization.SettingsUpdated": ("organizations", "update_settings"),
    "organization.Suspended": ("organizations", "suspend"),
    "organization.Reactivated": ("organizations", "reactivate"),
    "organization.Deleted": ("organizations", "delete"),
    "organization.RateLimitChanged": ("organizations", "change_rate_limit"),
    "organization.QuotaPolicyChanged": ("organizations", "change_quota_policy"),
    "resource_type.Registered": ("resource_types", "create"),
    "resource_type.SchemaExtended": ("resource_types", "extend_schema"),
    "resource_type.VersionAdded": ("resource_types", "add_version"),
    "resource_type.DescriptionChanged": ("resource_types", "change_description"),
    "role.Created": ("roles", "create"),
    "role.Updated": ("roles", "update"),
    "role.Deleted": ("roles", "delete"),
    "roster.OwnerAdded": ("owners", "add_owner"),
    "roster.OwnerRemoved": ("owners", "remove_owner"),
    "slug.Claimed": ("slugs", "claim"),
    "slug.Released": ("slugs", "release"),
    "user.Invited": ("users", "invite"),
    "user.Registered": ("users", "create"),
    "user.PasswordSet": ("users", "set_password"),
    "user.EmailVerified": ("users", "verify_email"),
    "user.InvitationAccepted": ("users", "accept_invitation"),
    "user.ProfileUpdated": ("users", "update_profile"),
    "user.RoleChanged": ("users", "change_role"),
    "user.Suspended": ("users", "suspend"),
    "user.Reactivated": ("users", "reactivate"),
    "user.Removed": ("users", "delete"),
    "user.TwoFactorEnrollmentStarted": ("users", "start_two_factor"),
    "user.TwoFactorEnabled": ("users", "enable_two_factor"),
    "user.TwoFactorDisabled": ("users", "disable_two_factor"),
    "user.LoggedIn": ("users", "login"),
    "resource.Created": ("resources", "create"),
    "resource.Replaced": ("resources", "replace"),
    "resource.Patched": ("resources", "patch"),
    "resource.Deleted": ("resources", "delete"),
    "resource.Archived": ("resources", "archive"),
    "resource.Restored": ("resources", "restore"),
    "bulk_operation.Submitted": ("bulk_operations", "create"),
    "bulk_operation.ItemsStaged": ("bulk_operations", "stage_items"),
    "bulk_operation.Started": ("bulk_operations", "start"),
    "bulk_operation.ChunkApplied": ("bulk_operations", "apply_chunk"),
    "bulk_operation.Finished": ("bulk_operations", "finish"),
    "usage.ThresholdReached": ("usage", "warn"),
    "usage.LimitReached": ("usage", "reach_limit"),
    "webhook_endpoint.Registered": ("webhooks", "create"),
    "webhook_endpoint.Updated": ("webhooks", "update"),
    "webhook_endpoint.SecretRolled": ("webhooks", "roll_secret"),
    "webhook_endpoint.Disabled": ("webhooks", "disable"),
    "webhook_endpoint.Enabled": ("webhooks", "enable"),
    "webhook_endpoint.Deleted": ("webhooks", "delete"),
    "webhook_endpoint.TestRequested": ("webhooks", "test"),
    "webhook_endpoint.RedeliveryRequested": ("webhooks", "redeliver"),
    "webhook_endpoint.ReplayRequested": ("webhooks", "replay"),
}

# A field holding credential material, by its name (hashes, secrets, their ciphertexts,
# tokens, passwords, signatures, private keys), at any depth, metadata keys included.
CREDENTIAL = re.compile(r"secret|hash|token|passw|cipher|salt|signature|private|credential",
                        re.IGNORECASE)
REDACTED = "[REDACTED]"


def entry_of(event: AnyEvent) -> tuple[str, str]:
    """The event's (resource, action); KeyError for an event type without a mapping."""
    return ENTRIES[event_type(event)]


def redact(value: Any) -> Any:
    """``value`` (builtins) with every credential field's non-empty value replaced."""
    if isinstance(value, dict):
        return {k: _hidden(v) if _credential(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


@functools.lru_cache(maxsize=4096)
def _credential(key: str) -> bool:
    """Whether a field of that name holds a credential; remembered, as the same few names
    come back in every entry (the fields of a type's data, event after event)."""
    return CREDENTIAL.search(key) is not None


def _hidden(value: Any) -> Any:
    # A flag or a count says that a credential exists, not what it is; an empty one nothing.
    if isinstance(value, bool | int | float) or value in ("", None, [], {}):
        return value
    return REDACTED


def diff(before: msgspec.Struct, after: msgspec.Struct,
         event: AnyEvent) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(oldValues, newValues): the state's fields the event changed, before and after; the new
    side also carries what the event says that the state does not keep (a key's name, a
    denial's path). Compared before redaction, so a changed secret shows as changed."""
    old, new = msgspec.to_builtins(before), msgspec.to_builtins(after)
    changed = [k for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]
    old_values = {k: old.get(k) for k in changed}
    new_values = {k: new.get(k) for k in changed}
    said = msgspec.to_builtins(event)
    new_values.update({k: v for k, v in said.items()
                       if k != "type" and not k.startswith("previous_") and k not in new})
    return (redact(old_values) or None), (redact(new_values) or None)
