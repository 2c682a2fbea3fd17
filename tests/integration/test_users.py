"""Users over HTTP on the real services: invitation by mail, status changes, the last-owner
rule, listing, two-factor, conditional writes and a key's read conditions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from domain.errors import DomainError
from infra import credentials as cred
from tests.conftest import Mailbox, wait_until
from tests.integration.identity import (
    PASSWORD,
    accept,
    invite,
    nonce,
    read_user,
    signup,
    system_context,
)
from tests.integration.test_api_keys import as_key, issue, new_org


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
    accept(client, mailbox.token_for(email))
    assert client.post(f"/v1/users/{invited['id']}/suspend").status_code == 200
    with pytest.raises(DomainError) as caught:
        container.users.authenticate(email, PASSWORD, None, datetime.now(UTC))
    assert caught.value.code == "user_suspended"


def test_a_second_owner_makes_the_first_removable(client: TestClient[Any],
                                                  mailbox: Mailbox) -> None:
    created = signup(client).json()
    email, second = invite(client, created["organizationId"], role="owner")
    accept(client, mailbox.token_for(email))
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
    login = container.users.record_login(system_context(), uuid.UUID(user_id))
    assert read_user(client, user_id, login.position)["lastLoginAt"] is not None
    off = client.request("DELETE", f"/v1/users/{user_id}/two-factor", json={"code": code})
    assert off.status_code == 200, off.text
    assert container.users.authenticate(email, PASSWORD, None, now).email == email


def test_the_mailer_sends_each_invitation_once_per_event(
        client: TestClient[Any], mailbox: Mailbox, db: psycopg.Connection) -> None:
    org = new_org(client)
    email, invited = invite(client, org["id"])
    mailbox.token_for(email)
    wait_until(lambda: db.execute("SELECT count(*) FROM mail_sent WHERE user_id = %s",
                                  (invited["id"],)).fetchone() == (1,))
    assert len(mailbox.to(email)) == 1


def test_if_match_makes_a_user_change_conditional_and_idempotency_keys_replay(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    _, invited = invite(client, org["id"])
    stale = client.patch(f"/v1/users/{invited['id']}", json={"lastName": "Lee"},
                         headers={"If-Match": '"7"'})
    assert stale.status_code == 412
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
