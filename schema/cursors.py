"""Opaque pagination cursors. A malformed cursor is an input error, never a crash."""

from __future__ import annotations

import base64
import datetime as dt

from hub.errors import Invalid


def encode(*parts: str) -> str:
    return base64.urlsafe_b64encode("\x1f".join(parts).encode()).decode()


def decode(cursor: str, count: int, path: str = "after") -> list[str]:
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("\x1f")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("the cursor is not one this API gave out", code="BAD_CURSOR", path=path) from exc
    if len(parts) != count:
        raise Invalid("the cursor is not one this API gave out", code="BAD_CURSOR", path=path)
    return parts


def record_cursor(date: dt.date, dept: str, rid: str) -> str:
    return encode(date.isoformat(), dept, rid)


def decode_record_cursor(cursor: str) -> tuple[dt.date, str, str]:
    date, dept, rid = decode(cursor, 3)
    try:
        return dt.date.fromisoformat(date), dept, rid
    except ValueError as exc:
        raise Invalid("the cursor is not one this API gave out", code="BAD_CURSOR", path="after") from exc


def page_size(first: int, maximum: int, path: str = "first") -> int:
    if not 1 <= first <= maximum:
        raise Invalid(f"first must be between 1 and {maximum}", code="PAGE_SIZE", path=path)
    return first
