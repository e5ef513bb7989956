"""Callers: organisations (departments, banks, the province...) and their bearer tokens."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column

ROLES = ("credit_office", "department", "province", "bank", "association", "entity", "public")


class Organisation(Base):
    """A caller of the hub. `code` is its USCC (government departments hold 11… codes)."""

    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_known"),
    )

    code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # Which publicity rules apply to its penalties, e.g. "market_regulation" (SAMR Order 107).
    authority_domain: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = created_at_column()


class ApiToken(Base):
    """A bearer token; only the SHA-256 of its secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    organisation_code: Mapped[str] = mapped_column(ForeignKey("organisations.code"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = created_at_column()
