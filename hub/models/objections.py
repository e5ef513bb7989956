"""Objections (异议) of an entity to one of its records or evaluations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column


class Objection(Base):
    __tablename__ = "objections"
    __table_args__ = (
        # One open objection per record at a time.
        Index(
            "uq_objections_open_record",
            "uscc",
            "source_dept",
            "source_record_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        # The credit office's worklist: open cases by due date.
        Index("ix_objections_open_due", "due_on", postgresql_where=text("status = 'open'")),
    )

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_dept: Mapped[str] = mapped_column(String(18))
    source_record_id: Mapped[str] = mapped_column(String(100))
    record_type: Mapped[str] = mapped_column(String(40))
    # The version in force when the objection was filed: a correction is a later version.
    record_version: Mapped[int]
    # The record's state before it was marked disputed.
    prior_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    # References to evidence: [{title, reference}], bounded by the rights profile.
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    filed_by: Mapped[str] = mapped_column(String(18))
    filed_at: Mapped[dt.datetime] = created_at_column()
    received_on: Mapped[dt.date]
    attention_on: Mapped[dt.date]
    due_on: Mapped[dt.date]
    # The time-limit profile and the rights_profile document version the deadline was computed with.
    profile: Mapped[str] = mapped_column(String(40))
    profile_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    action: Mapped[str | None] = mapped_column(String(20))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    department_statement: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(18))
    decided_at: Mapped[dt.datetime | None]
    decided_on: Mapped[dt.date | None]
