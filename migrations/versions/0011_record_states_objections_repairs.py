"""record states, objections, credit repair, temporary shielding (issue 9)

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-01 15:30:00

A negative record's state (disputed, corrected, upheld, both recorded, repaired, revoked) lives in
`record_states`, keyed like the record; each change is appended to `record_state_changes`.
Objections and repair applications are kept per entity; shields (暂时屏蔽) per firm.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from hub.migrate import grant_server

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "record_states",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("source_dept", sa.String(length=18), nullable=False),
        sa.Column("source_record_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=60), nullable=False),
        sa.Column("changed_by", sa.String(length=18), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("uscc", "source_dept", "source_record_id", name=op.f("pk_record_states")),
    )
    op.create_table(
        "record_state_changes",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("source_dept", sa.String(length=18), nullable=False),
        sa.Column("source_record_id", sa.String(length=100), nullable=False),
        sa.Column("previous_state", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=60), nullable=False),
        sa.Column("changed_by", sa.String(length=18), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("uscc", "id", name=op.f("pk_record_state_changes")),
    )
    op.create_table(
        "entity_shields",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("shield_from", sa.Date(), nullable=False),
        sa.Column("shield_until", sa.Date(), nullable=False),
        sa.Column("shielded_by", sa.String(length=18), nullable=False),
        sa.Column("shielded_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=18), nullable=True),
        sa.PrimaryKeyConstraint("uscc", "id", name=op.f("pk_entity_shields")),
    )
    op.create_table(
        "objections",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("source_dept", sa.String(length=18), nullable=False),
        sa.Column("source_record_id", sa.String(length=100), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("prior_state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("filed_by", sa.String(length=18), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("attention_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("profile", sa.String(length=40), nullable=False),
        sa.Column("profile_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("department_statement", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=18), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("uscc", "id", name=op.f("pk_objections")),
    )
    op.create_index(
        "uq_objections_open_record",
        "objections",
        ["uscc", "source_dept", "source_record_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_objections_open_due", "objections", ["due_on"], postgresql_where=sa.text("status = 'open'")
    )
    op.create_table(
        "repair_applications",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("source_dept", sa.String(length=18), nullable=False),
        sa.Column("source_record_id", sa.String(length=100), nullable=False),
        sa.Column("record_type", sa.String(length=40), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("obligations_evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("commitment", sa.Text(), nullable=False),
        sa.Column("filed_by", sa.String(length=18), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("decision_due_on", sa.Date(), nullable=False),
        sa.Column("answer_due_on", sa.Date(), nullable=False),
        sa.Column("profile", sa.String(length=40), nullable=False),
        sa.Column("profile_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=18), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("report_due_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("uscc", "id", name=op.f("pk_repair_applications")),
    )
    op.create_index(
        "uq_repair_applications_pending_record",
        "repair_applications",
        ["uscc", "source_dept", "source_record_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_repair_applications_pending_due",
        "repair_applications",
        ["decision_due_on"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    grant_server("record_states", "SELECT", "INSERT", "UPDATE")
    grant_server("record_state_changes", "SELECT", "INSERT")
    grant_server("entity_shields", "SELECT", "INSERT", "UPDATE")
    grant_server("objections", "SELECT", "INSERT", "UPDATE")
    grant_server("repair_applications", "SELECT", "INSERT", "UPDATE")


def downgrade() -> None:
    for table in (
        "repair_applications",
        "objections",
        "entity_shields",
        "record_state_changes",
        "record_states",
    ):
        op.drop_table(table)
