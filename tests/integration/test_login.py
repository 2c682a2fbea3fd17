"""Login against the real user store: an invited user who accepted logs in, works with the
access token within their role, refreshes, and a wrong password gets 401."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.conftest import Mailbox
from tests.integration.identity import PASSWORD, accept, invite, read_user
from tests.integration.test_api_keys import new_org

PUBLIC = {"Authorization": ""}


def test_an_invited_user_logs_in_reads_within_their_role_and_refreshes(
        client: TestClient[Any], mailbox: Mailbox) -> None:
    org = new_org(client)
    email, invited = invite(client, org["id"], role="viewer", firstName="Lou")
    accepted = accept(client, mailbox.token_for(email))
    assert accepted.status_code == 200, accepted.text
    read_user(client, invited["id"], accepted.json()["position"])
    wrong = client.post("/v1/auth/login", json={"email": email, "password": "not it at all"},
                        headers=PUBLIC)
    assert (wrong.status_code, wrong.json()["error"]["reason"]) == (401, "invalid_credentials")
    logged = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD},
                         headers={**PUBLIC, "User-Agent": "pytest-login"})
    assert logged.status_code == 200, logged.text
    tokens = logged.json()
    me = {"Authorization": f"Bearer {tokens['accessToken']}"}
    assert client.get(f"/v1/organizations/{org['id']}", headers=me).status_code == 200
    assert client.patch(f"/v1/organizations/{org['id']}", json={"name": "x"},
                        headers=me).status_code == 403  # a viewer reads only
    [session] = client.get("/v1/sessions", headers=me).json()["data"]
    assert (session["id"], session["userAgent"]) == (tokens["sessionId"], "pytest-login")
    again = client.post("/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]},
                        headers=PUBLIC)
    assert again.status_code == 200, again.text
    assert client.post("/v1/auth/logout", headers=me).status_code == 200
    assert client.get("/v1/sessions", headers=me).json()["error"]["code"] == "token_revoked"
