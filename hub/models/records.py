"""Credit records. One table holds every version; `current` marks the one in force.

Keeping versions in one table means a bulk load writes each record once, and the history of a
record is a range scan on its key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Index, Integer, LargeBinary, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        Index(
            "uq_records_current",
            "uscc",
            "source_dept",
            "source_record_id",
            unique=True,
            postgresql_where=text("current"),
        ),
        Index("ix_records_identity", "source_dept", "source_record_id", postgresql_where=text("current")),
        Index(
            "ix_records_entity_read", "uscc", "decision_date", "source_dept", postgresql_where=text("current")
        ),
        Index(
            "ix_records_id_index",
            "id_index",
            postgresql_using="gin",
            postgresql_where=text("current AND id_index IS NOT NULL"),
        ),
        # The rows a key rotation has to move, in keyset order.
        Index(
            "ix_records_key_version",
            "key_version",
            "uscc",
            "source_dept",
            "source_record_id",
            "version",
            postgresql_where=text("key_version IS NOT NULL"),
        ),
    )

    # Subject: a USCC, or for a natural person a keyed pseudonym (never the ID number itself).
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    source_dept: Mapped[str] = mapped_column(String(18), primary_key=True)
    source_record_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    current: Mapped[bool]
    record_type: Mapped[str] = mapped_column(String(40))
    type_version: Mapped[int]
    content: Mapped[dict[str, Any]]
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(16))
    decision_date: Mapped[dt.date]
    severity: Mapped[str | None] = mapped_column(String(10))
    publicity_rule: Mapped[str | None] = mapped_column(String(40))
    published: Mapped[bool]
    repair_from: Mapped[dt.date | None]
    publish_until: Mapped[dt.date | None]
    late: Mapped[bool | None]
    # For evaluation results: the version of the grading scheme the grade was checked against.
    scheme_version: Mapped[int | None]
    changed_fields: Mapped[list[str] | None] = mapped_column(ARRAY(String(40)))
    pushed_by: Mapped[str] = mapped_column(String(18))
    # clock_timestamp, not now(): two pushes in one transaction still get their order.
    pushed_at: Mapped[dt.datetime] = mapped_column(server_default=text("clock_timestamp()"))
    receipt_id: Mapped[uuid.UUID | None]
    # Encryption at rest (hub.records.sealing.fields): the personal fields, each sealed ({field:
    # base64}); their keyed change tags; the data key, wrapped, and its wrapping key's version. Rows
    # with no personal field have none; rows written before 0012 have key_version 0 and their personal
    # fields still in `content`, until `credit-hub keys rotate` seals them.
    sealed: Mapped[dict[str, Any] | None]
    tags: Mapped[dict[str, Any] | None]
    key_version: Mapped[int | None]
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Keyed blind indexes (truncated to HUB_BLIND_INDEX_BITS) of the ID numbers the record names: the
    # exact-match look-up by ID number (recordsByIdNumber) narrows to them, then opens and compares.
    id_index: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
