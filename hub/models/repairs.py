"""Credit repair applications (信用修复申请)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column


class RepairApplication(Base):
    """An application that passed eligibility (an ineligible one is refused and not kept)."""

    __tablename__ = "repair_applications"
    __table_args__ = (
        Index(
            "uq_repair_applications_pending_record",
            "uscc",
            "source_dept",
            "source_record_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_repair_applications_pending_due",
            "decision_due_on",
            postgresql_where=text("status = 'pending'"),
        ),
    )

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_dept: Mapped[str] = mapped_column(String(18))
    source_record_id: Mapped[str] = mapped_column(String(100))
    record_type: Mapped[str] = mapped_column(String(40))
    record_version: Mapped[int]
    # Obligations performed (履行法定义务), with references to the proof; the repair commitment
    # (信用修复承诺书) the applicant signed, as text.
    obligations_evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    commitment: Mapped[str] = mapped_column(Text)
    filed_by: Mapped[str] = mapped_column(String(18))
    filed_at: Mapped[dt.datetime] = created_at_column()
    received_on: Mapped[dt.date]
    # State Council 2025 No. 22: the authority decides within 3 working days, the applicant has an
    # answer within 10.
    decision_due_on: Mapped[dt.date]
    answer_due_on: Mapped[dt.date]
    profile: Mapped[str] = mapped_column(String(40))
    profile_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(18))
    decided_at: Mapped[dt.datetime | None]
    decided_on: Mapped[dt.date | None]
    # Seed 002 §二(六): a completed repair is reported upstream within 2 working days.
    report_due_on: Mapped[dt.date | None]
