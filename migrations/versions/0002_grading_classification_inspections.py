"""grading, classification, inspections

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:34:22.398663
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "classification_changes",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("domain", sa.String(length=60), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("old_category", sa.String(length=20), nullable=True),
        sa.Column("new_category", sa.String(length=20), nullable=False),
        sa.Column("old_grade", sa.String(length=40), nullable=True),
        sa.Column("new_grade", sa.String(length=40), nullable=True),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("uscc", "domain", "id", name=op.f("pk_classification_changes")),
    )
    op.create_index(
        "ix_classification_changes_domain", "classification_changes", ["domain", "id"], unique=False
    )
    op.create_table(
        "classifications",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("domain", sa.String(length=60), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.String(length=40), nullable=True),
        sa.Column("scheme", sa.String(length=40), nullable=True),
        sa.Column("scheme_version", sa.Integer(), nullable=True),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("source_dept", sa.String(length=18), nullable=True),
        sa.Column("source_record_id", sa.String(length=100), nullable=True),
        sa.Column("evaluated_on", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("uscc", "domain", name=op.f("pk_classifications")),
    )
    op.create_index(
        "ix_classifications_domain_category", "classifications", ["domain", "category"], unique=False
    )
    op.create_table(
        "domain_members",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("domain", sa.String(length=60), nullable=False),
        sa.Column("added_by", sa.String(length=18), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("uscc", "domain", name=op.f("pk_domain_members")),
    )
    op.create_index("ix_domain_members_domain", "domain_members", ["domain", "uscc"], unique=False)
    op.create_table(
        "indicator_values",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("domain", sa.String(length=60), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("values", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("loaded_by", sa.String(length=18), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("uscc", "domain", "period", name=op.f("pk_indicator_values")),
    )
    op.create_table(
        "inspection_plans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("domain", sa.String(length=60), nullable=False),
        sa.Column("department_code", sa.String(length=18), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("seed_commitment", sa.String(length=64), nullable=False),
        sa.Column("candidates_hash", sa.String(length=64), nullable=False),
        sa.Column("inspectors_hash", sa.String(length=64), nullable=False),
        sa.Column("candidate_count", sa.Integer(), nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=18), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_plans")),
    )
    op.create_index("ix_inspection_plans_domain", "inspection_plans", ["domain", "period"], unique=False)
    op.create_table(
        "inspector_conflicts",
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("department_code", sa.String(length=18), nullable=False),
        sa.Column("inspector_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint(
            "uscc", "department_code", "inspector_id", name=op.f("pk_inspector_conflicts")
        ),
    )
    op.create_table(
        "inspectors",
        sa.Column("department_code", sa.String(length=18), nullable=False),
        sa.Column("inspector_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("department_code", "inspector_id", name=op.f("pk_inspectors")),
    )
    op.create_table(
        "plan_candidates",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("drawn", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("inspector_a", sa.String(length=40), nullable=True),
        sa.Column("inspector_b", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["inspection_plans.id"],
            name=op.f("fk_plan_candidates_plan_id_inspection_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "uscc", name=op.f("pk_plan_candidates")),
    )
    op.create_table(
        "plan_inspectors",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("inspector_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["inspection_plans.id"],
            name=op.f("fk_plan_inspectors_plan_id_inspection_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "inspector_id", name=op.f("pk_plan_inspectors")),
    )
    op.add_column("records", sa.Column("scheme_version", sa.Integer(), nullable=True))
    # Expression index (autogenerate cannot compare these): a domain's current industry evaluations.
    op.create_index(
        "ix_records_industry_domain",
        "records",
        [sa.text("(content ->> 'JGLY')"), "uscc"],
        unique=False,
        postgresql_where=sa.text("current AND record_type = 'industry_evaluation'"),
    )


def downgrade() -> None:
    op.drop_index("ix_records_industry_domain", table_name="records")
    op.drop_column("records", "scheme_version")
    op.drop_table("plan_inspectors")
    op.drop_table("plan_candidates")
    op.drop_table("inspectors")
    op.drop_table("inspector_conflicts")
    op.drop_index("ix_inspection_plans_domain", table_name="inspection_plans")
    op.drop_table("inspection_plans")
    op.drop_table("indicator_values")
    op.drop_index("ix_domain_members_domain", table_name="domain_members")
    op.drop_table("domain_members")
    op.drop_index("ix_classifications_domain_category", table_name="classifications")
    op.drop_table("classifications")
    op.drop_index("ix_classification_changes_domain", table_name="classification_changes")
    op.drop_table("classification_changes")
