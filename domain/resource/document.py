"""Pure document functions: a resource's writable part as JSON, RFC 7396 JSON merge patch,
canonical JSON and its SHA-256."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import msgspec

from domain.resource.commands import Content


def document(content: Content) -> dict[str, Any]:
    """The writable part of a resource as its JSON shape (what a merge patch applies to, and
    what a grant's ``fields`` name: ``data.<path>``, ``metadata.tags``, ``relationships``)."""
    return {"data": content.data,
            "metadata": {"tags": list(content.tags), "labels": content.labels,
                         "annotations": content.annotations},
            "relationships": msgspec.to_builtins(content.relationships)}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 section 2, MergePatch(Target, Patch): an object patch merges key by key
    (null removes), anything else replaces the target. Neither argument is changed."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


def canonical(value: Any) -> bytes:
    """The canonical JSON of ``value``: keys sorted, no whitespace, UTF-8 (not escaped), so that
    equal documents have equal bytes whatever order their keys came in."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()


def checksum(encoded: bytes) -> str:
    return hashlib.sha256(encoded).hexdigest()
