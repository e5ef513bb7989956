"""encryption at rest: records' personal fields sealed under wrapped data keys

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-01 15:40:00

Personal fields (the catalogue's `personal` class) leave `content` for `sealed`, one AEAD ciphertext
each, under a data key stored wrapped on the row (`wrapped_key`) with its wrapping key's version
(`key_version`); `tags` are their keyed change tags. Rows already stored get key_version 0 (metadata
only: no table rewrite) and keep their personal fields in `content` until `credit-hub keys rotate`
seals them, online, in short batches; new rows default to NULL (nothing to seal) and are sealed as
they are written. The partial index finds the rows a rotation still has to move. `id_index` holds the
keyed blind indexes of the ID numbers a record names (GIN, current rows): the exact-match look-up by ID
number; rows written before are indexed when the rotation seals them.

Downgrade: only when no row is sealed (`credit-hub keys rotate` cannot undo itself; restore from a
backup taken before instead); it refuses otherwise, naming the count.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("records", sa.Column("sealed", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("records", sa.Column("tags", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("records", sa.Column("key_version", sa.Integer(), server_default="0", nullable=True))
    op.alter_column("records", "key_version", server_default=None)
    op.add_column("records", sa.Column("wrapped_key", sa.LargeBinary(), nullable=True))
    op.add_column("records", sa.Column("id_index", postgresql.ARRAY(sa.Integer()), nullable=True))
    op.create_index(
        "ix_records_id_index",
        "records",
        ["id_index"],
        postgresql_using="gin",
        postgresql_where=sa.text("current AND id_index IS NOT NULL"),
    )
    op.create_index(
        "ix_records_key_version",
        "records",
        ["key_version", "uscc", "source_dept", "source_record_id", "version"],
        postgresql_where=sa.text("key_version IS NOT NULL"),
    )


def downgrade() -> None:
    sealed = op.get_bind().execute(sa.text("SELECT count(*) FROM records WHERE sealed IS NOT NULL")).scalar()
    if sealed:
        raise RuntimeError(
            f"{sealed} records hold sealed personal fields: downgrading would lose them (restore a backup)"
        )
    op.drop_index("ix_records_key_version", table_name="records")
    op.drop_index("ix_records_id_index", table_name="records")
    op.drop_column("records", "id_index")
    op.drop_column("records", "wrapped_key")
    op.drop_column("records", "key_version")
    op.drop_column("records", "tags")
    op.drop_column("records", "sealed")
