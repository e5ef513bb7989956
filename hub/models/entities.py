"""The registry of market entities, keyed by USCC."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Identity, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column


class Entity(Base):
    __tablename__ = "entities"
    __table_args__ = (
        # Name-fragment search (any position) uses trigrams.
        Index(
            "ix_entities_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}
        ),
        Index("ix_entities_district_kind", "district", "kind"),
    )

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(6))
    first_seen_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))


class EntityNameChange(Base):
    """A correction of a registered name (a push never renames an entity): who, why, from what."""

    __tablename__ = "entity_name_changes"

    # Keyed by the entity first, like every entity table (house rule 9); the service checks that the
    # entity exists, with its row locked.
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    previous_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    changed_by: Mapped[str] = mapped_column(String(18))
    changed_at: Mapped[dt.datetime] = created_at_column()
