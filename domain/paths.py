"""Dot paths into JSON objects (``data.shop.city``): the value one names, and an object cut
down to the paths wanted, nested as the original (permission conditions and ``select=``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MISSING: Any = object()  # what a path names when some key on the way is absent


def value_at(obj: Mapping[str, Any], path: str) -> Any:
    """The value ``path`` names in ``obj`` (MISSING if it names nothing); a key holding a
    dot itself is found whole first, so a top-level name is never split."""
    if path in obj:
        return obj[path]
    current: Any = obj
    for key in path.split("."):
        if not isinstance(current, Mapping) or key not in current:
            return MISSING
        current = current[key]
    return current


def picked(obj: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """``obj`` holding only ``paths`` (in their order), each nested as in ``obj``; a path that
    names nothing is left out, and a path inside one already taken adds nothing."""
    out: dict[str, Any] = {}
    for path in paths:
        value = value_at(obj, path)
        if value is MISSING:
            continue
        if path in obj:
            out[path] = value
            continue
        *parents, last = path.split(".")
        source: Any = obj
        target = out
        for key in parents:
            source = source[key]
            if target.get(key) is source:  # the whole of it is taken already
                break
            target = target.setdefault(key, {})
        else:
            target[last] = value
    return out
