"""Authorisations (授权): an entity's consent that a bank or association reads its data for a purpose."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, Date, Index, Integer, SmallInteger, String, Text, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column

AUTHORISATION_STATES = ("requested", "rejected", "active", "paused", "revoked", "expired")


class Authorisation(Base):
    """One grant, from its request to its end. Keyed by the grantor's USCC first (house rule 9): the
    entity's own rows; the requester finds its grants through `ix_authorisations_grantee`.

    The caps are copied from the request (within the purpose's caps when it was made), so a later
    amendment of the purpose changes no grant already given; `purpose_version` names the version."""

    __tablename__ = "authorisations"
    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in AUTHORISATION_STATES)})", name="state"),
        CheckConstraint("reads_used >= 0 AND reads_used <= reads_total", name="reads_used"),
        Index("ix_authorisations_grantee", "grantee", "requested_at"),
        Index("ix_authorisations_requested_at", "requested_at"),
        # A grant is named by its id alone in the API (the caller may not know whose it is).
        Index("ix_authorisations_id", "id"),
    )

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    grantee: Mapped[str] = mapped_column(String(18))
    grantee_role: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(80))
    purpose_version: Mapped[int]
    # [{"item": "records.administrative_penalty", "tier": "masked"}, …], sorted by item.
    scope: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    validity_days: Mapped[int] = mapped_column(SmallInteger)
    reads_per_day: Mapped[int] = mapped_column(Integer)
    reads_total: Mapped[int] = mapped_column(Integer)
    reads_used: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The reads of the latest day with any (China time), on the grant's own row: read fresh under
    # its lock (a count in another table would be read from the statement's older snapshot).
    reads_day: Mapped[dt.date | None] = mapped_column(Date)
    reads_that_day: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    state: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(String(500))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[dt.datetime] = created_at_column()
    decided_at: Mapped[dt.datetime | None]
    valid_from: Mapped[dt.datetime | None]
    valid_until: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    # The signed artefact (compact JWS) once approved, and the key it was signed with.
    jws: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(64))


class AuthorisationUse(Base):
    """Reads of one grant on one day (Asia/Shanghai calendar day), counted atomically."""

    __tablename__ = "authorisation_uses"
    __table_args__ = (CheckConstraint("reads >= 1", name="reads"),)

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    authorisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    reads: Mapped[int] = mapped_column(Integer)
