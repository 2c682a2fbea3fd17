"""Shared steps of the identity tests: sign up, invite, read a user."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient

from commands.runner import Context
from domain.envelope import SYSTEM

PASSWORD = "correct horse battery staple"
PUBLIC = {"Authorization": ""}  # the public routes ignore it; sent empty to show they need none


def nonce() -> str:
    return uuid.uuid4().hex[:10]


def signup(client: TestClient[Any], **body: Any) -> Any:
    n = nonce()
    payload = {"organizationName": "Acme", "slug": f"su-{n}", "email": f"owner-{n}@example.com",
               "password": PASSWORD, "firstName": "Olive", **body}
    return client.post("/v1/auth/signup", json=payload, headers=PUBLIC)


def read_user(client: TestClient[Any], user_id: str, position: int | None) -> dict[str, Any]:
    response = client.get(f"/v1/users/{user_id}", params={"min_position": position or 0})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def invite(client: TestClient[Any], org_id: str, **body: Any) -> tuple[str, dict[str, Any]]:
    email = f"inv-{nonce()}@example.com"
    response = client.post("/v1/users", json={"email": email, "organizationId": org_id, **body})
    assert response.status_code == 201, response.text
    return email, response.json()


def accept(client: TestClient[Any], token: str) -> Any:
    return client.post("/v1/auth/accept-invitation", json={"token": token, "password": PASSWORD},
                       headers=PUBLIC)


def system_context() -> Context:
    return Context(actor=SYSTEM, request_id="test-login")
