"""OAuth 2.0 on the real services: client registration and management, client credentials,
authorization code with PKCE (S256 only), refresh, introspection and revocation."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar.testing import TestClient

from domain.permissions import ApiPermission
from tests.integration.test_api_keys import ALL, issue, new_org
from tests.integration.test_sessions import bearer, start_session

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""}
REDIRECT = "https://app.example.com/callback"
USER_PERMS = (ApiPermission(resource="organizations", actions=("read", "update")),)


def register(client: TestClient[Any], org_id: str, **body: Any) -> dict[str, Any]:
    created = client.post("/v1/oauth/clients", json={
        "name": "Integration", "organizationId": org_id, "scopes": ["organizations:read"],
        "grantTypes": ["client_credentials", "authorization_code", "refresh_token"],
        "redirectUris": [REDIRECT], **body})
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


def basic(registered: dict[str, Any]) -> dict[str, str]:
    raw = f"{registered['clientId']}:{registered['clientSecret']}".encode()
    return {**FORM, "Authorization": f"Basic {base64.b64encode(raw).decode()}"}


def token(client: TestClient[Any], registered: dict[str, Any], **form: str) -> Any:
    return client.post("/oauth/token", data=form, headers=basic(registered))


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def test_registration_shows_the_secret_once_and_the_client_is_listed_without_it(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    registered = register(client, org["id"])
    assert registered["clientSecret"].startswith("cs_")
    listed = client.get("/v1/oauth/clients", params={
        "organization_id": org["id"], "min_position": registered["position"]}).json()["data"]
    assert [c["clientId"] for c in listed] == [registered["clientId"]]
    assert registered["clientSecret"] not in str(listed)
    assert listed[0]["redirectUris"] == [REDIRECT]


@pytest.mark.parametrize(("body", "reason"), [
    ({"redirectUris": ["http://app.example.com/cb"]}, "redirect_uri_invalid"),
    ({"redirectUris": ["https://app.example.com/cb#frag"]}, "redirect_uri_invalid"),
    ({"scopes": ["organizations"]}, "scope_invalid"),
    ({"redirectUris": [], "grantTypes": ["authorization_code"]}, "redirect_uri_required"),
])
def test_registration_refuses_bad_redirect_uris_and_scopes(client: TestClient[Any],
                                                           body: dict[str, Any],
                                                           reason: str) -> None:
    org = new_org(client)
    response = client.post("/v1/oauth/clients", json={
        "name": "x", "organizationId": org["id"], "grantTypes": ["authorization_code"],
        "redirectUris": [REDIRECT], **body})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["code"] == reason


def test_client_credentials_issue_a_token_within_the_clients_scopes(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    registered = register(client, org["id"])
    issued = token(client, registered, grant_type="client_credentials")
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert (body["token_type"], body["scope"]) == ("Bearer", "organizations:read")
    assert issued.headers["cache-control"] == "no-store"
    assert client.get(f"/v1/organizations/{org['id']}",
                      headers=bearer(body["access_token"])).status_code == 200
    refused = client.patch(f"/v1/organizations/{org['id']}", json={"name": "x"},
                           headers=bearer(body["access_token"]))
    assert refused.status_code == 403
    wider = token(client, registered, grant_type="client_credentials",
                  scope="organizations:read organizations:delete")
    assert wider.status_code == 400
    assert wider.json()["error"] == "invalid_scope"
    assert set(wider.json()) == {"error", "error_description"}


def test_client_secret_post_works_and_bad_credentials_get_401_invalid_client(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    registered = register(client, org["id"])
    posted = client.post("/oauth/token", headers=FORM, data={
        "grant_type": "client_credentials", "client_id": registered["clientId"],
        "client_secret": registered["clientSecret"]})
    assert posted.status_code == 200, posted.text
    wrong = client.post("/oauth/token", headers=FORM, data={
        "grant_type": "client_credentials", "client_id": registered["clientId"],
        "client_secret": "cs_wrong"})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    rotated = client.post(f"/v1/oauth/clients/{registered['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    assert token(client, registered, grant_type="client_credentials").status_code == 401
    assert token(client, {**registered, "clientSecret": rotated.json()["clientSecret"]},
                 grant_type="client_credentials").status_code == 200


URLENCODED = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(("content", "headers"), [
    ('{"grant_type": "client_credentials"}', {"Content-Type": "application/json"}),
    ("grant_type=client_credentials&grant_type=client_credentials", URLENCODED),
    (b"grant_type=\xff\xfe", URLENCODED),
    ("grant_type=password&username=a&password=b", URLENCODED),
    ("grant_type=client_credentials&" + "&".join(f"f{i}=x" for i in range(30)), URLENCODED),
])
def test_malformed_token_requests_are_rfc_6749_errors(client: TestClient[Any], content: Any,
                                                      headers: dict[str, str]) -> None:
    org = new_org(client)
    registered = register(client, org["id"])
    response = client.post("/oauth/token", content=content,
                           headers={**basic(registered), **headers})
    assert response.status_code == 400, response.text
    assert response.json()["error"] in ("invalid_request", "unsupported_grant_type")


def approve(client: TestClient[Any], user_token: str, registered: dict[str, Any],
            challenge: str, **body: Any) -> Any:
    return client.post("/v1/oauth/authorize", headers=bearer(user_token), json={
        "clientId": registered["clientId"], "redirectUri": REDIRECT, "state": "xyz",
        "scope": "organizations:read", "codeChallenge": challenge, **body})


def test_authorization_code_with_pkce_gives_tokens_once(client: TestClient[Any]) -> None:
    org = new_org(client)
    registered = register(client, org["id"])
    user = start_session(client, org["id"], permissions=USER_PERMS)
    verifier, challenge = pkce()
    approved = approve(client, user.access_token, registered, challenge)
    assert approved.status_code == 200, approved.text
    url = urlsplit(approved.json()["redirectUrl"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == REDIRECT
    query = parse_qs(url.query)
    assert query["state"] == ["xyz"]
    code = query["code"][0]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "code_verifier": verifier}
    issued = token(client, registered, **exchange)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    assert body["scope"] == "organizations:read"
    assert client.get(f"/v1/organizations/{org['id']}",
                      headers=bearer(body["access_token"])).status_code == 200
    # Only what was approved, though the user may update.
    assert client.patch(f"/v1/organizations/{org['id']}", json={"name": "x"},
                        headers=bearer(body["access_token"])).status_code == 403
    again = token(client, registered, **exchange)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    refreshed = token(client, registered, grant_type="refresh_token",
                      refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    reused = token(client, registered, grant_type="refresh_token",
                   refresh_token=body["refresh_token"])
    assert reused.json()["error"] == "invalid_grant"
    assert token(client, registered, grant_type="refresh_token",
                 refresh_token=refreshed.json()["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("mistake", ["verifier", "redirect_uri", "other_client", "no_verifier"])
def test_a_code_is_refused_for_a_wrong_verifier_redirect_uri_or_client(
        client: TestClient[Any], mistake: str) -> None:
    org = new_org(client)
    registered, other = register(client, org["id"]), register(client, org["id"])
    user = start_session(client, org["id"], permissions=USER_PERMS)
    verifier, challenge = pkce()
    code = parse_qs(urlsplit(approve(client, user.access_token, registered, challenge).json()[
        "redirectUrl"]).query)["code"][0]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "code_verifier": verifier}
    presenter = registered
    if mistake == "verifier":
        exchange["code_verifier"] = pkce()[0]
    elif mistake == "redirect_uri":
        exchange["redirect_uri"] = "https://app.example.com/other"
    elif mistake == "other_client":
        presenter = other
    else:
        del exchange["code_verifier"]
    refused = token(client, presenter, **exchange)
    assert refused.status_code == 400
    expected = "invalid_request" if mistake == "no_verifier" else "invalid_grant"
    assert refused.json()["error"] == expected
    if mistake != "no_verifier":  # the code was spent by the failed attempt
        exchange.update(code_verifier=verifier, redirect_uri=REDIRECT)
        assert token(client, registered, **exchange).json()["error"] == "invalid_grant"


def test_authorize_refuses_plain_pkce_unknown_redirect_uris_and_scopes_beyond_the_user(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    registered = register(client, org["id"], scopes=["organizations:read", "api_keys:create"])
    user = start_session(client, org["id"], permissions=USER_PERMS)
    _, challenge = pkce()
    plain = approve(client, user.access_token, registered, challenge,
                    codeChallengeMethod="plain")
    assert (plain.status_code, plain.json()["error"]["reason"]) == (400, "pkce_method_unsupported")
    elsewhere = approve(client, user.access_token, registered, challenge,
                        redirectUri="https://evil.example/cb")
    assert elsewhere.json()["error"]["reason"] == "redirect_uri_mismatch"
    beyond_client = approve(client, user.access_token, registered, challenge,
                            scope="organizations:delete")
    assert beyond_client.json()["error"]["reason"] == "scope_not_allowed"
    beyond_user = approve(client, user.access_token, registered, challenge,
                          scope="api_keys:create")
    assert (beyond_user.status_code, beyond_user.json()["error"]["reason"]) == (
        403, "permission_denied")
    machine = register(client, org["id"], grantTypes=["client_credentials"])
    no_code = approve(client, user.access_token, machine, challenge)
    assert no_code.json()["error"]["reason"] == "grant_not_allowed"
    by_key = approve(client, issue(client, org["id"], permissions=ALL), registered, challenge)
    assert by_key.json()["error"]["reason"] == "session_required"


def test_introspection_and_revocation(client: TestClient[Any]) -> None:
    org, other = new_org(client), new_org(client)
    registered, outsider = register(client, org["id"]), register(client, other["id"])
    access = token(client, registered, grant_type="client_credentials").json()["access_token"]
    seen = client.post("/oauth/introspect", data={"token": access}, headers=basic(registered))
    assert seen.status_code == 200, seen.text
    claims = seen.json()
    assert claims["active"] is True
    assert (claims["client_id"], claims["scope"]) == (registered["clientId"],
                                                       "organizations:read")
    assert claims["exp"] > claims["iat"]
    assert client.post("/oauth/introspect", data={"token": access},
                       headers=basic(outsider)).json() == {"active": False}
    assert client.post("/oauth/introspect", data={"token": "nonsense"},
                       headers=basic(registered)).json() == {"active": False}
    assert client.post("/oauth/introspect", data={"token": access},
                       headers=FORM).status_code == 401
    for unknown in ("nonsense", "rt_" + "0" * 32 + "_" + "a" * 43, "a.b.c"):
        gone = client.post("/oauth/revoke", data={"token": unknown}, headers=basic(registered))
        assert gone.status_code == 200
    assert client.post("/oauth/revoke", data={"token": access},
                       headers=basic(registered)).status_code == 200
    assert client.post("/oauth/introspect", data={"token": access},
                       headers=basic(registered)).json() == {"active": False}
    refused = client.get(f"/v1/organizations/{org['id']}", headers=bearer(access))
    assert refused.json()["error"]["code"] == "token_revoked"


def test_a_client_is_updated_and_deleted_and_then_cannot_authenticate(
        client: TestClient[Any]) -> None:
    org = new_org(client)
    registered = register(client, org["id"])
    path = f"/v1/oauth/clients/{registered['id']}"
    changed = client.patch(path, json={"scopes": ["organizations:read", "api_keys:read"]})
    assert changed.status_code == 200, changed.text
    both = token(client, registered, grant_type="client_credentials",
                 scope="organizations:read api_keys:read")
    assert both.status_code == 200, both.text
    read = client.get(path, params={"min_position": changed.json()["position"]}).json()
    assert read["scopes"] == ["organizations:read", "api_keys:read"]
    assert client.delete(path).status_code == 200
    assert client.delete(path).json()["error"]["reason"] == "oauth_client_deleted"
    assert token(client, registered, grant_type="client_credentials").status_code == 401
    assert client.get(f"/v1/oauth/clients/{uuid.uuid4()}").status_code == 404
