"""How a schema may change in place: only by adding optional properties (a structural rule)."""

from __future__ import annotations

from typing import Any

_MISSING = object()


def extends_in_place(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """True if ``new`` is ``old`` with new keys under ``properties`` that ``required`` does not
    list, and nothing else changed: data valid under the type version stays describable by it.

    Comparing structure rather than meaning is deliberate: it is decidable, cheap and never
    wrong in the dangerous direction (a loosening it does not recognise becomes a new version,
    which costs nothing but a number).
    """
    if new == old:
        return False
    rest_old = {k: v for k, v in old.items() if k != "properties"}
    rest_new = {k: v for k, v in new.items() if k != "properties"}
    if rest_old != rest_new:
        return False
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    if not isinstance(old_props, dict) or not isinstance(new_props, dict):
        return False
    if any(new_props.get(k, _MISSING) != v for k, v in old_props.items()):
        return False
    required = new.get("required", [])
    added = set(new_props) - set(old_props)
    return isinstance(required, list) and not added & set(required)

