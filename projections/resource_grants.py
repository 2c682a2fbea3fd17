"""A read grant's filters as resource query filters: the list and the export then page,
count and cursor over only what the caller may see (``domain/permissions.required_filters``),
and the check on each row stays for what a query cannot say."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from projections.resource_filters import LABEL_KEY, QueryError, compile_filter
from projections.resource_filters import field as field_of
from projections.resource_query import Query, data_path


def narrowed(query: Query, required: dict[str, str | int | float | bool],
             schema: dict[str, Any]) -> Query:
    """``query`` also requiring each field of ``required`` (a read grant's filters, named as
    the resource shows them) to equal its value, so that pages, cursors and totals hold only
    what the caller may see; a name no query field says is left to the check on each row."""
    extra = []
    for name, value in required.items():
        if (field := _query_field(name)) is None:
            continue
        try:
            extra.append(compile_filter(field_of(field, schema, name), f"eq.{_text(value)}",
                                        schema, name))
        except QueryError:  # a value the query syntax cannot say: the row check holds
            continue
    return replace(query, filters=(*query.filters, *extra)) if extra else query


def _query_field(name: str) -> str | None:
    """The query field a name of the resource's shape is (``metadata.labels.k`` is
    ``labels.k``), if one is."""
    if name in ("id", "status", "version", "createdBy", "createdAt", "updatedAt") or (
            data_path(name)):
        return name
    key = name.removeprefix("metadata.labels.")
    return f"labels.{key}" if key != name and LABEL_KEY.fullmatch(key) else None


def _text(value: str | int | float | bool) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)
