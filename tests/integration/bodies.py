"""Request bodies generated from the route table: every write route's body type, a body that
decodes, and the places in it (strings, lists, maps) a test can spoil one at a time."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import inspect as mi

from api.platform.bodies import Body

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# Write routes that take no JSON body. A new one must be added here by hand, so that it is a
# decision: a route that takes a JSON body must take a `Body` (api/platform/bodies.py) instead.
NO_JSON_BODY = {
    ("POST", "/oauth/token"), ("POST", "/oauth/introspect"), ("POST", "/oauth/revoke"),  # forms
    ("POST", "/v1/organizations/{organization_id:uuid}/reactivate"),
    ("DELETE", "/v1/organizations/{organization_id:uuid}"), ("DELETE", "/v1/api-keys/{key_id:uuid}"),
    ("POST", "/v1/users/{user_id:uuid}/two-factor"),
    ("POST", "/v1/users/{user_id:uuid}/reactivate"), ("DELETE", "/v1/users/{user_id:uuid}"),
    ("DELETE", "/v1/roles/{role_id:uuid}"), ("POST", "/v1/auth/logout"),
    ("DELETE", "/v1/sessions/{session_id:uuid}"), ("DELETE", "/v1/oauth/clients/{client_id:uuid}"),
    ("POST", "/v1/oauth/clients/{client_id:uuid}/rotate-secret"),
    ("DELETE", "/v1/resources/{resource_type:str}/{resource_id:uuid}"),
    ("POST", "/v1/resources/{resource_type:str}/{resource_id:uuid}/archive"),
    ("POST", "/v1/resources/{resource_type:str}/{resource_id:uuid}/restore"),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id:uuid}"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id:uuid}/test"),
    ("POST", "/v1/webhook-deliveries/{delivery_id:uuid}/redeliver"),
    ("DELETE", "/v1/alert-rules/{rule_id:uuid}"),
    ("POST", "/v1/events/stream/tickets"),  # the ticket is the caller's, nothing to choose
}
# A resource type every walk registers in the organization it aims at, so that the routes under
# /v1/resources/{resource_type} are reached rather than answering 404 for an unknown type.
WALK_TYPE = "walk"
# Values for strings whose pattern or meaning a plain "a" would not satisfy.
PATTERN_SAMPLES = {
    r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$": "acme",
    r"^[0-9]{6}$": "123456",
    r"^[0-9]{6,8}$": "123456",
    r"^[A-Za-z0-9_-]{43}$": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
}
FIELD_SAMPLES = {"timezone": "UTC"}
UNBOUNDED_QUANTIFIER = re.compile(r"[*+]|\{\d+,\}")

Path = tuple[Any, ...]  # keys and indices into the JSON body; ("key", k) names a map's key


@dataclass(frozen=True)
class Spot:
    """A place in a generated body: where it is, what kind, and its bound."""

    path: Path
    kind: str  # "str" (a free string), "fixed" (a pattern, id, time or enum), "list", "map",
    # "number" or "any" (free JSON)
    max_length: int | None  # a number's upper bound


@dataclass(frozen=True)
class WriteRoute:
    method: str
    path: str  # as the route table spells it, "{x:uuid}" included
    body: type[Any] | None  # the Struct (None when the route takes no JSON body)
    media_type: str = "application/json"  # what the body is sent as (a merge patch's own)

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.media_type}

    def url(self, **ids: str) -> str:
        """The path with ``ids`` (by parameter name) or else fresh ids filled in."""
        return re.sub(r"\{([^}:]+)[^}]*\}", lambda m: ids.get(m.group(1), str(uuid.uuid4())),
                      self.path)


def write_routes(app: Any) -> list[WriteRoute]:
    routes = []
    for route in app.routes:
        for method, (handler, kwargs) in getattr(route, "route_handler_map", {}).items():
            if method not in WRITES:
                continue
            data = body_parameter(handler, kwargs)
            kind, media = None, "application/json"
            if data is not None:
                kind = next(t for t in getattr(data.annotation, "__args__", (
                    data.annotation,)) if t is not type(None))
                declared = getattr(data.kwarg_definition, "media_type", None) or media
                media = str(getattr(declared, "value", declared))  # an enum member or a str
            routes.append(WriteRoute(method, route.path, kind, media))
    return sorted(routes, key=lambda r: (r.path, r.method))


def body_parameter(handler: Any, kwargs: Any) -> Any:
    """The route's ``data`` parameter: the handler's own, or that of a dependency it takes (a
    provider can receive the body too, and must not hide it from these tests)."""
    signatures = [handler.parsed_fn_signature, *(
        d.provide.parsed_fn_signature for batch in kwargs.dependency_batches for d in batch)]
    return next((s.parameters["data"] for s in signatures if "data" in s.parameters), None)


def sample(kind: type[Any]) -> tuple[Any, list[Spot]]:
    """A JSON value that decodes as ``kind``, with every spot in it."""
    spots: list[Spot] = []
    return _value(mi.type_info(kind), (), spots, ""), spots


def _value(t: mi.Type, path: Path, spots: list[Spot], name: str) -> Any:
    if isinstance(t, mi.Metadata):  # a description or schema extra around the real type
        return _value(t.type, path, spots, name)
    if isinstance(t, mi.StructType):
        return {f.encode_name: _value(f.type, (*path, f.encode_name), spots, f.name)
                for f in t.fields}
    if isinstance(t, mi.UnionType):
        options = [o for o in t.types if not isinstance(o, mi.NoneType)]
        return _value(next((o for o in options if isinstance(o, mi.StrType)), options[0]),
                      path, spots, name)
    if isinstance(t, mi.StrType):
        fixed = t.pattern is not None
        spots.append(Spot(path, "fixed" if fixed else "str", _bound(t)))
        text = PATTERN_SAMPLES[t.pattern] if fixed else FIELD_SAMPLES.get(name, "a")
        return text * max(1, (t.min_length or 0)) if not fixed else text
    if isinstance(t, mi.ListType | mi.VarTupleType | mi.SetType):
        spots.append(Spot(path, "list", t.max_length))
        return [_value(t.item_type, (*path, 0), spots, name)] * max(1, t.min_length or 0)
    if isinstance(t, mi.DictType):
        spots.append(Spot(path, "map", t.max_length))
        spots.append(Spot((*path, ("key", "k")), "str", getattr(t.key_type, "max_length", None)))
        return {"k": _value(t.value_type, (*path, "k"), spots, name)}
    if isinstance(t, mi.AnyType):  # free JSON (user metadata): bounded by its encoded size
        spots.append(Spot(path, "any", None))
        return "v"
    return _scalar(t, path, spots)


def _scalar(t: mi.Type, path: Path, spots: list[Spot]) -> Any:
    if isinstance(t, mi.IntType | mi.FloatType):
        high = t.le if t.le is not None else t.lt
        spots.append(Spot(path, "number", high))
        low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else 1)
        return max(low, 1) if high is None or high >= 1 else low
    if isinstance(t, mi.BoolType):
        return False
    if isinstance(t, mi.LiteralType):
        spots.append(Spot(path, "fixed", None))
        return t.values[0]
    if isinstance(t, mi.UUIDType):
        spots.append(Spot(path, "fixed", None))
        return str(uuid.uuid4())
    if isinstance(t, mi.DateTimeType):
        spots.append(Spot(path, "fixed", None))
        return "2099-01-01T00:00:00Z"
    raise AssertionError(f"no sample for {t!r}: teach tests/integration/bodies.py")


def _bound(t: mi.StrType) -> int | None:
    if t.max_length is not None:
        return t.max_length
    if t.pattern is not None and not UNBOUNDED_QUANTIFIER.search(t.pattern):
        return len(t.pattern)  # a pattern without * or + bounds the length by itself
    return None


def replaced(body: Any, path: Path, new: Any) -> Any:
    """A copy of ``body`` with the value at ``path`` (or the map key ("key", k)) replaced."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(head, tuple):  # a map's key: rename it
        return {(new if k == head[1] else k): v for k, v in body.items()}
    copy = list(body) if isinstance(body, list) else dict(body)
    copy[head] = replaced(body[head], rest, new)
    return copy


def at(body: Any, path: Path) -> Any:
    for step in path:
        body = body[step[1]] if isinstance(step, tuple) else body[step]
    return body


def with_nul(body: Any, spot: Spot) -> Any:
    if isinstance(spot.path[-1:][0] if spot.path else None, tuple):
        return replaced(body, spot.path, "k\u0000")
    value = at(body, spot.path)
    return replaced(body, spot.path, f"{value}\u0000" if isinstance(value, str) else "\u0000")


def too_long(body: Any, spot: Spot) -> Iterator[Any]:
    assert spot.max_length is not None
    if spot.kind in ("str", "fixed") and spot.path and isinstance(spot.path[-1], tuple):
        yield replaced(body, spot.path, "k" * (spot.max_length + 1))
    elif spot.kind in ("str", "fixed"):
        yield replaced(body, spot.path, "x" * (spot.max_length + 1))
    elif spot.kind == "number":
        yield replaced(body, spot.path, spot.max_length + 1)
        yield replaced(body, spot.path, -1)
    elif spot.kind == "list":
        item = at(body, spot.path)[0]
        yield replaced(body, spot.path, [item] * (spot.max_length + 1))
    else:
        value = at(body, spot.path)["k"]
        yield replaced(body, spot.path, {f"k{i}": value for i in range(spot.max_length + 1)})


def decodes(kind: type[Any], body: Any) -> bool:
    try:
        msgspec.json.decode(msgspec.json.encode(body), type=kind)
    except msgspec.ValidationError:
        return False
    return True


def is_body(kind: type[Any]) -> bool:
    return isinstance(kind, type) and issubclass(kind, Body)


def maximal(kind: type[Any]) -> Any:
    """The largest body ``kind`` allows: every string, list and map at its bound, every number
    at its maximum (inner values first, so that a list repeats its largest item)."""
    body, spots = sample(kind)
    for spot in reversed(spots):
        if spot.max_length is None or (spot.path and isinstance(spot.path[-1], tuple)):
            continue
        if spot.kind == "str":
            body = replaced(body, spot.path, "a" * spot.max_length)
        elif spot.kind == "number":
            body = replaced(body, spot.path, spot.max_length)
        elif spot.kind == "list":
            body = replaced(body, spot.path, [at(body, spot.path)[0]] * spot.max_length)
        elif spot.kind == "map":
            value = at(body, spot.path)["k"]
            body = replaced(body, spot.path, {f"k{i}": value for i in range(spot.max_length)})
    return body
