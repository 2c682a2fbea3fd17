"""What a grant's ``fields`` let a key write: the paths of a resource a write changes must each
be one of them or inside one (``data.hive`` covers ``data.hive.city``), and a replace keeps the
paths outside them as they are.

Paths are named as the resource shows them: ``data.<path>``, ``metadata.tags``,
``metadata.labels.<key>``, ``metadata.annotations.<key>``, ``relationships``, and ``status``
(which archive, restore and delete change; a create's is the server's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from domain.errors import Forbidden
from domain.paths import MISSING
from domain.permissions import Action, Permissions, allowed_fields
from domain.resource.commands import Content
from domain.resource.decider import Resource
from domain.resource.document import document

EMPTY: tuple[Any, ...] = (MISSING, [], {})  # what a body holds where it says nothing


def writable(grants: tuple[Permissions, ...], resource: str,
             action: Action) -> frozenset[str] | None:
    """The fields every permission set (a key and its ceiling) lets the caller ``action``
    (None: every field)."""
    fields: frozenset[str] | None = None
    for g in grants:
        allowed = allowed_fields(g, resource, action)
        if allowed is not None:
            fields = allowed if fields is None else fields & allowed
    return fields


def covered(path: str, fields: frozenset[str]) -> bool:
    return any(path == f or path.startswith(f"{f}.") for f in fields)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def changed(before: Any, after: Any, path: str = "") -> Iterator[str]:
    """The paths at which ``after`` differs from ``before``: into objects key by key, so that
    adding ``{"city": …}`` under ``data.hive`` changes ``data.hive.city``."""
    kinds = {type(before), type(after)}
    if kinds <= {dict, type(MISSING)} and dict in kinds:
        old = before if isinstance(before, dict) else {}
        new = after if isinstance(after, dict) else {}
        found = False
        for key in sorted({*old, *new}):
            for inner in changed(old.get(key, MISSING), new.get(key, MISSING), _join(path, key)):
                found = True
                yield inner
        if not found and MISSING in (before, after):
            yield path  # an empty object added or removed
    elif not same(before, after):
        yield path  # a value, or an object turned into a value (or back)


def same(a: Any, b: Any) -> bool:
    """Equal as JSON: ``1``, ``1.0`` and ``true`` differ, though Python's == holds them equal."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    return bool(a == b)


def _shape(state: Resource, with_status: bool) -> dict[str, Any]:
    shape = document(state.content)
    if with_status:
        shape["status"] = state.status
    return shape


def check_fields(grants: tuple[Permissions, ...], action: Action, resource: str,
                 before: Resource, after: Resource) -> None:
    """Refuse (403, naming the first path) a write that changes a path outside the fields
    the caller may ``action`` (a create's status is the server's, not the caller's)."""
    fields = writable(grants, resource, action)
    if fields is None:
        return
    existed = before.status != "absent"
    for path in changed(_shape(before, existed), _shape(after, existed)):
        if not covered(path, fields):
            raise Forbidden(f"this caller may not {action} {path} of {resource}",
                            code="permission_denied", field=path,
                            params={"action": action, "resource": resource})


def kept(grants: tuple[Permissions, ...] | None, resource: str, current: Content,
         sent: Content) -> Content:
    """A replace's content for a caller who may update only some fields: what it sent at
    those, and the current values elsewhere, where it cannot write (an empty or absent value
    there keeps them; another value is then refused by ``check_fields``)."""
    fields = None if grants is None else writable(grants, resource, "update")
    if fields is None:
        return sent
    merged = _kept(document(current), document(sent), "", fields)
    metadata = merged.get("metadata", {})
    return msgspec.convert({"data": merged.get("data", {}), **metadata,
                            "relationships": merged.get("relationships", [])}, Content)


def _kept(current: Any, sent: Any, path: str, fields: frozenset[str]) -> Any:
    if path and covered(path, fields):
        return sent
    if isinstance(current, dict) and (isinstance(sent, dict) or sent is MISSING):
        new = sent if isinstance(sent, dict) else {}
        out = {}
        for key in (*current, *(k for k in new if k not in current)):
            value = _kept(current.get(key, MISSING), new.get(key, MISSING), _join(path, key),
                          fields)
            if value is not MISSING:
                out[key] = value
        return out
    return current if sent in EMPTY else sent
