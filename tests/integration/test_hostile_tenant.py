"""A hostile tenant: anyone can sign up, so anyone is an owner. The largest bodies the route
table allows, sent as that owner, are each accepted or refused cleanly, and afterwards the relay
and every projection still catch up, for this tenant and for the others."""

from __future__ import annotations

import time
from typing import Any

from litestar.testing import TestClient

from infra.eventstore import EventStore
from tests.conftest import Mailbox, wait_until
from tests.integration.bodies import WALK_TYPE, WriteRoute, maximal
from tests.integration.identity import PASSWORD, PUBLIC, nonce, signup
from tests.integration.test_bounded_bodies import WITH_BODY

# An IP whitelist and a suspension lock the tenant out: those come last, so the rest is tried.
FIRST = [r for r in WITH_BODY if not r.path.endswith("/suspend")]
LAST = [r for r in WITH_BODY if r.path.endswith("/suspend")]

READ_MODELS = ("/v1/organizations/{org}", "/v1/api-keys", "/v1/users", "/v1/roles",
               "/v1/oauth/clients")


def owner_token(client: TestClient[Any], mailbox: Mailbox) -> tuple[str, str]:
    email = f"owner-{nonce()}@example.com"
    created = signup(client, email=email)
    assert created.status_code == 201, created.text
    verified = client.post("/v1/auth/verify-email", json={"token": mailbox.token_for(email)},
                           headers=PUBLIC)
    assert verified.status_code == 200, verified.text
    logged = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD},
                         headers=PUBLIC)
    assert logged.status_code == 200, logged.text
    return created.json()["organizationId"], logged.json()["accessToken"]


def paced(client: TestClient[Any], method: str, path: str, **kwargs: Any) -> Any:
    """The request, waiting out the free plan's rate limit (a 429 is the limiter, not the body)."""
    for _ in range(20):
        response = client.request(method, path, **kwargs)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("retry-after", "1")))
    return response


def walk(client: TestClient[Any], routes: list[WriteRoute], org: str,
         hostile: dict[str, str]) -> list[tuple[str, int, str]]:
    """Every route, its body at every bound, aimed at the tenant's own organization."""
    answers = []
    for route in routes:
        assert route.body is not None
        # Largest everywhere, except where a value must name something real to get past 404.
        body = maximal(route.body)
        real = {"organizationId": org, "role": "member"}
        body.update({k: v for k, v in real.items() if k in body})
        response = paced(client, route.method, route.url(
            organization_id=org, resource_type=WALK_TYPE), json=body,
            headers={**route.headers, **hostile})
        answers.append((f"{route.method} {route.path}", response.status_code,
                        response.json()["error"]["reason"] if response.status_code >= 400 else ""))
    return answers


def worst_bodies(org: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Hand-made largest bodies the rules accept: large events that must still flow."""
    wide = [{"resource": f"{i:02d}" + "r" * 98, "actions": ["create", "read", "update", "delete"],
             "conditions": {"fields": [f"{j:02d}" + "f" * 98 for j in range(10)]}}
            for i in range(50)]
    # 50 grants of 40 fields: an event of about 215 KB, just under MAX_EVENT_BYTES.
    widest = [{**w, "conditions": {"fields": [f"{j:02d}" + "f" * 98 for j in range(40)]}}
              for w in wide]
    origins = [f"https://{i:03d}{'o' * 60}.{'p' * 60}.{'q' * 60}.example" for i in range(100)]
    return [
        ("POST", "/v1/api-keys", {"name": "k" * 255, "organizationId": org,
                                  "permissions": widest}),
        ("POST", "/v1/roles", {"name": "r" * 100, "organizationId": org, "description": "d" * 1000,
                               "permissions": wide}),
        ("PATCH", f"/v1/organizations/{org}", {"name": "n" * 255, "settings": {
            "timezone": "America/Argentina/ComodRivadavia",
            "security": {"allowedOrigins": origins}}}),
        ("POST", "/v1/oauth/clients", {"name": "c" * 255, "organizationId": org,
                                       "redirectUris": [f"https://cb.example/{i}" + "u" * 1900
                                                        for i in range(10)],
                                       "scopes": [f"r{i}:read" for i in range(50)],
                                       "grantTypes": ["authorization_code"]}),
        # Data just under MAX_DATA_BYTES and every annotation at its bound: about 170 KB.
        ("POST", f"/v1/resources/{WALK_TYPE}", {"data": {"d": "x" * 65_000}, "metadata": {
            "tags": [f"{i:02d}" + "t" * 98 for i in range(50)],
            "labels": {f"{i:02d}" + "k" * 98: "v" * 200 for i in range(50)},
            "annotations": {f"{i:02d}" + "k" * 98: "a" * 2000 for i in range(50)}}}),
        ("POST", "/v1/users", {"email": f"{'e' * 60}@example.com", "organizationId": org,
                               "firstName": "f" * 255, "lastName": "l" * 255,
                               "permissions": wide[:20]}),
    ]


def test_the_largest_bodies_of_a_hostile_tenant_are_answered_cleanly_and_the_pipeline_goes_on(
        client: TestClient[Any], store: EventStore, mailbox: Mailbox) -> None:
    org, token = owner_token(client, mailbox)
    hostile = {"Authorization": f"Bearer {token}"}
    walked = paced(client, "POST", "/v1/resource-types", headers=hostile, json={
        "name": WALK_TYPE, "schema": {}, "organizationId": org})
    assert walked.status_code == 201, walked.text
    for method, path, body in worst_bodies(org):
        response = paced(client, method, path, json=body, headers=hostile)
        assert response.status_code in (200, 201), (path, response.text[:300])
    answers = walk(client, FIRST, org, hostile)
    whitelist = paced(client, "PATCH", f"/v1/organizations/{org}", headers=hostile, json={
        "settings": {"ipWhitelist": [f"2001:db8:{i:x}::/48" for i in range(100)]}})
    assert whitelist.status_code == 200, whitelist.text
    answers += walk(client, LAST, org, hostile)
    assert [a for a in answers if a[1] >= 500] == []
    # The largest permission lists make events over MAX_EVENT_BYTES: refused before append.
    assert ("POST /v1/api-keys", 413, "event_too_large") in answers
    top = store.head()
    for path in READ_MODELS:
        read = client.get(path.format(org=org), params={"min_position": top})
        assert read.status_code == 200, (path, read.text[:300])
    wait_until(lambda: all(p["lag"] == 0 for p in client.get("/v1/projections").json()["data"]),
               timeout=60, message="every projection at the store head")
    other = signup(client)
    assert client.get(f"/v1/organizations/{other.json()['organizationId']}",
                      params={"min_position": other.json()["position"]}).status_code == 200
