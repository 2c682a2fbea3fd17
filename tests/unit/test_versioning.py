"""Dated API versions: the list, how a request picks one, and the older shapes of responses."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import msgspec
import pytest

from api.platform.errors import ApiException
from api.platform.versioning import DEFAULT, KNOWN, LATEST, VERSIONS, requested, rewrite, undo_steps

ORG = "/v1/organizations/0b6f3c1e-2d4a-4c5b-8e9f-0a1b2c3d4e5f"
OLD = "2026-06-01"


def scope(header: str | None = None, query: str = "") -> Any:
    headers = [(b"chronicle-version", header.encode())] if header is not None else []
    return {"type": "http", "headers": [(b"accept", b"*/*"), *headers],
            "query_string": query.encode()}


def test_versions_are_dates_in_order_and_the_default_is_the_latest() -> None:
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) and date.fromisoformat(v) for v in KNOWN)
    assert list(KNOWN) == sorted(set(KNOWN))
    assert DEFAULT == LATEST == KNOWN[-1] == "2026-11-01"
    assert OLD in KNOWN
    assert all(change.summary for v in VERSIONS for change in v.changes)


@pytest.mark.parametrize(("header", "query", "version"), [
    (None, "", LATEST),
    (OLD, "", OLD),
    (None, f"chronicle_version={OLD}", OLD),
    (None, f"limit=2&chronicle_version={OLD}&x=1", OLD),
    (OLD, f"chronicle_version={OLD}", OLD),
    (f" {OLD} ", "", OLD),
])
def test_a_request_picks_its_version_by_header_or_query(header: str | None, query: str,
                                                        version: str) -> None:
    assert requested(scope(header, query)) == version


def test_a_header_and_a_query_that_disagree_are_refused() -> None:
    with pytest.raises(ApiException) as caught:
        requested(scope(LATEST, f"chronicle_version={OLD}"))
    assert (caught.value.status, caught.value.code) == (400, "conflicting_api_version")
    assert caught.value.details == {"header": [LATEST], "query": [OLD]}


@pytest.mark.parametrize("given", ["2026-01-01", "latest", "", "x" * 500])
def test_an_unknown_version_is_refused_naming_the_known_ones(given: str) -> None:
    with pytest.raises(ApiException) as caught:
        requested(scope(given))
    assert (caught.value.status, caught.value.code) == (400, "unknown_api_version")
    assert caught.value.details == {"known": list(KNOWN)}
    assert len(str(caught.value.params["version"])) <= 64


@pytest.mark.parametrize(("method", "path", "changed"), [
    ("GET", ORG, True),
    ("GET", "/v1/organizations", True),
    ("GET", "/v1/organizations/", True),
    ("POST", "/v1/organizations", False),
    ("GET", f"{ORG}/history", False),
    ("GET", "/health/live", False),
])
def test_only_organization_reads_change_shape_in_the_older_version(
        method: str, path: str, changed: bool) -> None:
    assert bool(undo_steps(OLD, method, path)) is changed
    assert undo_steps(LATEST, method, path) == []


def test_the_older_version_spells_organization_timestamps_in_snake_case() -> None:
    org = {"id": "1", "name": "Acme", "createdAt": "t1", "updatedAt": "t2", "deletedAt": None,
           "settings": {"ipWhitelist": []}}
    one = msgspec.json.decode(rewrite(msgspec.json.encode(org), undo_steps(OLD, "GET", ORG)))
    assert one == {"id": "1", "name": "Acme", "created_at": "t1", "updated_at": "t2",
                   "deleted_at": None, "settings": {"ipWhitelist": []}}
    page = {"data": [org, org], "pagination": {"hasNext": False}}
    steps = undo_steps(OLD, "GET", "/v1/organizations")
    old_page = msgspec.json.decode(rewrite(msgspec.json.encode(page), steps))
    assert [o["created_at"] for o in old_page["data"]] == ["t1", "t1"]
    assert old_page["pagination"] == {"hasNext": False}


def test_a_body_that_is_not_json_is_left_alone() -> None:
    assert rewrite(b"not json", undo_steps(OLD, "GET", ORG)) == b"not json"
