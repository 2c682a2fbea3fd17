"""What a log line must never show: the value of any secret-named field of a logged mapping,
and the credentials Chronicle issues or accepts wherever they appear in text (bearer tokens,
API keys, OAuth client secrets, refresh tokens, JWTs, a URL's password).

Also what a log line must always be: text that encodes to UTF-8, so a lone surrogate (bytes
that were not UTF-8, decoded with ``surrogateescape``) is written as the escape ``\\udcff``
rather than failing the line or making JSON that strict parsers refuse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"
MAX_DEPTH = 8  # nesting walked in a logged value; deeper is shown as its type only
# A field whose name says it holds a credential: its value is never written.
SECRET_NAME = re.compile(
    r"authorization|cookie|passw(or)?d|secret|token|api[_-]?key|private[_-]?key|credential"
    r"|signature|^key$", re.IGNORECASE)
# Chronicle's credentials and bearer tokens as they appear in text.
_SECRET_TEXT = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (re.compile(r"\b(pk_[a-z]+_[0-9a-f]{32}_)[A-Za-z0-9_-]+"), r"\1" + REDACTED),
    (re.compile(r"\b(sk_sign|cs|rt|st)_[A-Za-z0-9_-]{16,}"), r"\1_" + REDACTED),
    # A stream ticket or token in a URL's query, whatever its shape.
    (re.compile(r"(?i)([?&](?:ticket|access_token)=)[^&\s\"']+"), r"\1" + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"(://[^/\s:@]+:)[^@\s/]+@"), r"\1" + REDACTED + "@"),
]


def utf8(text: str) -> str:
    """``text`` as it can be encoded: lone surrogates become their backslash escapes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def text(raw: str) -> str:
    """``raw`` with every credential it shows replaced, and encodable."""
    for pattern, replacement in _SECRET_TEXT:
        raw = pattern.sub(replacement, raw)
    return utf8(raw)


def value(raw: Any, depth: int = 0) -> Any:
    """A logged value as JSON can carry it: mappings with secret-named fields redacted (and
    keys as strings), sequences walked, strings cleaned, anything else as its ``str``."""
    if raw is None or isinstance(raw, bool | int | float):
        return raw
    if isinstance(raw, str):
        return text(raw)
    if depth >= MAX_DEPTH:
        return f"<{type(raw).__name__}>"
    if isinstance(raw, Mapping):
        return {utf8(str(k)): REDACTED if SECRET_NAME.search(str(k)) else value(v, depth + 1)
                for k, v in raw.items()}
    if isinstance(raw, list | tuple | set | frozenset):
        return [value(v, depth + 1) for v in raw]
    if isinstance(raw, bytes):
        return text(raw.decode("utf-8", "backslashreplace"))
    return text(shown(raw))


def shown(raw: Any) -> str:
    """``str(raw)``, or what it is when its ``__str__`` fails: a log line never raises."""
    try:
        return str(raw)
    except Exception:  # an object's own __str__ may raise anything
        return f"<{type(raw).__name__}: unprintable>"


def args(raw: Any) -> Any:
    """A record's ``args`` with the secret-named fields of their mappings redacted, so that
    ``"%s" % {"password": ...}`` prints no password; the formatting itself is unchanged."""
    if isinstance(raw, Mapping):
        return {k: REDACTED if SECRET_NAME.search(str(k)) else _arg(v) for k, v in raw.items()}
    if isinstance(raw, tuple):
        return tuple(_arg(a) for a in raw)
    return raw


def _arg(raw: Any) -> Any:
    return value(raw) if isinstance(raw, Mapping) else raw
