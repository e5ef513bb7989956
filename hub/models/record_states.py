"""The state of a negative record (published, disputed, corrected…), beside the records it concerns.

The state is kept in a table of its own, keyed like a record (USCC first, house rule 9), not as
columns of `records`: `records` holds every version of a record pushed by its source department,
and a state is the hub's finding about the record as a whole (an objection, a repair), which must
survive the department's next push (a corrected version is still the disputed record) and must not
add a version nobody pushed. A record without a row here is simply `published`. Every change of
state is kept in `record_state_changes` (append-only).

Temporary shielding (暂时屏蔽) concerns a firm, not one record: `entity_shields` holds it, and every
dishonesty record of the firm counts as shielded while a shield is in force.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Identity, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column


class RecordState(Base):
    __tablename__ = "record_states"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    source_dept: Mapped[str] = mapped_column(String(18), primary_key=True)
    source_record_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))
    # What put it there: "objection:<id>" or "repair:<id>".
    cause: Mapped[str] = mapped_column(String(60))
    changed_by: Mapped[str] = mapped_column(String(18))
    changed_at: Mapped[dt.datetime] = created_at_column()


class RecordStateChange(Base):
    """One change of a record's state: from what, to what, why and by whom (append-only)."""

    __tablename__ = "record_state_changes"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    source_dept: Mapped[str] = mapped_column(String(18))
    source_record_id: Mapped[str] = mapped_column(String(100))
    previous_state: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    cause: Mapped[str] = mapped_column(String(60))
    changed_by: Mapped[str] = mapped_column(String(18))
    changed_at: Mapped[dt.datetime] = created_at_column()


class EntityShield(Base):
    """Temporary shielding (暂时屏蔽) of a firm in bankruptcy restructuring, by the credit office."""

    __tablename__ = "entity_shields"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    shield_from: Mapped[dt.date]
    shield_until: Mapped[dt.date]
    shielded_by: Mapped[str] = mapped_column(String(18))
    shielded_at: Mapped[dt.datetime] = created_at_column()
    lifted_at: Mapped[dt.datetime | None]
    lifted_by: Mapped[str | None] = mapped_column(String(18))
