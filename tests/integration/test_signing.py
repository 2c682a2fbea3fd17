"""HMAC request signing for API keys, on the real services (PostgreSQL remembers signatures)."""

from __future__ import annotations

import json
import time
from typing import Any

from litestar.testing import TestClient

from api.auth.signing import SIGNATURE_SKEW_S, sign
from tests.integration.test_api_keys import ALL, new_org

KEYS = "/v1/api-keys"


def issue_signed(client: TestClient[Any], org_id: str, required: bool = True) -> dict[str, Any]:
    issued = client.post(KEYS, json={"name": "signed", "organizationId": org_id,
                                     "permissions": ALL, "requireSignature": required})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["signingSecret"].startswith("sk_sign_")
    seen = client.get(f"{KEYS}/{body['id']}", params={"min_position": body["position"]})
    assert seen.json()["requireSignature"] is required
    return body  # type: ignore[no-any-return]


def signed(client: TestClient[Any], key: dict[str, Any], method: str, path: str,
           body: dict[str, Any] | None = None, *, at: int | None = None,
           tamper: bytes | None = None, secret: str | None = None) -> Any:
    raw = json.dumps(body).encode() if body is not None else b""
    stamp = at if at is not None else int(time.time())
    signature = sign(secret or key["signingSecret"], stamp, method, path, raw)
    return client.request(method, path, content=tamper if tamper is not None else raw, headers={
        "Authorization": f"Bearer {key['key']}", "Chronicle-Signature": signature,
        **({"Content-Type": "application/json"} if raw else {})})


def reason(response: Any) -> str:
    assert response.status_code == 401, response.text
    return response.json()["error"]["reason"]  # type: ignore[no-any-return]


def test_a_key_that_requires_signatures_refuses_unsigned_requests(client: TestClient[Any]) -> None:
    key = issue_signed(client, new_org(client)["id"])
    unsigned = client.get("/v1/organizations", headers={"Authorization": f"Bearer {key['key']}"})
    assert reason(unsigned) == "signature_required"
    assert unsigned.json()["error"]["code"] == "invalid_signature"
    assert signed(client, key, "GET", "/v1/organizations?limit=5").status_code == 200


def test_a_signed_write_goes_through_once_and_its_replay_is_refused(
        client: TestClient[Any]) -> None:
    key = issue_signed(client, new_org(client)["id"])
    body = {"name": "child", "permissions": []}
    stamp = int(time.time())
    first = signed(client, key, "POST", KEYS, body, at=stamp)
    assert first.status_code == 201, first.text
    assert reason(signed(client, key, "POST", KEYS, body, at=stamp)) == "signature_replayed"


def test_a_tampered_body_an_old_timestamp_or_a_bad_header_is_refused(
        client: TestClient[Any]) -> None:
    key = issue_signed(client, new_org(client)["id"])
    body = {"name": "child", "permissions": []}
    tampered = signed(client, key, "POST", KEYS, body,
                      tamper=json.dumps({"name": "other", "permissions": []}).encode())
    assert reason(tampered) == "signature_mismatch"
    old = signed(client, key, "POST", KEYS, body, at=int(time.time()) - SIGNATURE_SKEW_S - 5)
    assert reason(old) == "signature_expired"
    wrong_secret = signed(client, key, "POST", KEYS, body, secret="sk_sign_not-the-secret")
    assert reason(wrong_secret) == "signature_mismatch"
    for header in ("v1=abc", "t=1,v1=zz", "t=,v1=" + "0" * 64, "x" * 300):
        malformed = client.get("/v1/organizations", headers={
            "Authorization": f"Bearer {key['key']}", "Chronicle-Signature": header})
        assert reason(malformed) == "signature_malformed"
    listed = client.get(KEYS, params={"organization_id": key_org(client, key)}).json()["data"]
    assert [k["name"] for k in listed] == ["signed"], "no refused write was executed"


def key_org(client: TestClient[Any], key: dict[str, Any]) -> str:
    return client.get(f"{KEYS}/{key['id']}").json()["organizationId"]  # type: ignore[no-any-return]


def test_a_key_without_the_requirement_still_has_any_signature_it_sends_checked(
        client: TestClient[Any]) -> None:
    key = issue_signed(client, new_org(client)["id"], required=False)
    plain = client.get("/v1/organizations", headers={"Authorization": f"Bearer {key['key']}"})
    assert plain.status_code == 200
    bad = signed(client, key, "GET", "/v1/organizations", secret="sk_sign_wrong")
    assert reason(bad) == "signature_mismatch"


def test_rolling_a_key_gives_a_new_signing_secret(client: TestClient[Any]) -> None:
    key = issue_signed(client, new_org(client)["id"])
    rolled = client.post(f"{KEYS}/{key['id']}/roll", json={"gracePeriodSeconds": 0})
    assert rolled.status_code == 200, rolled.text
    new = rolled.json()
    assert new["signingSecret"] != key["signingSecret"]
    client.get(f"{KEYS}/{key['id']}", params={"min_position": new["position"]})
    fresh = {"key": new["key"], "signingSecret": new["signingSecret"]}
    assert signed(client, fresh, "GET", "/v1/organizations").status_code == 200
    mixed = {"key": new["key"], "signingSecret": key["signingSecret"]}
    assert reason(signed(client, mixed, "GET", "/v1/organizations")) == "signature_mismatch"
