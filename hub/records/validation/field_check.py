"""What compile_validator and its per-field checks share.

A check reports problems as FieldErrors and returns the normalised value, or one of two sentinels:
ABSENT (no value given) or INVALID (a value given and refused, the error already reported).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from hub.errors import Invalid


@dataclass(frozen=True, slots=True)
class FieldError:
    code: str
    path: str
    message: str


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ABSENT: Final = _Sentinel("ABSENT")
INVALID: Final = _Sentinel("INVALID")

# A check takes the raw value, the values checked so far (a field's rules only read fields checked
# before it, see RecordTypeDef.check_order) and the error and warning lists; it returns the
# normalised value, ABSENT or INVALID (having reported why).
Check = Callable[[Any, dict[str, Any], list[FieldError], list[FieldError]], Any]

# Stands in for "no max_length", so a length test needs no None branch on the hot path.
UNLIMITED = 1 << 62

# Control characters a record field may not hold: C0 but tab, LF and CR, DEL and C1. (PostgreSQL
# cannot store NUL at all; the others are invisible and break the files and screens downstream.)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_problem(f_name: str, path: str, s: str) -> FieldError | None:
    """Why `s` may not be stored, or None. str.isprintable() (in C) clears nearly every value at once;
    only the rest (newlines, ideographic spaces…) are searched."""
    if s.isprintable():
        return None
    found = _CONTROL.search(s)
    if found is None:
        return None
    if "\x00" in s:
        return FieldError("NUL_CHARACTER", path, f"{f_name} contains a NUL character (\\x00)")
    return FieldError(
        "CONTROL_CHARACTER",
        path,
        f"{f_name} contains the control character U+{ord(found[0]):04X} at position {found.start() + 1}",
    )


def shown(raw: Any) -> str:
    """A refused value as a message quotes it: lists and objects (possibly nested a thousand deep) by
    their type only, long strings cut."""
    if isinstance(raw, str):
        return repr(raw[:50] + "…") if len(raw) > 50 else repr(raw)
    if raw is None or isinstance(raw, bool | int | float):
        return repr(raw)
    return f"a JSON {'list' if isinstance(raw, list | tuple) else 'object' if isinstance(raw, dict) else 'value'}"


def checked_text(value: str, path: str, bounds: tuple[int, int]) -> str:
    """A text argument of an operation (a name, a reason, a statement): trimmed, held to the rule a
    pushed field meets (no control characters), and `bounds[0]` to `bounds[1]` characters long;
    hub.errors.Invalid naming `path` otherwise."""
    value = value.strip()
    problem = control_problem(path, path, value)
    if problem is not None:
        raise Invalid(problem.message, code=problem.code, path=path)
    if len(value) < bounds[0]:
        raise Invalid(f"{path} needs at least {bounds[0]} characters", code="TOO_SHORT", path=path)
    if len(value) > bounds[1]:
        raise Invalid(f"{path} has at most {bounds[1]} characters", code="TOO_LONG", path=path)
    return value
