"""Masking rules (脱敏规则), by name: what a masked value looks like."""

from __future__ import annotations

from collections.abc import Callable

Mask = Callable[[str], str]


def first_character(value: str) -> str:
    """A Chinese name's first character and "*" (张三 → 张*)."""
    return f"{value[:1]}*" if value else ""


MASKS: dict[str, Mask] = {"first_character": first_character}


def apply(rule: str, value: str) -> str:
    """Mask `value` by `rule`; an unknown rule masks everything (never shows by mistake)."""
    mask = MASKS.get(rule)
    return mask(value) if mask is not None else "*" * min(len(value), 8)
