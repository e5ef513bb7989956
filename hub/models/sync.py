"""The transactional outbox: changes the provincial platform must learn of."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column
from hub.models.records import Record


class OutboxEvent(Base):
    """Written only by hub.sync.outbox, in the same transaction as the change; a relay sends and marks
    it later. A platform log, not an entity's data: its key is the id, and the USCC orders the events
    of one entity (rule 9 concerns entity tables).

    A bulk load writes one event naming its receipt; the relay expands it from the records that
    carry that receipt id, so a million-row load costs one outbox row.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),
        # One entity's events in order, for a relay that keeps per-entity order.
        Index("ix_outbox_uscc", "uscc", "id", postgresql_where=text("uscc IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(60))
    payload_version: Mapped[int] = mapped_column(SmallInteger)
    # The ordering key: the USCC (or a person's archive key) when the event concerns one entity.
    uscc: Mapped[str | None] = mapped_column(String(18))
    payload: Mapped[dict[str, Any]]
    # The writing transaction (xid8 as bigint): the relay's horizon cursor sends only rows of
    # transactions older than every one still running, so a late commit is never skipped.
    xact_id: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text::bigint)")
    )
    created_at: Mapped[dt.datetime] = created_at_column()
    sent_at: Mapped[dt.datetime | None]


# The relay expands a bulk event from the records carrying its receipt id; declared here, beside the
# events that need it. Partial: single pushes carry no receipt.
_receipt = Record.__table__.c.receipt_id
Index("ix_records_receipt", _receipt, postgresql_where=_receipt.isnot(None))
