"""The one place every read of entity data passes through: what a caller may see of a record.

Authorised access (banks, associations) and masking patterns arrive later; they plug in here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.auth.caller import Caller, Role
from hub.catalog.record_types import RecordTypeDef

FULL_VIEW_ROLES = frozenset({Role.CREDIT_OFFICE, Role.PROVINCE})


@dataclass(frozen=True, slots=True)
class Visibility:
    """How much of the archive a caller sees: everything, or only what is under publicity."""

    full: bool
    public_on: dt.date | None


def archive_visibility(caller: Caller, uscc: str, today: dt.date) -> Visibility:
    """Entities see their own archive; the platform's operators see all; the rest see the public view."""
    if caller.role in FULL_VIEW_ROLES:
        return Visibility(full=True, public_on=None)
    if caller.role is Role.ENTITY and caller.organisation_code == uscc:
        return Visibility(full=True, public_on=None)
    if caller.role is Role.DEPARTMENT:
        # A department sees every current record, and the restricted fields of the ones it produced.
        return Visibility(full=False, public_on=None)
    return Visibility(full=False, public_on=today)


def sees_all_fields(caller: Caller, uscc: str, source_dept: str) -> bool:
    if archive_visibility(caller, uscc, dt.date.today()).full:
        return True
    return caller.role is Role.DEPARTMENT and caller.organisation_code == source_dept


def visible_fields(
    definition: RecordTypeDef | None, content: Mapping[str, Any], *, all_fields: bool, restricted_too: bool
) -> tuple[dict[str, Any], list[str]]:
    """The fields the caller may see, and the names of those withheld."""
    if all_fields:
        return dict(content), []
    shown: dict[str, Any] = {}
    withheld: list[str] = []
    allowed = {"public", "restricted"} if restricted_too else {"public"}
    for name, value in content.items():
        # A field the catalogue no longer knows is withheld: its sensitivity cannot be judged.
        if (
            definition is not None
            and definition.has_field(name)
            and definition.field(name).sensitivity_for(content) in allowed
        ):
            shown[name] = value
        else:
            withheld.append(name)
    return shown, sorted(withheld)
