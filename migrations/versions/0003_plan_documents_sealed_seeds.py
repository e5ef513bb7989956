"""inspection plans: the frozen list as one document, drawn entities and conflicts as rows, sealed seeds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:40:00

A plan's candidate list was a million rows with a primary key; it is now the canonical text its
published hash covers, stored once. Only the drawn entities are rows (plan_assignments). The public
publication of a drawn plan is kept as first served (plan_publications). Each moved list is checked
against the plan's published candidatesHash; a mismatch stops the upgrade. Conflicts
frozen with the pool move out of the plan's parameters into plan_conflicts. The seed of a plan not
yet drawn is sealed under the hub's key: run this with the hub's own HUB_MASTER_KEY (production
refuses the development key). Old row versions holding the plain seed remain until PostgreSQL
vacuums them, and in backups taken before; draw those plans soon or treat their seeds as exposed.
"""

import hashlib
import hmac
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.settings import check_production, get_settings

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As hub.crypto seals with hub.inspections.service.SEED_PURPOSE, written out so that a later change
# there cannot change what this migration did.
SEED_PURPOSE = b"inspection-plan-seed"
NONCE_BYTES = 12


def _plan_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["plan_id"],
        ["inspection_plans.id"],
        name=op.f(f"fk_{table}_plan_id_inspection_plans"),
        ondelete="CASCADE",
    )


def _seed_cipher() -> AESGCM:
    settings = get_settings()
    check_production(settings)
    master = settings.master_key.get_secret_value().encode()
    return AESGCM(hmac.new(master, SEED_PURPOSE, hashlib.sha256).digest())


def _seal(cipher: AESGCM, seed: bytes, plan_id: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + cipher.encrypt(nonce, seed, plan_id)


def _unseal(cipher: AESGCM, sealed: bytes, plan_id: bytes) -> bytes:
    return cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], plan_id)


def upgrade() -> None:
    op.create_table(
        "plan_candidate_lists",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("canonical", sa.LargeBinary(), nullable=False),
        _plan_fk("plan_candidate_lists"),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plan_candidate_lists")),
    )
    op.create_table(
        "plan_assignments",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("inspector_a", sa.String(length=40), nullable=False),
        sa.Column("inspector_b", sa.String(length=40), nullable=False),
        # No foreign key: written by the draw under the plan's row lock; a check per row tripled its time.
        sa.PrimaryKeyConstraint("plan_id", "uscc", name=op.f("pk_plan_assignments")),
    )
    op.create_table(
        "plan_conflicts",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("inspector_id", sa.String(length=40), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        _plan_fk("plan_conflicts"),
        sa.PrimaryKeyConstraint("plan_id", "inspector_id", "uscc", name=op.f("pk_plan_conflicts")),
    )
    op.create_table(
        "plan_publications",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column(
            "published_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        _plan_fk("plan_publications"),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_plan_publications")),
    )
    op.add_column("inspection_plans", sa.Column("sealed_seed", sa.LargeBinary(), nullable=True))
    op.execute(
        """
        INSERT INTO plan_candidate_lists (plan_id, canonical)
        SELECT p.id, convert_to(coalesce(string_agg(c.uscc || ',' || c.category || chr(10), ''
                   ORDER BY c.uscc COLLATE "C"), ''), 'UTF8')
        FROM inspection_plans p LEFT JOIN plan_candidates c ON c.plan_id = p.id
        GROUP BY p.id
        """
    )
    connection = op.get_bind()
    altered = connection.execute(
        sa.text(
            """
            SELECT p.id FROM inspection_plans p JOIN plan_candidate_lists l ON l.plan_id = p.id
            WHERE encode(sha256(l.canonical), 'hex') <> p.candidates_hash
            """
        )
    ).all()
    if altered:
        ids = ", ".join(str(r[0]) for r in altered)
        raise RuntimeError(f"the frozen candidates of plan(s) {ids} no longer match their published hash")
    op.execute(
        """
        INSERT INTO plan_assignments (plan_id, uscc, category, inspector_a, inspector_b)
        SELECT plan_id, uscc, category, inspector_a, inspector_b FROM plan_candidates WHERE drawn
        """
    )
    op.execute(
        """
        INSERT INTO plan_conflicts (plan_id, inspector_id, uscc)
        SELECT p.id, c.key, jsonb_array_elements_text(c.value)
        FROM inspection_plans p, jsonb_each(p.parameters -> 'conflicts') AS c
        WHERE jsonb_typeof(p.parameters -> 'conflicts') = 'object'
        """
    )
    op.execute("UPDATE inspection_plans SET parameters = parameters - 'conflicts'")
    committed = connection.execute(
        sa.text("SELECT id, seed FROM inspection_plans WHERE status = 'committed' AND seed IS NOT NULL")
    ).all()
    if committed:
        cipher = _seed_cipher()
        for plan_id, seed in committed:
            connection.execute(
                sa.text("UPDATE inspection_plans SET sealed_seed = :sealed, seed = NULL WHERE id = :id"),
                {"id": plan_id, "sealed": _seal(cipher, bytes.fromhex(seed), plan_id.bytes)},
            )
    op.drop_table("plan_candidates")


def downgrade() -> None:
    op.create_table(
        "plan_candidates",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("drawn", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("inspector_a", sa.String(length=40), nullable=True),
        sa.Column("inspector_b", sa.String(length=40), nullable=True),
        _plan_fk("plan_candidates"),
        sa.PrimaryKeyConstraint("plan_id", "uscc", name=op.f("pk_plan_candidates")),
    )
    op.execute(
        """
        INSERT INTO plan_candidates (plan_id, uscc, category, drawn, inspector_a, inspector_b)
        SELECT l.plan_id, split_part(line, ',', 1), split_part(line, ',', 2),
               a.uscc IS NOT NULL, a.inspector_a, a.inspector_b
        FROM plan_candidate_lists l
        CROSS JOIN LATERAL string_to_table(rtrim(convert_from(l.canonical, 'UTF8'), chr(10)), chr(10)) AS line
        LEFT JOIN plan_assignments a ON a.plan_id = l.plan_id AND a.uscc = split_part(line, ',', 1)
        WHERE line <> ''
        """
    )
    op.execute(
        """
        UPDATE inspection_plans p SET parameters = p.parameters || jsonb_build_object('conflicts', c.conflicts)
        FROM (SELECT plan_id, jsonb_object_agg(inspector_id, usccs) AS conflicts
              FROM (SELECT plan_id, inspector_id, jsonb_agg(uscc ORDER BY uscc) AS usccs
                    FROM plan_conflicts GROUP BY plan_id, inspector_id) AS per_inspector
              GROUP BY plan_id) AS c
        WHERE c.plan_id = p.id
        """
    )
    op.execute(
        """UPDATE inspection_plans SET parameters = parameters || '{"conflicts": {}}'
           WHERE NOT parameters ? 'conflicts'"""
    )
    connection = op.get_bind()
    sealed = connection.execute(
        sa.text("SELECT id, sealed_seed FROM inspection_plans WHERE sealed_seed IS NOT NULL")
    ).all()
    if sealed:
        cipher = _seed_cipher()
        for plan_id, value in sealed:
            connection.execute(
                sa.text("UPDATE inspection_plans SET seed = :seed WHERE id = :id"),
                {"id": plan_id, "seed": _unseal(cipher, bytes(value), plan_id.bytes).hex()},
            )
    op.drop_column("inspection_plans", "sealed_seed")
    op.drop_table("plan_publications")
    op.drop_table("plan_conflicts")
    op.drop_table("plan_assignments")
    op.drop_table("plan_candidate_lists")
