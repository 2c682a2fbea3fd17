"""Users over HTTP on the real services: sign-up, mail (a real SMTP server), tokens, roles,
status changes, the last-owner rule, two-factor and authenticate()."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from commands import credentials as cred
from commands.users import Authenticated
from domain.errors import DomainError
from infra.container import Container
from infra.settings import Settings
from tests.conftest import Mailbox, wait_until
from tests.integration.test_api_keys import ALL, as_key, issue, new_org

PASSWORD = "correct horse battery staple"


def nonce() -> str:
    return uuid.uuid4().hex[:10]


def signup(client: TestClient[Any], **body: Any) -> Any:
    n = nonce()
    payload = {"organizationName": "Acme", "slug": f"su-{n}", "email": f"owner-{n}@example.com",
               "password": PASSWORD, "firstName": "Olive", **body}
    return client.post("/v1/auth/signup", json=payload, headers={"Authorization": ""})


def events_of(db: psycopg.Connection, stream_id: str) -> int:
    row = db.execute("SELECT count(*) FROM chronicle_events WHERE originator_id = %s",
                     (stream_id,)).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture(scope="module")
def container(settings: Settings) -> Any:
    c = Container.build(settings)
    yield c
    c.store.close()


def read_user(client: TestClient[Any], user_id: str, position: int | None) -> dict[str, Any]:
    response = client.get(f"/v1/users/{user_id}", params={"min_position": position or 0})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def invite(client: TestClient[Any], org_id: str, **body: Any) -> tuple[str, dict[str, Any]]:
    email = f"inv-{nonce()}@example.com"
    response = client.post("/v1/users", json={"email": email, "organizationId": org_id, **body})
    assert response.status_code == 201, response.text
    return email, response.json()


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
    slug = client.get(f"/v1/organizations/{first.json()['organizationId']}").json()["slug"]
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


def test_an_invited_user_accepts_by_mail_and_then_authenticates(
        client: TestClient[Any], mailbox: Mailbox, container: Any) -> None:
    org = new_org(client)
    email, invited = invite(client, org["id"], role="viewer", firstName="Ivy")
    user = read_user(client, invited["id"], invited["position"])
    assert (user["status"], user["role"], user["firstName"]) == ("inactive", "viewer", "Ivy")
    with pytest.raises(DomainError) as before:
        container.users.authenticate(email, PASSWORD, None, datetime.now(UTC))
    assert before.value.code == "invalid_credentials"

    token = mailbox.token_for(email)
    assert "accept-invitation" in mailbox.to(email)[-1].get_body(("plain",)).get_content()
    weak = client.post("/v1/auth/accept-invitation", json={"token": token, "password": "short"},
                       headers={"Authorization": ""})
    assert weak.json()["error"]["reason"] == "password_policy"
    accepted = client.post("/v1/auth/accept-invitation",
                           json={"token": token, "password": PASSWORD},
                           headers={"Authorization": ""})
    assert accepted.status_code == 200, accepted.text
    now_user = read_user(client, invited["id"], accepted.json()["position"])
    assert (now_user["status"], now_user["emailVerified"]) == ("active", True)
    who = container.users.authenticate(email, PASSWORD, None, datetime.now(UTC))
    assert (str(who.user_id), who.role) == (invited["id"], "viewer")
    assert {p.resource for p in who.permissions} >= {"organizations", "users"}
    assert all(p.actions == ("read",) for p in who.permissions)
    for wrong in ("wrong password!", ""):
        with pytest.raises(DomainError) as bad:
            container.users.authenticate(email, wrong, None, datetime.now(UTC))
        assert bad.value.code == "invalid_credentials"
    with pytest.raises(DomainError) as unknown:
        container.users.authenticate(f"nobody-{nonce()}@example.com", PASSWORD, None,
                                     datetime.now(UTC))
    assert unknown.value.code == "invalid_credentials"
    again = client.post("/v1/auth/accept-invitation", json={"token": token, "password": PASSWORD},
                        headers={"Authorization": ""})
    assert again.json()["error"]["reason"] == "invitation_not_pending"


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


def test_suspend_reactivate_and_remove_with_the_last_owner_kept(
        client: TestClient[Any], container: Any) -> None:
    created = signup(client).json()
    owner, org_id = created["userId"], created["organizationId"]
    for action, call in (("suspend", lambda: client.post(f"/v1/users/{owner}/suspend")),
                         ("delete", lambda: client.delete(f"/v1/users/{owner}")),
                         ("demote", lambda: client.patch(f"/v1/users/{owner}",
                                                         json={"role": "admin"}))):
        refused = call()
        assert refused.status_code == 409, (action, refused.text)
        assert refused.json()["error"]["reason"] == "last_owner"
    email, second = invite(client, org_id, role="owner")
    suspended = client.post(f"/v1/users/{second['id']}/suspend", json={"reason": "audit"})
    assert suspended.status_code == 200
    assert read_user(client, second["id"], suspended.json()["position"])["status"] == "suspended"
    again = client.post(f"/v1/users/{second['id']}/suspend")
    assert again.json()["error"]["reason"] == "user_already_suspended"
    back = client.post(f"/v1/users/{second['id']}/reactivate")
    assert back.status_code == 200
    assert read_user(client, second["id"], back.json()["position"])["status"] == "inactive"
    assert client.post(f"/v1/users/{second['id']}/reactivate").json()["error"]["reason"] == (
        "user_not_suspended")
    gone = client.delete(f"/v1/users/{second['id']}")
    assert gone.status_code == 200
    assert client.get(f"/v1/users/{second['id']}",
                      params={"min_position": gone.json()["position"]}).status_code == 404
    reinvited = client.post("/v1/users", json={"email": email, "organizationId": org_id})
    assert reinvited.status_code == 201, "removal frees the email"


def test_a_suspended_user_cannot_authenticate(client: TestClient[Any], mailbox: Mailbox,
                                              container: Any) -> None:
    org = new_org(client)
    email, invited = invite(client, org["id"])
    client.post("/v1/auth/accept-invitation", headers={"Authorization": ""},
                json={"token": mailbox.token_for(email), "password": PASSWORD})
    assert client.post(f"/v1/users/{invited['id']}/suspend").status_code == 200
    with pytest.raises(DomainError) as caught:
        container.users.authenticate(email, PASSWORD, None, datetime.now(UTC))
    assert caught.value.code == "user_suspended"


def test_a_second_owner_makes_the_first_removable(client: TestClient[Any],
                                                  mailbox: Mailbox) -> None:
    created = signup(client).json()
    email, second = invite(client, created["organizationId"], role="owner")
    client.post("/v1/auth/accept-invitation", headers={"Authorization": ""},
                json={"token": mailbox.token_for(email), "password": PASSWORD})
    demoted = client.patch(f"/v1/users/{created['userId']}", json={"role": "member"})
    assert demoted.status_code == 200, demoted.text
    last = client.patch(f"/v1/users/{second['id']}", json={"role": "member"})
    assert last.json()["error"]["reason"] == "last_owner"


def test_listing_filters_by_status_and_role_and_pages(client: TestClient[Any]) -> None:
    org = new_org(client)
    ids = [invite(client, org["id"], role=r)[1] for r in ("viewer", "viewer", "admin")]
    position = ids[-1]["position"]
    page = client.get("/v1/users", params={"organization_id": org["id"], "limit": 2,
                                           "min_position": position}).json()
    assert [u["id"] for u in page["data"]] == [ids[0]["id"], ids[1]["id"]]
    assert page["pagination"]["hasNext"]
    rest = client.get("/v1/users", params={"organization_id": org["id"],
                                           "cursor": page["pagination"]["nextCursor"]}).json()
    assert [u["id"] for u in rest["data"]] == [ids[2]["id"]]
    admins = client.get("/v1/users", params={"organization_id": org["id"], "role": "admin"})
    assert [u["id"] for u in admins.json()["data"]] == [ids[2]["id"]]
    none = client.get("/v1/users", params={"organization_id": org["id"], "status": "active"})
    assert none.json()["data"] == []
    bad = client.get("/v1/users", params={"status": "gone"})
    assert bad.json()["error"]["reason"] == "status_filter_invalid"


def test_custom_roles_grant_their_permissions_and_names_are_unique_per_org(
        client: TestClient[Any], mailbox: Mailbox, container: Any) -> None:
    org, other = new_org(client), new_org(client)
    perms = [{"resource": "logs", "actions": ["read"]}]
    created = client.post("/v1/roles", json={"name": "Support", "organizationId": org["id"],
                                             "permissions": perms})
    assert created.status_code == 201, created.text
    role_id = created.json()["id"]
    dup = client.post("/v1/roles", json={"name": "support", "organizationId": org["id"]})
    assert dup.json()["error"]["reason"] == "role_name_taken"
    elsewhere = client.post("/v1/roles", json={"name": "Support", "organizationId": other["id"]})
    assert elsewhere.status_code == 201
    reserved = client.post("/v1/roles", json={"name": "Admin", "organizationId": org["id"]})
    assert reserved.json()["error"]["reason"] == "role_name_reserved"
    listed = client.get("/v1/roles", params={"organization_id": org["id"],
                                             "min_position": created.json()["position"]})
    names = [(r["name"], r["isSystem"]) for r in listed.json()["data"]]
    assert names == [("owner", True), ("admin", True), ("member", True), ("viewer", True),
                     ("Support", False)]
    foreign = client.post("/v1/users", json={"email": f"x-{nonce()}@example.com",
                                             "organizationId": other["id"], "role": role_id})
    assert foreign.json()["error"]["reason"] == "role_not_found"
    email, _ = invite(client, org["id"], role=role_id,
                            permissions=[{"resource": "users", "actions": ["read"]}])
    client.post("/v1/auth/accept-invitation", headers={"Authorization": ""},
                json={"token": mailbox.token_for(email), "password": PASSWORD})
    who = container.users.authenticate(email, PASSWORD, None, datetime.now(UTC))
    assert [(p.resource, p.actions) for p in who.permissions] == [
        ("logs", ("read",)), ("users", ("read",))]
    renamed = client.patch(f"/v1/roles/{role_id}", json={"name": "Helpdesk"})
    assert renamed.status_code == 200
    assert client.post("/v1/roles", json={"name": "Support", "organizationId": org["id"]}
                       ).status_code == 201, "the old name is free again"
    deleted = client.delete(f"/v1/roles/{role_id}")
    assert deleted.status_code == 200
    assert client.get(f"/v1/roles/{role_id}", params={
        "min_position": deleted.json()["position"]}).status_code == 404
    who = container.users.authenticate(email, PASSWORD, None, datetime.now(UTC))
    assert [p.resource for p in who.permissions] == ["users"]


def test_a_key_cannot_grant_a_role_wider_than_its_own(client: TestClient[Any]) -> None:
    org = new_org(client)
    admin_like = issue(client, org["id"], permissions=[
        {"resource": "users", "actions": ["create", "read", "update", "delete"]},
        {"resource": "logs", "actions": ["read"]}])
    wider = as_key(client, admin_like, "POST", "/v1/users",
                   json={"email": f"w-{nonce()}@example.com", "role": "owner"})
    assert wider.status_code == 403
    assert wider.json()["error"]["reason"] == "permission_escalation"
    own = as_key(client, admin_like, "POST", "/v1/users",
                 json={"email": f"o-{nonce()}@example.com", "role": "viewer",
                       "permissions": []})
    assert own.status_code == 403, "viewer reads organizations, which this key cannot"
    narrow = as_key(client, admin_like, "POST", "/v1/roles",
                    json={"name": "Logs", "permissions": [{"resource": "logs",
                                                           "actions": ["read"]}]})
    assert narrow.status_code == 403, "the key has no roles permission"
    full = issue(client, org["id"], permissions=ALL)
    assert as_key(client, full, "POST", "/v1/users", json={
        "email": f"f-{nonce()}@example.com", "role": "admin"}).status_code == 201


def test_two_factor_enrolls_confirms_and_guards_authentication(
        client: TestClient[Any], mailbox: Mailbox, container: Any) -> None:
    email = f"tfa-{nonce()}@example.com"
    created = signup(client, email=email).json()
    client.post("/v1/auth/verify-email", json={"token": mailbox.token_for(email)},
                headers={"Authorization": ""})
    user_id = created["userId"]
    started = client.post(f"/v1/users/{user_id}/two-factor")
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauthUri"].startswith("otpauth://totp/Chronicle:")
    now = datetime.now(UTC)
    wrong = str((int(cred.totp(secret, int(now.timestamp()) // 30)) + 1) % 10**6).zfill(6)
    bad = client.post(f"/v1/users/{user_id}/two-factor/confirm", json={"code": wrong})
    assert bad.json()["error"]["reason"] == "two_factor_code_invalid"
    code = cred.totp(secret, int(now.timestamp()) // 30)
    confirmed = client.post(f"/v1/users/{user_id}/two-factor/confirm", json={"code": code})
    assert confirmed.status_code == 200, confirmed.text
    assert read_user(client, user_id, confirmed.json()["position"])["twoFactorEnabled"]
    for given, reason in ((None, "two_factor_required"), (wrong, "invalid_two_factor_code")):
        with pytest.raises(DomainError) as caught:
            container.users.authenticate(email, PASSWORD, given, now)
        assert caught.value.code == reason
    assert container.users.authenticate(email, PASSWORD, code, now).email == email
    login = container.users.record_login(container_context(), uuid.UUID(user_id))
    assert read_user(client, user_id, login.position)["lastLoginAt"] is not None
    off = client.request("DELETE", f"/v1/users/{user_id}/two-factor", json={"code": code})
    assert off.status_code == 200, off.text
    assert container.users.authenticate(email, PASSWORD, None, now).email == email


def container_context() -> Any:
    from commands.runner import Context
    from domain.envelope import SYSTEM

    return Context(actor=SYSTEM, request_id="test-login")


def test_the_mailer_sends_each_invitation_once_per_event(
        client: TestClient[Any], mailbox: Mailbox, db: psycopg.Connection) -> None:
    org = new_org(client)
    email, invited = invite(client, org["id"])
    mailbox.token_for(email)
    wait_until(lambda: db.execute("SELECT count(*) FROM mail_sent WHERE user_id = %s",
                                  (invited["id"],)).fetchone() == (1,))
    assert len(mailbox.to(email)) == 1


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


def test_if_match_makes_a_user_change_conditional_and_idempotency_keys_replay(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    _, invited = invite(client, org["id"])
    stale = client.patch(f"/v1/users/{invited['id']}", json={"lastName": "Lee"},
                         headers={"If-Match": '"7"'})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"
    current = client.patch(f"/v1/users/{invited['id']}", json={"lastName": "Lee"},
                           headers={"If-Match": f'"{invited["version"]}"'})
    assert current.status_code == 200, current.text
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post(f"/v1/users/{invited['id']}/suspend", json={}, headers=key)
    replay = client.post(f"/v1/users/{invited['id']}/suspend", json={}, headers=key)
    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()


def test_a_keys_field_and_filter_conditions_shape_what_it_reads_of_users(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    _, viewer = invite(client, org["id"], role="viewer", firstName="Vee")
    _, admin = invite(client, org["id"], role="admin", firstName="Ada")
    key = issue(client, org["id"], permissions=[{"resource": "users", "actions": ["read"],
                                                 "conditions": {"fields": ["email", "role"],
                                                                "filters": {"role": "viewer"}}}])
    listed = as_key(client, key, "GET", "/v1/users",
                    params={"min_position": admin["position"]}).json()["data"]
    assert listed == [{"id": viewer["id"], "email": listed[0]["email"], "role": "viewer"}]
    assert as_key(client, key, "GET", f"/v1/users/{admin['id']}").status_code == 404
    seen = as_key(client, key, "GET", f"/v1/users/{viewer['id']}").json()
    assert set(seen) == {"id", "email", "role"}
