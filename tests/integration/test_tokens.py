"""JWT access tokens on the real services: the signing key ring, JWKS rotation, and the
401 codes a bad token gets (expired, tampered, alg none, HS256, wrong issuer, unknown kid)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import psycopg
import pytest
import redis
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from litestar.testing import TestClient

from domain.permissions import ApiPermission
from infra.container import Container
from infra.settings import ROOT, Settings
from infra.signing import CHANNEL, KeyRing, ensure_current, rotate
from tests.conftest import env_for, wait_until
from tests.integration.test_api_keys import new_org

READ_ORGS = (ApiPermission(resource="organizations", actions=("read",)),)


def container_of(client: TestClient[Any]) -> Container:
    return client.app.state.container  # type: ignore[no-any-return]


def user_token(client: TestClient[Any], org_id: str, *, now: datetime | None = None,
               permissions: tuple[ApiPermission, ...] = READ_ORGS, **kw: Any) -> str:
    token, _ = container_of(client).tokens.issue(
        subject=str(uuid.uuid4()), organization_id=uuid.UUID(org_id), kind="user",
        now=now or datetime.now(UTC), permissions=permissions, role="member", **kw)
    return token


def get_org(client: TestClient[Any], org_id: str, token: str) -> Any:
    return client.get(f"/v1/organizations/{org_id}", headers={"Authorization": f"Bearer {token}"})


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_user_token_reads_its_organization_and_not_another(client: TestClient[Any]) -> None:
    mine, theirs = new_org(client), new_org(client)
    token = user_token(client, mine["id"])
    assert get_org(client, mine["id"], token).status_code == 200
    assert get_org(client, theirs["id"], token).status_code == 404
    denied = client.patch(f"/v1/organizations/{mine['id']}", json={"name": "x"},
                          headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403, denied.text


def test_an_expired_token_is_refused_as_expired(client: TestClient[Any]) -> None:
    org = new_org(client)
    old = user_token(client, org["id"], now=datetime.now(UTC) - timedelta(hours=2))
    response = get_org(client, org["id"], old)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_expired"
    assert "invalid_token" in response.headers["www-authenticate"]


def forged(client: TestClient[Any], org_id: str) -> dict[str, str]:
    good = user_token(client, org_id)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    c = container_of(client)
    public = c.ring.current.public
    return {
        "tampered": f"{header}.{b64({**claims, 'perms': [{'resource': '*', 'actions': ['delete']}]})}"
                    f".{signature}",
        "alg_none": f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': c.ring.current.kid})}"
                    f".{payload}.",
        "hs256_with_public_key": hs256(claims, c.ring.current.kid, public.public_bytes(
            Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)),
        "wrong_issuer": jwt.encode({**claims, "iss": "https://evil.example"},
                                   c.ring.current.private, algorithm="RS256",
                                   headers={"kid": c.ring.current.kid}),
        "wrong_audience": jwt.encode({**claims, "aud": "someone-else"}, c.ring.current.private,
                                     algorithm="RS256", headers={"kid": c.ring.current.kid}),
        "unpublished_key": jwt.encode(claims, rsa.generate_private_key(65537, 2048),
                                      algorithm="RS256", headers={"kid": c.ring.current.kid}),
        "unknown_kid": jwt.encode(claims, c.ring.current.private, algorithm="RS256",
                                  headers={"kid": "nobody"}),
        "malformed": "a.b.c",
        "garbage_base64": "!!!.???.###",
        "missing_claims": jwt.encode({"sub": claims["sub"]}, c.ring.current.private,
                                     algorithm="RS256", headers={"kid": c.ring.current.kid}),
    }


def hs256(claims: dict[str, Any], kid: str, secret: bytes) -> str:
    """The classic confusion attack: HMAC keyed with the public key (pyjwt refuses to make it)."""
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


@pytest.mark.parametrize("kind", ["tampered", "alg_none", "hs256_with_public_key", "wrong_issuer",
                                  "wrong_audience", "unpublished_key", "unknown_kid", "malformed",
                                  "garbage_base64", "missing_claims"])
def test_a_bad_token_is_refused_as_invalid_never_a_500(client: TestClient[Any], kind: str) -> None:
    org = new_org(client)
    response = get_org(client, org["id"], forged(client, org["id"])[kind])
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "token_invalid"


def rotated(settings: Settings, c: Container) -> str:
    """Rotate as `chronicle keys rotate` does; the API process reloads on the Redis message."""
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        kid = rotate(conn, c.ring.encryption_key, datetime.now(UTC))
    with redis.Redis.from_url(settings.redis_url) as r:
        r.publish(f"{settings.redis_key_prefix}{CHANNEL}", "rotated")
    wait_until(lambda: c.ring.keys and c.ring.current.kid == kid, timeout=10,
               message="the API process to load the new key")
    return kid


def test_a_token_signed_by_the_previous_key_stays_valid_after_rotation(
        client: TestClient[Any], settings: Settings) -> None:
    org = new_org(client)
    c = container_of(client)
    before = user_token(client, org["id"])
    old_kid = c.ring.current.kid
    new_kid = rotated(settings, c)
    assert new_kid != old_kid
    published = client.get("/.well-known/jwks.json")
    assert published.status_code == 200
    assert "max-age" in published.headers["cache-control"]
    kids = [k["kid"] for k in published.json()["keys"]]
    assert kids[:2] == [new_kid, old_kid]
    assert all(k["kty"] == "RSA" and k["alg"] == "RS256" and k["n"] and k["e"]
               for k in published.json()["keys"])
    assert get_org(client, org["id"], before).status_code == 200
    after = user_token(client, org["id"])
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    assert get_org(client, org["id"], after).status_code == 200


def test_a_retired_key_leaves_the_jwks_only_once_its_tokens_have_expired(
        client: TestClient[Any], settings: Settings) -> None:
    c = container_of(client)
    rotated(settings, c)
    retired = c.ring.keys[1]
    assert retired.retired_at is not None
    lifetime = timedelta(seconds=settings.jwt_access_ttl_s)
    # Just before the last token it signed can expire (plus leeway), it is still published.
    almost = retired.retired_at + lifetime
    assert retired.kid in [k["kid"] for k in c.ring.jwks(almost)["keys"]]
    assert c.ring.public(retired.kid, almost) is not None
    gone = retired.retired_at + c.ring.keep_retired + timedelta(seconds=1)
    assert retired.kid not in [k["kid"] for k in c.ring.jwks(gone)["keys"]]
    assert c.ring.public(retired.kid, gone) is None
    assert c.ring.current.kid in [k["kid"] for k in c.ring.jwks(gone)["keys"]]


def test_the_private_keys_are_sealed_at_rest(settings: Settings, client: TestClient[Any]) -> None:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT private_sealed FROM signing_keys").fetchall()
    assert rows
    assert all(b"PRIVATE KEY" not in bytes(r[0]) for r in rows)


def test_automatic_rotation_makes_a_key_when_the_newest_is_too_old(isolated: Settings) -> None:
    with psycopg.connect(isolated.database_url, autocommit=True) as conn:
        now = datetime.now(UTC)
        first = ensure_current(conn, "k" * 32, now, 30)
        assert first is not None  # no key yet
        assert ensure_current(conn, "k" * 32, now, 30) is None  # a current key is fresh
        made = ensure_current(conn, "k" * 32, now + timedelta(days=31), 30)
        assert made is not None
        newest = conn.execute("SELECT kid FROM signing_keys WHERE retired_at IS NULL").fetchall()
        assert newest == [(made,)]
        ring = KeyRing(isolated.database_url, "k" * 32, timedelta(minutes=15), 30)
        assert ring.refresh(now + timedelta(days=31)) is False
        assert ring.current.kid == made
        assert [k.kid for k in ring.keys] == [made, first]


def test_chronicle_keys_rotate_makes_a_key_the_api_loads_at_once(
        client: TestClient[Any], settings: Settings) -> None:
    c = container_of(client)
    before = c.ring.current.kid
    done = subprocess.run([sys.executable, "-m", "infra.cli", "keys", "rotate"], cwd=ROOT,
                          env=env_for(settings, REDIS_KEY_PREFIX=settings.redis_key_prefix),
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    wait_until(lambda: c.ring.current.kid != before, timeout=10,
               message="the API process to load the rotated key")
    assert c.ring.current.kid in done.stdout.decode()
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    assert kids[:2] == [c.ring.current.kid, before]
