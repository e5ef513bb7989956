"""The registry of market entities, keyed by USCC."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, text
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
