"""Domain errors: the ways a decider rejects a command, each with a stable code."""

from __future__ import annotations

from collections.abc import Mapping

Param = str | int


class DomainError(Exception):
    """A command was rejected by a business rule.

    The class gives the broad code (and, in the API, the HTTP status); ``code=`` names the
    specific rule, the key of the API's message catalog; ``params`` fill that message's
    placeholders in every language. ``message`` is the English text.
    """

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 params: Mapping[str, Param] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or type(self).code
        self.params: dict[str, Param] = dict(params or {})

    @property
    def category(self) -> str:
        """The class's broad code (``invalid_value``), whatever the specific one is."""
        return type(self).code


class NotFound(DomainError):
    code = "not_found"


class ForeignNotFound(NotFound):
    """Another organization's resource: answered exactly as NotFound (it does not exist for
    the caller), and recorded by the API as a denied access attempt."""


class AlreadyExists(DomainError):
    code = "already_exists"


class InvalidState(DomainError):
    """The command is not allowed in the aggregate's current state."""

    code = "invalid_state"


class InvalidValue(DomainError):
    code = "invalid_value"


class SlugTaken(DomainError):
    code = "slug_taken"


class Unauthenticated(DomainError):
    """The presented credentials do not prove who the caller is."""

    code = "unauthorized"


class Forbidden(DomainError):
    """Who the caller is is known, and this is not allowed for them."""

    code = "forbidden"
