"""A resource query (issue 11 items 5 and 8): its parameters parsed into filters, an order,
full-text search, a selection and a keyset cursor, and compiled into one SQL statement per
page whose every value is a bound parameter. Pure: no connection."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from domain import limits as lim
from projections.resource_filters import SEGMENT, Field, QueryError, Sql, compile_filter, is_field
from projections.resource_filters import field as field_of

STATUSES = ("active", "archived", "deleted")
ANY = "any"
SELECTABLE = ("id", "type", "typeVersion", "externalKey", "data", "metadata", "relationships",
              "status", "version", "createdBy", "updatedBy", "createdAt", "updatedAt",
              "deletedAt")
# Parameters that are not filters: the query's own, and the platform's.
PLATFORM = frozenset({"organization_id", "min_position", "chronicle_version"})
RESERVED = frozenset({"order", "limit", "cursor", "before", "count", "select", "q", "expand",
                      *PLATFORM})
COLUMNS = ("id", "organization_id", "type", "type_version", "external_key", "status", "data",
           "tags", "labels", "annotations", "relationships", "checksum", "size", "created_by",
           "updated_by", "deleted_at", "version", "created_position", "created_at",
           "updated_at")
SEARCH = "plainto_tsquery('simple', %s)"


@dataclass(frozen=True)
class Key:
    """One ordering key: a field, the creation order (``None``), or the search rank."""

    field: Field | None
    desc: bool = False
    rank: bool = False

    def expr(self, alias: str, q: str | None) -> Sql:
        if self.rank:
            return f"ts_rank({alias}.search, {SEARCH})", [q]
        return self.field.expr(alias) if self.field else (f"{alias}.created_position", [])


@dataclass(frozen=True)
class Query:
    filters: tuple[Sql, ...] = ()
    keys: tuple[Key, ...] = (Key(None),)
    q: str | None = None
    limit: int = lim.DEFAULT_RESOURCE_PAGE
    select: tuple[str, ...] = ()
    expand: tuple[str, ...] = ()
    cursor: UUID | None = None  # the row the page starts after (or, backward, before)
    backward: bool = False
    signature: str = ""  # what the query's cursors are made under
    counted: bool = False  # count=exact: every match counted (a query over all rows)


def parse(items: Sequence[tuple[str, str]], schema: dict[str, Any]) -> Query:
    """The query ``items`` (the request's query parameters, repeated ones included) ask for,
    typed by the resource type's ``schema``; QueryError names the first bad parameter."""
    one = _singles(items)
    filters: list[Sql] = []
    status: str | None = "active"  # unless the query says otherwise
    for name, raw in items:
        if name == "status" and "." not in raw:  # the shorthand: status=archived, status=any
            if raw not in (*STATUSES, ANY):
                raise QueryError("status", "status_filter_invalid",
                                 allowed=", ".join((*STATUSES, ANY)))
            status = None if raw == ANY else raw
        elif name not in RESERVED:
            status = None if name == "status" else status
            filters.append(_filter(name, raw, schema))
    if len(filters) > lim.MAX_QUERY_FILTERS:
        raise QueryError("filters", "query_too_many_filters", max=lim.MAX_QUERY_FILTERS)
    if status is not None:
        filters.insert(0, ("r.status = %s", [status]))
    if one.get("count", "exact") != "exact":
        raise QueryError("count", "query_value_invalid", field="count=exact")
    counted = one.get("count") == "exact"
    q = _search(one.get("q"))
    keys = _order(one.get("order"), schema, q)
    signature = _signature(keys, q)
    cursor, backward = _cursor(one, signature)
    return Query(filters=tuple(filters), keys=keys, q=q,
                 limit=_limit(one.get("limit")), select=_select(one.get("select")),
                 expand=expand_paths(one.get("expand")), cursor=cursor, backward=backward,
                 signature=signature, counted=counted)


def data_path(name: str) -> bool:
    """``data.<path>`` of names (never array indexes), at most MAX_DATA_DEPTH deep."""
    path = name.removeprefix("data.").split(".")
    return name.startswith("data.") and len(path) <= lim.MAX_DATA_DEPTH and all(
        SEGMENT.fullmatch(s) for s in path)


def _filter(name: str, raw: str, schema: dict[str, Any]) -> Sql:
    short = name[:lim.MAX_FIELD_NAME]
    if len(raw) > lim.MAX_QUERY_VALUE:
        raise QueryError(short, "query_value_invalid", field=short)
    if not is_field(name) or len(name) > lim.MAX_FIELD_NAME:
        raise QueryError(short, "query_field_unknown", field=short)
    return compile_filter(field_of(name, schema, name), raw, schema, name)


def _singles(items: Sequence[tuple[str, str]]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for name, raw in items:
        if name in RESERVED - PLATFORM:
            if name in seen:
                raise QueryError(name, "query_parameter_repeated")
            seen[name] = raw
    return seen


def _search(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) > lim.MAX_SEARCH_TEXT or "\x00" in raw:
        raise QueryError("q", "query_value_invalid", field="q")
    return raw


def _order(raw: str | None, schema: dict[str, Any], q: str | None) -> tuple[Key, ...]:
    """``field.asc|desc[,…]``, ties broken by id (in the last field's direction); none
    given: by rank when searching, else in creation order."""
    if raw is None:
        return (Key(None, desc=True, rank=True), Key(field_of("id", schema))) if q else (
            Key(None),)
    parts = raw.split(",")
    if len(parts) > lim.MAX_ORDER_FIELDS:
        raise QueryError("order", "query_order_invalid", max=lim.MAX_ORDER_FIELDS)
    keys = []
    for part in parts:
        name, dot, direction = part.rpartition(".")
        if not dot or direction not in ("asc", "desc") or not is_field(name) or name == "tags":
            raise QueryError("order", "query_order_invalid", max=lim.MAX_ORDER_FIELDS)
        keys.append(Key(field_of(name, schema, "order"), desc=direction == "desc"))
    if not any(k.field and k.field.name == "id" for k in keys):
        # In the last key's direction, so that one index over (field, id) serves the order
        # scanned either way.
        keys.append(Key(field_of("id", schema), desc=keys[-1].desc))
    return tuple(keys)


def _signature(keys: tuple[Key, ...], q: str | None) -> str:
    """What a cursor must have been made under: the same order (and search, for a rank)."""
    spec = [(k.field.name if k.field else "", k.desc, k.rank) for k in keys]
    return hashlib.sha256(msgspec.json.encode([spec, q])).hexdigest()[:16]


def _limit(raw: str | None) -> int:
    if raw is None:
        return lim.DEFAULT_RESOURCE_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= lim.MAX_RESOURCE_PAGE:
        raise QueryError("limit", "query_limit_invalid", max=lim.MAX_RESOURCE_PAGE)
    return int(raw)


def _select(raw: str | None) -> tuple[str, ...]:
    if raw is None:
        return ()
    names = tuple(raw.split(","))
    if len(names) > lim.MAX_SELECT_FIELDS or not all(map(_selectable, names)):
        raise QueryError("select", "query_select_invalid",
                         allowed=", ".join((*SELECTABLE, "data.<dot.path>")))
    return names


def _selectable(name: str) -> bool:
    """A top-level field, or a path into data (names only, as a filter's)."""
    return name in SELECTABLE or data_path(name)


def expand_paths(raw: str | None) -> tuple[str, ...]:
    """``relationships.<type>[.<type>…]`` paths, at most MAX_EXPAND_DEPTH types deep."""
    if raw is None:
        return ()
    paths = tuple(raw.split(","))
    kinds = ("parent", "child", "reference", "dependency")
    for path in paths:
        steps = path.split(".")
        if len(paths) > 4 or steps[0] != "relationships" or not (
                1 <= len(steps) - 1 <= lim.MAX_EXPAND_DEPTH) or any(
                s not in kinds for s in steps[1:]):
            raise QueryError("expand", "query_expand_invalid", max=lim.MAX_EXPAND_DEPTH)
    return paths


def encode_cursor(row_id: UUID, signature: str, backward: bool = False) -> str:
    raw = msgspec.json.encode({"id": str(row_id), "s": signature, "b": backward})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(one: dict[str, str], signature: str) -> tuple[UUID | None, bool]:
    raw = one.get("cursor") or one.get("before")
    if raw is None:
        return None, False
    name = "cursor" if "cursor" in one else "before"
    try:
        if len(raw) > lim.MAX_QUERY_CURSOR:
            raise ValueError(raw)
        found = msgspec.json.decode(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(found, dict) or found.get("s") != signature:
            raise ValueError(raw)
        return UUID(str(found["id"])), bool(found.get("b")) or name == "before"
    except (ValueError, KeyError, TypeError, msgspec.DecodeError):
        raise QueryError(name, "cursor_invalid") from None


def page_sql(query: Query, organization_id: UUID, resource_type: str, *,
             limit: int | None = None, window: int | None = lim.MAX_RANKED_MATCHES) -> Sql:
    """One page: ``limit`` + 1 rows (the extra one says there are more), in the page's
    direction (a backward page comes reversed). A ranked search orders only its ``window``
    newest matches (None: every match, as the export does)."""
    text, params = _matching(query, organization_id, resource_type, with_cursor=True,
                             window=window)
    flip = query.backward
    order, order_params = [], []
    for key in query.keys:
        expr, p = key.expr("r", query.q)
        order.append(f"{expr} {'DESC' if key.desc != flip else 'ASC'}")
        order_params += p
    return (f"{text} ORDER BY {', '.join(order)} LIMIT %s",
            [*params, *order_params, (limit or query.limit) + 1])


def count_sql(query: Query, organization_id: UUID, resource_type: str) -> Sql:
    """How many rows the query's pages walk (a ranked search: at most its window)."""
    return _matching(query, organization_id, resource_type, with_cursor=False,
                     columns="count(*) AS n", window=lim.MAX_RANKED_MATCHES)


def ranked(query: Query) -> bool:
    return any(k.rank for k in query.keys)


def _matching(query: Query, organization_id: UUID, resource_type: str, *, with_cursor: bool,
              columns: str | None = None, window: int | None = None) -> Sql:
    """The matching rows, past the cursor; a ranked search's from its ``window`` newest
    matches only, which the index on creation order (or, for a rare word, the search index
    and a bounded sort) finds without touching every match."""
    selected = columns or ", ".join(f"r.{c}" for c in COLUMNS)
    conditions, where_params = _conditions(query, organization_id, resource_type)
    params: list[Any] = []
    source = "resources r"
    if window is not None and ranked(query):
        inner = ", ".join(f"r.{c}" for c in (*COLUMNS, "search"))
        source = (f"(SELECT {inner} FROM resources r WHERE {' AND '.join(conditions)}"
                  " ORDER BY r.created_position DESC LIMIT %s) r")
        params, conditions, where_params = [*where_params, window], [], []
    if with_cursor and query.cursor is not None:
        boundary, boundary_params = _boundary(query, organization_id, resource_type)
        source += f", {boundary} c"
        params += boundary_params
        keyset, keyset_params = _keyset(query)
        conditions.append(keyset)
        where_params += keyset_params
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {selected} FROM {source}{where}", [*params, *where_params]


def _conditions(query: Query, organization_id: UUID, resource_type: str) -> tuple[
        list[str], list[Any]]:
    conditions = ["r.organization_id = %s", "r.type = %s"]
    params: list[Any] = [organization_id, resource_type]
    for condition, p in query.filters:
        conditions.append(condition)
        params += p
    if query.q is not None:
        conditions.append(f"r.search @@ {SEARCH}")
        params.append(query.q)
    return conditions, params


def _boundary(query: Query, organization_id: UUID, resource_type: str) -> Sql:
    """The cursor's row's ordering values (no row: an empty page, never another tenant's)."""
    exprs, params = [], []
    for i, key in enumerate(query.keys):
        expr, p = key.expr("b", query.q)
        exprs.append(f"{expr} AS k{i}")
        params += p
    return (f"(SELECT {', '.join(exprs)} FROM resources b WHERE b.id = %s"
            " AND b.organization_id = %s AND b.type = %s)",
            [*params, query.cursor, organization_id, resource_type])


def _keyset(query: Query) -> Sql:
    """Rows strictly past the boundary in the order (before it, backward): for keys k1..kn,
    (k1 past) OR (k1 = AND k2 past) OR …"""
    terms, params = [], []
    for i, key in enumerate(query.keys):
        parts, p = [], []
        for j, earlier in enumerate(query.keys[:i]):
            expr, ep = earlier.expr("r", query.q)
            parts.append(f"{expr} = c.k{j}")
            p += ep
        expr, ep = key.expr("r", query.q)
        parts.append(f"{expr} {'<' if key.desc != query.backward else '>'} c.k{i}")
        terms.append(f"({' AND '.join(parts)})")
        params += p + ep
    return f"({' OR '.join(terms)})", params
