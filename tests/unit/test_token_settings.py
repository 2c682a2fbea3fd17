"""Token settings: ENCRYPTION_KEY is required in production; the JWT knobs parse and must be
positive; the scope grammar maps onto permissions."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from domain.permissions import scope_permissions
from infra.settings import SettingsError, load_settings
from infra.signing import seal, sealing_key, unseal
from infra.tokens import looks_like_jwt

PRODUCTION = {"CHRONICLE_ENV": "production", "API_SECRET": "a" * 32}


def test_production_refuses_to_start_without_an_encryption_key() -> None:
    with pytest.raises(SettingsError, match="ENCRYPTION_KEY"):
        load_settings(PRODUCTION)
    assert load_settings({**PRODUCTION, "ENCRYPTION_KEY": "k" * 32}).encryption_key == "k" * 32


def test_jwt_settings_parse_and_must_be_positive() -> None:
    settings = load_settings({"JWT_ACCESS_TTL_S": "60", "JWT_KEY_ROTATION_DAYS": "7",
                              "JWT_ISSUER": "https://id.acme.test", "REDIS_SESSION_TTL": "120"})
    assert (settings.jwt_access_ttl_s, settings.jwt_key_rotation_days) == (60, 7)
    assert (settings.jwt_issuer, settings.redis_session_ttl) == ("https://id.acme.test", 120)
    with pytest.raises(SettingsError, match="JWT_ACCESS_TTL_S"):
        load_settings({"JWT_ACCESS_TTL_S": "0"})


def test_a_sealed_private_key_opens_only_with_its_key_and_kid() -> None:
    key = sealing_key("k" * 32)
    sealed = seal(key, "kid-1", b"-----BEGIN PRIVATE KEY-----")
    assert unseal(key, "kid-1", sealed) == b"-----BEGIN PRIVATE KEY-----"
    with pytest.raises(InvalidTag):
        unseal(sealing_key("other" * 8), "kid-1", sealed)
    with pytest.raises(InvalidTag):
        unseal(key, "kid-2", sealed)


def test_scopes_map_onto_permissions_and_ignore_what_is_not_a_scope() -> None:
    granted = scope_permissions("organizations:read api_keys:create organizations:update x:fly y")
    assert [(p.resource, p.actions) for p in granted] == [
        ("organizations", ("read", "update")), ("api_keys", ("create",))]


@pytest.mark.parametrize(("token", "jwt"), [("a.b.c", True), ("pk_live_x", False),
                                            ("opaque", False), ("a.b", False)])
def test_what_counts_as_a_jwt(token: str, jwt: bool) -> None:
    assert looks_like_jwt(token) is jwt
