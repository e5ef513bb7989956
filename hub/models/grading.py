"""Classification of entities per supervision domain, its history, and domain populations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column


class Classification(Base):
    """The effective category of an entity in a domain, and the evaluation it rests on."""

    __tablename__ = "classifications"
    __table_args__ = (Index("ix_classifications_domain_category", "domain", "category"),)

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    domain: Mapped[str] = mapped_column(String(60), primary_key=True)
    category: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str | None] = mapped_column(String(40))
    scheme: Mapped[str | None] = mapped_column(String(40))
    scheme_version: Mapped[int | None]
    # industry, public or default: which rule of seed 001 decided it.
    basis: Mapped[str] = mapped_column(String(20))
    source_dept: Mapped[str | None] = mapped_column(String(18))
    source_record_id: Mapped[str | None] = mapped_column(String(100))
    evaluated_on: Mapped[dt.date | None]
    valid_until: Mapped[dt.date | None]
    changed_at: Mapped[dt.datetime] = mapped_column(server_default=text("now()"))


class ClassificationChange(Base):
    """Every change of an entity's category (or grade) in a domain, with its cause."""

    __tablename__ = "classification_changes"
    __table_args__ = (Index("ix_classification_changes_domain", "domain", "id"),)

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    domain: Mapped[str] = mapped_column(String(60), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    old_category: Mapped[str | None] = mapped_column(String(20))
    new_category: Mapped[str] = mapped_column(String(20))
    old_grade: Mapped[str | None] = mapped_column(String(40))
    new_grade: Mapped[str | None] = mapped_column(String(40))
    basis: Mapped[str] = mapped_column(String(20))
    cause: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[dt.datetime] = created_at_column()


class DomainMember(Base):
    """An entity supervised in a domain (监管对象), registered by the domain's department."""

    __tablename__ = "domain_members"
    __table_args__ = (Index("ix_domain_members_domain", "domain", "uscc"),)

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    domain: Mapped[str] = mapped_column(String(60), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(18))
    added_at: Mapped[dt.datetime] = created_at_column()


class IndicatorValues(Base):
    """An entity's indicator values for a domain's evaluation model in one period (e.g. 2026)."""

    __tablename__ = "indicator_values"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    domain: Mapped[str] = mapped_column(String(60), primary_key=True)
    period: Mapped[str] = mapped_column(String(20), primary_key=True)
    indicator_values: Mapped[dict[str, Any]] = mapped_column("values")
    loaded_by: Mapped[str] = mapped_column(String(18))
    loaded_at: Mapped[dt.datetime] = created_at_column()
