"""The access log (who read what, and the administrative changes): entries, and the Merkle tree over
them that the sequencer builds (hub.audit). The server role may only INSERT and SELECT these tables."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Date,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column

# The writing transaction's id (xid8, as a bigint): the sequencer's horizon (hub.audit.repository).
CURRENT_XID = "(pg_current_xact_id()::text)::bigint"


class AccessLogEntry(Base):
    """One read of non-public data about an entity, or one administrative change. Never the data
    itself: its SHA-256. Keyed by the entity first (house rule 9); "" for a change about no entity."""

    __tablename__ = "access_log_entries"
    __table_args__ = (
        # Not unique: every unique index of an entity table holds the USCC (rule 9); the identity is.
        Index("ix_access_log_entries_id", "id"),
        Index("ix_access_log_entries_txid", "txid"),
    )

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "read" | "admin"
    action: Mapped[str] = mapped_column(String(60))
    caller_role: Mapped[str] = mapped_column(String(20))
    caller_organisation: Mapped[str | None] = mapped_column(String(18))
    token_id: Mapped[int | None] = mapped_column(BigInteger)
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(120)), server_default=text("'{}'"))
    tier: Mapped[str | None] = mapped_column(String(16))
    purpose: Mapped[str | None] = mapped_column(String(60))
    authorisation: Mapped[str | None] = mapped_column(String(64))
    legal_basis: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))
    response_sha256: Mapped[bytes | None] = mapped_column(LargeBinary)
    hidden_until: Mapped[dt.date | None] = mapped_column(Date)
    at: Mapped[dt.datetime] = created_at_column()
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text(CURRENT_XID))


class AccessLogLeaf(Base):
    """Leaf `leaf_index` of the tree: the entry it holds and SHA-256(0x00 || entry bytes)."""

    __tablename__ = "access_log_leaves"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    integrated_at: Mapped[dt.datetime] = created_at_column()


class AccessLogNode(Base):
    """The hash of a complete subtree: 2**level leaves from leaf idx·2**level (level >= 1)."""

    __tablename__ = "access_log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class AccessLogBatch(Base):
    """One run of the sequencer: leaves [first_index, first_index + size) and its horizon (every
    entry written by a transaction with a smaller id is integrated)."""

    __tablename__ = "access_log_batches"

    first_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(Integer)
    horizon: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = created_at_column()


class AccessLogCheckpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint in a signed note) of the tree at `tree_size`."""

    __tablename__ = "access_log_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = created_at_column()


class AccessLogPurge(Base):
    """A retention purge (by the owner role, `credit-hub audit purge`): the details of the entries of
    leaves below `before_index` are gone; their leaf hashes stay, so the tree still verifies."""

    __tablename__ = "access_log_purges"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    before_index: Mapped[int] = mapped_column(BigInteger)
    cutoff: Mapped[dt.datetime] = mapped_column()
    purged: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = created_at_column()
