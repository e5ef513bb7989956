"""Domain errors. They know nothing of HTTP or GraphQL; the schema layer maps them."""

from __future__ import annotations

from typing import ClassVar

from hub.error_codes import is_registered


class HubError(Exception):
    """Base of the expected failures: `code` is machine-readable, `path` names the input field.

    Each kind carries a default code; every code, default or given, is in hub/error_codes.py.
    """

    default_code: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        default = getattr(cls, "default_code", None)
        if default is None or not is_registered(default):
            raise TypeError(f"{cls.__name__}: default code {default!r} is not in hub/error_codes.py")

    def __init__(self, message: str, *, code: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        if code is not None and not is_registered(code):
            # A code callers cannot look up is a bug: refusing it makes every test that reaches it fail.
            raise ValueError(f"error code {code!r} is not in hub/error_codes.py")
        self.message = message
        self.code: str = code if code is not None else self.default_code
        self.path = path


class NotFound(HubError):
    default_code = "NOT_FOUND"


class Forbidden(HubError):
    default_code = "FORBIDDEN"


class Unauthenticated(HubError):
    default_code = "UNAUTHENTICATED"


class Conflict(HubError):
    default_code = "CONFLICT"


class Invalid(HubError):
    default_code = "INVALID"
