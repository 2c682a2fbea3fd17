"""The JSON Schema adapter (jsonschema-rs, draft 2020-12): the meta-schema check and compiled
validators, compiled once per process for each type version and cached."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import jsonschema_rs
import msgspec

from commands.ports import Validator
from domain.errors import InvalidValue

MAX_COMPILED = 1024  # validators kept per process; the least recently used goes first
MAX_MESSAGE = 300  # the library's message, as it reaches the error's params
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def pointer(root: str, path: Iterable[str | int]) -> str:
    """An RFC 6901 JSON pointer from ``root`` (``/schema``, ``/data``) along ``path``."""
    parts = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "".join([root, *(f"/{p}" for p in parts)])


class JsonSchemas:
    def __init__(self, max_compiled: int = MAX_COMPILED) -> None:
        self.max_compiled = max_compiled
        # key -> (the schema's sorted JSON, its validator, the schema object last seen)
        self._compiled: OrderedDict[tuple[UUID, int], tuple[bytes, Validator, dict[str, Any]]] = (
            OrderedDict())
        self._lock = threading.Lock()
        self.compilations = 0  # how many schemas this process compiled (tests read it)

    def check(self, schema: dict[str, Any]) -> None:
        """Draft 2020-12 only, and self-contained: the library would fetch another ``$schema``
        or a remote ``$ref`` over the network, so a tenant could make the API call any URL."""
        if schema.get("$schema", DRAFT) != DRAFT:
            raise _refused("/schema/$schema", f"$schema must be {DRAFT}")
        try:
            jsonschema_rs.meta.validate(schema)
        except jsonschema_rs.ValidationError as e:
            raise _invalid("/schema", e, "schema_invalid") from None
        _compile(schema)  # an unresolvable $ref or a bad pattern is refused now, not on first use

    def validator(self, key: tuple[UUID, int], schema: dict[str, Any]) -> Validator:
        """The compiled validator of ``schema``, the type version ``key``'s (an in-place
        extension keeps the key and changes the schema: compiled again). The very schema
        object seen last (a bulk operation's items, one type loaded for them all) is not
        encoded again to be compared."""
        with self._lock:
            found = self._compiled.get(key)
            if found is not None and found[2] is schema:
                self._compiled.move_to_end(key)
                return found[1]
        text = msgspec.json.encode(schema, order="sorted")
        with self._lock:
            found = self._compiled.get(key)
            if found is not None and found[0] == text:
                self._compiled[key] = (text, found[1], schema)
                self._compiled.move_to_end(key)
                return found[1]
        compiled = _compile(schema)
        with self._lock:
            self.compilations += 1
            self._compiled[key] = (text, compiled, schema)
            self._compiled.move_to_end(key)
            while len(self._compiled) > self.max_compiled:
                self._compiled.popitem(last=False)
        return compiled


def _compile(schema: dict[str, Any]) -> Validator:
    try:
        compiled = jsonschema_rs.Draft202012Validator(schema, retriever=_no_retrieval)
    except (jsonschema_rs.ReferencingError, jsonschema_rs.ValidationError, ValueError) as e:
        raise _refused("/schema", str(e)) from None

    def validate(data: Any) -> None:
        try:
            compiled.validate(data)
        except jsonschema_rs.ValidationError as e:
            raise _invalid("/data", e, "data_invalid") from None

    return validate


def _invalid(root: str, error: jsonschema_rs.ValidationError, code: str) -> InvalidValue:
    message = _first_line(error.message)
    return InvalidValue(message, field=pointer(root, error.instance_path), code=code,
                        params={"message": message})


def _no_retrieval(uri: str) -> Any:
    raise ValueError(f"{uri} is not in the schema: a type's schema is self-contained")


def _refused(field: str, text: str) -> InvalidValue:
    message = _first_line(text)
    return InvalidValue(message, field=field, code="schema_invalid", params={"message": message})


def _first_line(text: str) -> str:
    """The library's message without its multi-line report of the instance."""
    return text.strip().split("\n", 1)[0][:MAX_MESSAGE]
