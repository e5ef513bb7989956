"""What compile_validator and its per-field checks share.

A check reports problems as FieldErrors and returns the normalised value, or one of two sentinels:
ABSENT (no value given) or INVALID (a value given and refused, the error already reported).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final


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
