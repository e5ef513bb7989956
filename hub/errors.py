"""Domain errors. They know nothing of HTTP or GraphQL; the schema layer maps them."""

from __future__ import annotations


class HubError(Exception):
    """Base of the expected failures. `code` is machine-readable, `path` names the input field."""

    code = "HUB_ERROR"

    def __init__(self, message: str, *, code: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.path = path


class NotFound(HubError):
    code = "NOT_FOUND"


class Forbidden(HubError):
    code = "FORBIDDEN"


class Unauthenticated(HubError):
    code = "UNAUTHENTICATED"


class Conflict(HubError):
    code = "CONFLICT"


class Invalid(HubError):
    code = "INVALID"
