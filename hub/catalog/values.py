"""Reading values out of policy documents (YAML or JSON): shared by every catalogue's loader.

Each loader raises its own error with its own message; these only say whether a value is usable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any


def as_date(value: object) -> dt.date | None:
    """A date from a document: PyYAML gives date objects for unquoted ISO dates, strings for quoted
    ones (and JSON always strings). None when it is neither, or a date and time."""
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def text_at(data: Mapping[str, Any], key: str) -> str | None:
    """The non-blank string under `key`, or None."""
    value = data.get(key)
    return value if isinstance(value, str) and value.strip() else None


def unknown_key(data: Mapping[str, Any], allowed: Iterable[str]) -> str | None:
    """The first key (in sorted order) of `data` that is not allowed, or None: a misspelt key in a
    policy document is refused, never silently ignored."""
    unknown = sorted(set(data) - set(allowed))
    return unknown[0] if unknown else None
