"""The fields and filters of resource queries (issue 11 item 5), in the PostgREST-style syntax
``?<field>=<op>.<value>``: a field resolved to a fixed SQL expression, a value typed by the
type's JSON Schema and bound as a parameter, never written into the SQL text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from psycopg.types.json import Jsonb

from domain import limits as lim

Kind = Literal["uuid", "text", "bigint", "time", "tags", "json"]
Sql = tuple[str, list[Any]]  # SQL text with %s placeholders, and their values in order

# A data path's segments are names (never array indexes): `data #> path` and the `@>` the
# equality filter uses then mean the same thing.
SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
LABEL_KEY = re.compile(rf"[^\x00]{{1,{lim.MAX_LABEL_KEY}}}")
COLUMNS: dict[str, tuple[str, Kind]] = {
    "id": ("id", "uuid"), "status": ("status", "text"), "version": ("version", "bigint"),
    "createdAt": ("created_at", "time"), "updatedAt": ("updated_at", "time"),
    "createdBy": ("created_by", "text"), "tags": ("tags", "tags"),
}
JSON_TYPES = ("number", "string", "boolean", "array", "object")
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists", "prefix")
RANGE = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class QueryError(ValueError):
    """A query parameter that is not one: ``parameter`` names it, ``reason`` is the catalog's."""

    def __init__(self, parameter: str, reason: str, **params: str | int) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter, self.reason, self.params = parameter, reason, params


@dataclass(frozen=True)
class Field:
    """A queryable field: ``expr(alias)`` is its SQL (a total order: never NULL)."""

    name: str
    kind: Kind
    column: str  # the row's column ("data", "labels" for JSON fields)
    path: tuple[str, ...] = ()  # under data, or the label's key
    json_type: str | None = None  # what the type's schema declares (JSON fields), if anything

    def expr(self, alias: str = "r") -> Sql:
        if self.kind != "json":
            return f"{alias}.{self.column}", []
        if self.column == "labels":
            return f"coalesce({alias}.labels -> %s, 'null'::jsonb)", [self.path[0]]
        return f"coalesce({alias}.data #> %s::text[], 'null'::jsonb)", [list(self.path)]


def is_field(name: str) -> bool:
    return name in COLUMNS or name.startswith(("data.", "labels."))


def field(name: str, schema: dict[str, Any], parameter: str | None = None) -> Field:
    """The field ``name`` means, typed by ``schema`` (the resource type's current one)."""
    where = parameter or name
    if name in COLUMNS:
        column, kind = COLUMNS[name]
        return Field(name, kind, column)
    if name.startswith("labels."):
        key = name.removeprefix("labels.")
        if not LABEL_KEY.fullmatch(key):
            raise QueryError(where, "query_field_unknown", field=name[:lim.MAX_FIELD_NAME])
        return Field(name, "json", "labels", (key,), "string")
    path = tuple(name.removeprefix("data.").split("."))
    if not name.startswith("data.") or len(path) > lim.MAX_DATA_DEPTH or not all(
            SEGMENT.fullmatch(s) for s in path):
        raise QueryError(where, "query_field_unknown", field=name[:lim.MAX_FIELD_NAME])
    return Field(name, "json", "data", path, declared_type(schema, path))


def declared_type(schema: dict[str, Any], path: tuple[str, ...]) -> str | None:
    """The JSON type ``schema`` gives the property at ``path`` (integer counts as number)."""
    node: Any = schema
    for segment in path:
        properties = node.get("properties") if isinstance(node, dict) else None
        node = properties.get(segment) if isinstance(properties, dict) else None
    kind = node.get("type") if isinstance(node, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    kind = "number" if kind == "integer" else kind
    return kind if kind in JSON_TYPES else None


def items_type(schema: dict[str, Any], path: tuple[str, ...]) -> str | None:
    """The JSON type of an array property's items, for ``contains``."""
    node: Any = schema
    for segment in path:
        properties = node.get("properties") if isinstance(node, dict) else None
        node = properties.get(segment) if isinstance(properties, dict) else None
    items = node.get("items") if isinstance(node, dict) else None
    return declared_type({"properties": {"x": items}}, ("x",)) if items else None


def compile_filter(f: Field, raw: str, schema: dict[str, Any], parameter: str) -> Sql:
    """``<op>.<value>`` on ``f`` as an SQL condition on alias ``r``."""
    op, _, text = raw.partition(".")
    if op not in OPS or not _:
        raise QueryError(parameter, "query_operator_invalid", allowed=", ".join(OPS))
    if op == "exists":
        return _exists(f, _boolean(text, parameter), parameter)
    if op == "in":
        values = [_value(f, v, parameter) for v in _listed(text, parameter)]
        return _in(f, values)
    if op == "contains":
        return _contains(f, text, schema, parameter)
    if op == "prefix":
        return _prefix(f, text, parameter)
    value = _value(f, text, parameter)
    if op in ("eq", "ne"):
        condition, params = _equal(f, value, parameter)
        return (condition, params) if op == "eq" else (f"NOT ({condition})", params)
    if f.kind == "tags" or (f.kind == "json" and _json_type(f, text) in ("array", "object")):
        raise QueryError(parameter, "query_operator_not_for_field", op=op, field=f.name)
    expr, params = f.expr()
    if f.kind != "json":
        return f"{expr} {RANGE[op]} %s", [*params, value]
    return _json_range(expr, params, op, _json_type(f, text), value)


# jsonb orders null < strings < numbers < booleans < arrays < objects. A comparison bounded by
# the next type's least value ('false' above every number, 'null' below every string) keeps to
# one type as a plain range, which an expression index serves and the planner estimates from
# its statistics; an open end there is no least value for (numbers below, strings above)
# checks the type instead.
BOUNDS = {("number", True): "{} < 'false'::jsonb", ("string", False): "{} > 'null'::jsonb",
          ("boolean", True): "{} <= 'true'::jsonb", ("boolean", False): "{} >= 'false'::jsonb"}


def _json_range(expr: str, params: list[Any], op: str, kind: str, value: Any) -> Sql:
    upward = op in ("gt", "gte")
    bound = BOUNDS.get((kind, upward))
    if bound is not None:
        return (f"({expr} {RANGE[op]} %s AND {bound.format(expr)})", [*params, value, *params])
    return (f"(jsonb_typeof({expr}) = %s AND {expr} {RANGE[op]} %s)",
            [*params, kind, *params, value])


def _equal(f: Field, value: Any, parameter: str) -> Sql:
    if f.kind == "tags":
        raise QueryError(parameter, "query_operator_not_for_field", op="eq", field=f.name)
    if f.kind == "json" and f.column == "data":
        nested: Any = value.obj
        for segment in reversed(f.path):
            nested = {segment: nested}
        return "r.data @> %s", [Jsonb(nested)]  # served by the GIN index on data
    expr, params = f.expr()
    return f"{expr} = %s", [*params, value]


def _in(f: Field, values: list[Any]) -> Sql:
    if f.kind == "tags":
        return "r.tags && %s::text[]", [values]
    expr, params = f.expr()
    cast = {"uuid": "uuid", "text": "text", "bigint": "bigint", "time": "timestamptz",
            "json": "jsonb"}[f.kind]
    return f"{expr} = ANY(%s::{cast}[])", [*params, values]


def _exists(f: Field, present: bool, parameter: str) -> Sql:
    if f.kind == "tags":
        return ("cardinality(r.tags) > 0" if present else "cardinality(r.tags) = 0"), []
    if f.kind != "json":
        raise QueryError(parameter, "query_operator_not_for_field", op="exists", field=f.name)
    test = "IS NOT NULL" if present else "IS NULL"
    if f.column == "labels":
        return f"(r.labels -> %s) {test}", [f.path[0]]
    return f"(r.data #> %s::text[]) {test}", [list(f.path)]


def _contains(f: Field, text: str, schema: dict[str, Any], parameter: str) -> Sql:
    """An array's element (tags, an array property), or a string's substring."""
    if f.kind == "tags":
        return "r.tags @> %s::text[]", [[text]]
    expr, params = f.expr()
    if f.kind == "text":
        return f"strpos({expr}, %s) > 0", [*params, text]
    if f.kind == "json" and f.json_type == "array":
        element = Field(f.name, "json", f.column, f.path, items_type(schema, f.path))
        return (f"(jsonb_typeof({expr}) = 'array' AND {expr} @> %s)",
                [*params, *params, Jsonb([_value(element, text, parameter).obj])])
    if f.kind == "json" and _json_type(f, text) == "string":
        return (f"(jsonb_typeof({expr}) = 'string' AND strpos({expr} #>> '{{}}', %s) > 0)",
                [*params, *params, text])
    raise QueryError(parameter, "query_operator_not_for_field", op="contains", field=f.name)


def _prefix(f: Field, text: str, parameter: str) -> Sql:
    expr, params = f.expr()
    if f.kind == "text":
        return f"starts_with({expr}, %s)", [*params, text]
    if f.kind == "json" and _json_type(f, text) == "string":
        return (f"(jsonb_typeof({expr}) = 'string' AND starts_with({expr} #>> '{{}}', %s))",
                [*params, *params, text])
    raise QueryError(parameter, "query_operator_not_for_field", op="prefix", field=f.name)


def _json_type(f: Field, text: str) -> str:
    """The declared type, or for an undeclared property the literal's own: a JSON number or
    boolean literal is one, anything else is a string."""
    if f.json_type is not None:
        return f.json_type
    try:
        found = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return "string"
    if isinstance(found, bool):
        return "boolean"
    return "number" if isinstance(found, int | float) else "string"


def _value(f: Field, text: str, parameter: str) -> Any:
    """``text`` as a value of ``f``'s type (a bad one: 400 naming the parameter)."""
    try:
        match f.kind:
            case "uuid":
                return UUID(text)
            case "bigint":
                number = int(text)
                if abs(number) >= 2**63:
                    raise ValueError(text)
                return number
            case "time":
                return _time(text)
            case "text" | "tags":
                return text
            case "json":
                return Jsonb(_json_value(_json_type(f, text), text))
    except (ValueError, msgspec.DecodeError):
        pass
    raise QueryError(parameter, "query_value_invalid", field=f.name)


def _json_value(kind: str, text: str) -> Any:
    if kind == "string":
        return text
    if kind == "boolean":
        return _boolean(text, "")
    found = msgspec.json.decode(text)
    if kind != "number" or isinstance(found, bool) or not isinstance(found, int | float):
        raise ValueError(text)  # arrays and objects are compared by contains and exists only
    if (isinstance(found, float) and found != found) or found in (float("inf"), float("-inf")):
        raise ValueError(text)
    return found


def _time(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(text)  # RFC 3339 times carry their offset
    return at


def _boolean(text: str, parameter: str) -> bool:
    if text not in ("true", "false"):
        raise QueryError(parameter, "query_value_invalid", field="true|false")
    return text == "true"


def _listed(text: str, parameter: str) -> list[str]:
    """``(a,b,c)``: values split on commas; a value holding a comma or a parenthesis is
    written in double quotes, with ``\\"`` and ``\\\\`` inside (PostgREST's rule)."""
    if not (text.startswith("(") and text.endswith(")")) or len(text) < 3:
        raise QueryError(parameter, "query_value_invalid", field="in.(a,b,c)")
    values, current, quoted, escaped = [], [], False, False
    for ch in text[1:-1]:
        if escaped:
            current.append(ch)
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            values.append("".join(current))
            current = []
        else:
            current.append(ch)
    values.append("".join(current))
    if quoted or escaped or len(values) > lim.MAX_IN_VALUES:
        raise QueryError(parameter, "query_value_invalid", field="in.(a,b,c)")
    return values
