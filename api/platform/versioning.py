"""Dated API versions: the one list of them, how a request picks one, and older response shapes.

A request picks a version with the `Chronicle-Version` header or the `chronicle_version`
query parameter; the header is the primary way, and when both are given they must agree (else
400 `conflicting_api_version`). Without either, the latest version is used. Every response
echoes the version used in `Chronicle-Version`. Routes always produce the latest shape; each
version lists the changes it made, and a response for an older version is rewritten by undoing
the newer versions' changes, newest first (error bodies have one shape in every version).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import msgspec
from litestar.types import Message, Scope

from api.platform.errors import ApiException

HEADER = "Chronicle-Version"
QUERY = "chronicle_version"
STATE_KEY = "api_version"


class Change(NamedTuple):
    """What a version changed, for which responses, and how to undo it on a response body."""

    summary: str
    applies: Callable[[str, str], bool]  # (method, path) -> does this response change?
    undo: Callable[[Any], Any]  # a body in this version's shape -> the previous version's


class Version(NamedTuple):
    name: str  # the date it was released, YYYY-MM-DD
    changes: tuple[Change, ...]  # relative to the version before it


_ORGANIZATION_READ = re.compile(r"^/v1/organizations(?:/[0-9a-fA-F-]{36})?/?$")
_TIMESTAMPS = {"createdAt": "created_at", "updatedAt": "updated_at", "deletedAt": "deleted_at"}


def _organization_reads(method: str, path: str) -> bool:
    return method == "GET" and bool(_ORGANIZATION_READ.match(path))


def _snake_timestamps(body: Any) -> Any:
    """Organizations (one, or a page's `data`) with created_at/updated_at/deleted_at."""

    def one(org: Any) -> Any:
        if not isinstance(org, dict):
            return org
        return {_TIMESTAMPS.get(key, key): value for key, value in org.items()}

    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return {**body, "data": [one(org) for org in body["data"]]}
    return one(body)


CAMEL_TIMESTAMPS = Change(
    "Organization timestamps are camelCase (createdAt, updatedAt, deletedAt) like every other "
    "field; 2026-06-01 spelled them created_at, updated_at, deleted_at.",
    _organization_reads, _snake_timestamps)

# Oldest first. A new version is appended here with the changes it makes.
VERSIONS: tuple[Version, ...] = (
    Version("2026-06-01", ()),
    Version("2026-11-01", (CAMEL_TIMESTAMPS,)),
)
KNOWN = tuple(v.name for v in VERSIONS)
LATEST = KNOWN[-1]
DEFAULT = LATEST


def requested(scope: Scope) -> str:
    """The version a request asks for (the default if none); raises 400 for unknown ones."""
    header, query = _from_headers(scope), _from_query(scope)
    given = set(header + query)
    if not given:
        return DEFAULT
    if len(given) > 1:
        raise ApiException(400, "conflicting_api_version",
                           details={"header": header, "query": query})
    version = given.pop()
    if version not in KNOWN:
        raise ApiException(400, "unknown_api_version", details={"known": list(KNOWN)},
                           params={"version": version, "known": ", ".join(KNOWN)})
    return version


def _from_headers(scope: Scope) -> list[str]:
    return [value.decode("latin-1").strip()[:64] for name, value in scope.get("headers", ())
            if name == b"chronicle-version"]


def _from_query(scope: Scope) -> list[str]:
    raw = scope.get("query_string", b"")
    if QUERY.encode() not in raw:  # the common case, without parsing
        return []
    pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
    return [value.strip()[:64] for key, value in pairs if key == QUERY]


def undo_steps(version: str, method: str, path: str) -> list[Callable[[Any], Any]]:
    """The rewrites that turn a latest-shape response into ``version``'s, in order."""
    newer = VERSIONS[KNOWN.index(version) + 1:]
    return [change.undo for v in reversed(newer) for change in v.changes
            if change.applies(method, path)]


def rewrite(body: bytes, steps: list[Callable[[Any], Any]]) -> bytes:
    """A JSON response body in an older version's shape (left alone if it is not JSON)."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body
    for step in steps:
        data = step(data)
    return msgspec.json.encode(data)


def version_of(scope: Scope) -> str:
    return str(scope.get("state", {}).get(STATE_KEY, DEFAULT))


def echo_version(_message: Message, scope: Scope, values: dict[str, str]) -> None:
    """Every response says which version it was made for."""
    values[HEADER] = version_of(scope)
