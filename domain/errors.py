"""Domain errors: the ways a decider rejects a command, each with a stable code."""

from __future__ import annotations


class DomainError(Exception):
    """A command was rejected by a business rule."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    code = "not_found"


class AlreadyExists(DomainError):
    code = "already_exists"


class InvalidState(DomainError):
    """The command is not allowed in the aggregate's current state."""

    code = "invalid_state"


class InvalidValue(DomainError):
    code = "invalid_value"


class SlugTaken(DomainError):
    code = "slug_taken"
