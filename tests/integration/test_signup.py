"""Sign-up, mailed tokens and authenticate() over HTTP on the real services (a real SMTP
server included): atomic sign-up, bad input writes nothing, nothing secret is stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from commands.users import Authenticated
from domain.errors import DomainError
from infra.settings import Settings
from tests.conftest import Mailbox
from tests.integration.identity import (
    PASSWORD,
    nonce,
    read_user,
    signup,
)


def test_signup_creates_the_organization_and_its_owner_and_mails_a_verification(
        client: TestClient[Any], mailbox: Mailbox, container: Any) -> None:
    email = f"Owner-{nonce()}@Example.com"
    response = signup(client, email=email)
    assert response.status_code == 201, response.text
    body = response.json()
    owner = read_user(client, body["userId"], body["position"])
    assert (owner["email"], owner["role"], owner["status"], owner["emailVerified"]) == (
        email.lower(), "owner", "active", False)
    assert owner["organizationId"] == body["organizationId"]
    org = client.get(f"/v1/organizations/{body['organizationId']}",
                     params={"min_position": body["position"]}).json()
    assert org["name"] == "Acme"
    with pytest.raises(DomainError) as unverified:
        container.users.authenticate(email, PASSWORD, None, datetime.now(UTC))
    assert unverified.value.code == "email_not_verified"

    token = mailbox.token_for(email.lower())
    verified = client.post("/v1/auth/verify-email", json={"token": token},
                           headers={"Authorization": ""})
    assert verified.status_code == 200, verified.text
    assert read_user(client, body["userId"], verified.json()["position"])["emailVerified"]
    who = container.users.authenticate(email.upper(), PASSWORD, None, datetime.now(UTC))
    assert who == Authenticated(uuid.UUID(body["userId"]), uuid.UUID(body["organizationId"]),
                                email.lower(), "owner", who.permissions)
    assert who.permissions[0].resource == "*"


def test_a_tampered_or_misused_token_is_refused(client: TestClient[Any],
                                               mailbox: Mailbox) -> None:
    email = f"tamper-{nonce()}@example.com"
    assert signup(client, email=email).status_code == 201
    token = mailbox.token_for(email)
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    for path, body in (("/v1/auth/verify-email", {"token": forged}),
                       ("/v1/auth/verify-email", {"token": "nonsense"}),
                       ("/v1/auth/accept-invitation", {"token": token, "password": PASSWORD})):
        refused = client.post(path, json=body, headers={"Authorization": ""})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["reason"] == "mail_token_invalid"


def test_signup_with_a_taken_slug_or_email_writes_nothing(client: TestClient[Any],
                                                         db: psycopg.Connection) -> None:
    first = signup(client)
    assert first.status_code == 201
    taken_email = client.get(f"/v1/users/{first.json()['userId']}",
                             params={"min_position": first.json()["position"]}).json()["email"]
    before = db.execute("SELECT max(notification_id) FROM chronicle_events").fetchone()
    slug = client.get(f"/v1/organizations/{first.json()['organizationId']}",
                      params={"min_position": first.json()["position"]}).json()["slug"]
    again_slug = signup(client, slug=slug)
    assert again_slug.status_code == 409
    assert again_slug.json()["error"]["reason"] == "slug_taken"
    again_email = signup(client, email=taken_email.upper())
    assert again_email.status_code == 409
    assert again_email.json()["error"]["reason"] == "email_taken"
    after = db.execute("SELECT max(notification_id) FROM chronicle_events").fetchone()
    assert before == after, "a refused sign-up appended nothing"


@pytest.mark.parametrize(("body", "status", "reason"), [
    ({"password": "too short"}, 422, "password_policy"),
    ({"password": "p" * 257}, 422, "password_policy"),
    ({"email": "not-an-email"}, 422, "email_invalid"),
    ({"slug": "Bad Slug"}, 422, "validation_failed"),
    ({"organizationName": "x" * 256}, 422, "validation_failed"),
    ({"password": "p" * 1025}, 422, "validation_failed"),
    ({"isAdmin": True}, 422, "validation_failed"),
])
def test_bad_signups_are_refused_and_write_nothing(client: TestClient[Any], db: psycopg.Connection,
                                                   body: dict[str, Any], status: int,
                                                   reason: str) -> None:
    before = db.execute("SELECT max(notification_id) FROM chronicle_events").fetchone()
    response = signup(client, **body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["reason"] == reason
    assert db.execute("SELECT max(notification_id) FROM chronicle_events").fetchone() == before


def test_signup_refuses_malformed_json_and_other_content_types(client: TestClient[Any]) -> None:
    public = {"Authorization": ""}
    malformed = client.post("/v1/auth/signup", content=b"{bad", headers={
        **public, "Content-Type": "application/json"})
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "malformed_json")
    form = client.post("/v1/auth/signup", content=b"email=a", headers={
        **public, "Content-Type": "application/x-www-form-urlencoded"})
    assert 400 <= form.status_code < 500


def test_no_password_or_token_is_stored_in_plaintext(client: TestClient[Any],
                                                     mailbox: Mailbox,
                                                     db: psycopg.Connection) -> None:
    email = f"plain-{nonce()}@example.com"
    created = signup(client, email=email)
    token = mailbox.token_for(email)
    rows = db.execute("SELECT state FROM chronicle_events WHERE originator_id = %s",
                      (created.json()["userId"],)).fetchall()
    stored = b"".join(bytes(r[0]) for r in rows)
    assert PASSWORD.encode() not in stored
    assert token.split(".")[-1].encode() not in stored
    assert b"$argon2id$" in stored


def test_a_user_of_a_suspended_organization_cannot_authenticate(
        client: TestClient[Any], mailbox: Mailbox, container: Any) -> None:
    email = f"orgoff-{nonce()}@example.com"
    created = signup(client, email=email).json()
    client.post("/v1/auth/verify-email", json={"token": mailbox.token_for(email)},
                headers={"Authorization": ""})
    assert container.users.authenticate(email, PASSWORD, None, datetime.now(UTC)).email == email
    assert client.post(f"/v1/organizations/{created['organizationId']}/suspend",
                       json={}).status_code == 200
    with pytest.raises(DomainError) as caught:
        container.users.authenticate(email, PASSWORD, None, datetime.now(UTC))
    assert caught.value.code == "organization_not_active"


def test_public_routes_are_rate_limited_per_client_ip(settings: Settings,
                                                      workers: Any) -> None:
    from msgspec.structs import replace

    from api.app import create_app

    tight = replace(settings, public_rate_limit_per_minute=3,
                    redis_key_prefix=f"{settings.redis_key_prefix}{nonce()}:")
    with TestClient(app=create_app(tight), raise_server_exceptions=False) as c:
        answers = [c.post("/v1/auth/verify-email", json={"token": "nope"}) for _ in range(6)]
    statuses = [a.status_code for a in answers]
    assert 429 in statuses, statuses
    limited = answers[statuses.index(429)]
    assert limited.json()["error"]["reason"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
