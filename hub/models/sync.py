"""The transactional outbox: changes the provincial platform must learn of."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column


class OutboxEvent(Base):
    """Written in the same transaction as the change; a relay sends and marks it later.

    A bulk load writes one event naming its receipt; the relay expands it from the records that
    carry that receipt id, so a million-row load costs one outbox row.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    topic: Mapped[str] = mapped_column(String(60))
    uscc: Mapped[str | None] = mapped_column(String(18))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = created_at_column()
    sent_at: Mapped[dt.datetime | None]
