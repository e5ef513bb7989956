"""Who is calling: an organisation with a role, or the anonymous public."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CREDIT_OFFICE = "credit_office"
    DEPARTMENT = "department"
    PROVINCE = "province"
    BANK = "bank"
    ASSOCIATION = "association"
    ENTITY = "entity"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class Caller:
    role: Role
    organisation_code: str | None = None
    organisation_name: str | None = None
    token_id: int | None = None

    @property
    def label(self) -> str:
        """How logs and history name the caller (never the token)."""
        return f"{self.role.value}:{self.organisation_code}" if self.organisation_code else self.role.value


PUBLIC = Caller(role=Role.PUBLIC)
