"""Push bookkeeping: idempotency keys, bulk receipts and their rejected and warned rows."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column


class IdempotentPush(Base):
    """The first answer to a push, replayed when the same key comes with the same body."""

    __tablename__ = "idempotent_pushes"

    organisation_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    body_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    answer: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = created_at_column()


class BulkReceipt(Base):
    """The answer to a bulk push; with an idempotency key, the same file again replays it."""

    __tablename__ = "bulk_receipts"
    __table_args__ = (UniqueConstraint("organisation_code", "idempotency_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    organisation_code: Mapped[str] = mapped_column(String(18), index=True)
    record_type: Mapped[str] = mapped_column(String(40))
    file_format: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(255))
    total: Mapped[int]
    created: Mapped[int]
    updated: Mapped[int]
    unchanged: Mapped[int]
    rejected: Mapped[int]
    late: Mapped[int]
    # Stored rows that came with a warning (bulk_warnings), e.g. an XDR_MC other than the registry's name.
    warned: Mapped[int] = mapped_column(server_default="0")
    finished: Mapped[bool]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    body_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = created_at_column()


class BulkRejection(Base):
    __tablename__ = "bulk_rejections"

    receipt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("bulk_receipts.id", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(primary_key=True)
    source_record_id: Mapped[str | None] = mapped_column(String(100))
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class BulkWarning(Base):
    """A stored row of a bulk file that came with warnings (never a rejected one: each line has one fate)."""

    __tablename__ = "bulk_warnings"

    receipt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("bulk_receipts.id", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(primary_key=True)
    source_record_id: Mapped[str | None] = mapped_column(String(100))
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
