"""Double-random inspections (双随机、一公开): inspector pools, conflicts, verifiable plans."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from hub.models.base import Base, created_at_column


class Inspector(Base):
    """A law-enforcement officer in a department's pool (执法检查人员名录库)."""

    __tablename__ = "inspectors"

    department_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    inspector_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    added_at: Mapped[dt.datetime] = created_at_column()


class InspectorConflict(Base):
    """A declared conflict of interest (回避): this inspector never inspects this entity."""

    __tablename__ = "inspector_conflicts"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    department_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    inspector_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    declared_at: Mapped[dt.datetime] = created_at_column()


class InspectionPlan(Base):
    """A plan: committed (seed hidden, candidates frozen), then drawn (seed revealed)."""

    __tablename__ = "inspection_plans"
    __table_args__ = (Index("ix_inspection_plans_domain", "domain", "period"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(60))
    department_code: Mapped[str] = mapped_column(String(18))
    period: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    algorithm: Mapped[str] = mapped_column(String(40))
    seed_commitment: Mapped[str] = mapped_column(String(64))
    candidates_hash: Mapped[str] = mapped_column(String(64))
    inspectors_hash: Mapped[str] = mapped_column(String(64))
    candidate_count: Mapped[int]
    # Ratios per category and the scheme/domain versions the draw used.
    parameters: Mapped[dict[str, Any]]
    # Revealed at the draw (64 hex digits). Until then only `sealed_seed` holds it, AES-GCM under the
    # hub's key (hub/crypto.py), so a database dump taken before the draw does not reveal the seed.
    seed: Mapped[str | None] = mapped_column(String(64))
    sealed_seed: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(18))
    created_at: Mapped[dt.datetime] = created_at_column()
    drawn_at: Mapped[dt.datetime | None]


def _plan_key() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("inspection_plans.id", ondelete="CASCADE"), primary_key=True)


class PlanCandidateList(Base):
    """The frozen candidate list of a plan as one document: exactly the canonical text its published
    hash covers ("USCC,category\n" sorted by USCC). One value instead of a million rows: freezing
    writes no index, the draw reads it in one fetch, and TOAST compresses it."""

    __tablename__ = "plan_candidate_lists"

    plan_id: Mapped[uuid.UUID] = _plan_key()
    canonical: Mapped[bytes] = mapped_column(LargeBinary)


class PlanPublication(Base):
    """The public (desensitised) publication of a drawn plan, as first served: a drawn plan never
    changes, and building it for a million candidates takes seconds, so every later reader (and the
    /plans/<id>/publication.json download) gets these bytes."""

    __tablename__ = "plan_publications"

    plan_id: Mapped[uuid.UUID] = _plan_key()
    document: Mapped[bytes] = mapped_column(LargeBinary)
    published_at: Mapped[dt.datetime] = created_at_column()


class PlanAssignment(Base):
    """A drawn entity of a plan and its two inspectors, in the order they were drawn.

    No foreign key to the plan, on purpose: the draw writes these rows (up to a few hundred
    thousand, by COPY) while holding the plan's row lock, and a key check per row tripled the
    time of that write."""

    __tablename__ = "plan_assignments"

    plan_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    category: Mapped[str] = mapped_column(String(20))
    inspector_a: Mapped[str] = mapped_column(String(40))
    inspector_b: Mapped[str] = mapped_column(String(40))


class PlanConflict(Base):
    """A declared conflict frozen with the plan's pool: what the draw and its verifiers honour."""

    __tablename__ = "plan_conflicts"

    plan_id: Mapped[uuid.UUID] = _plan_key()
    inspector_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)


class PlanInspector(Base):
    """The frozen inspector pool of a plan, with the conflicts that applied at commitment time."""

    __tablename__ = "plan_inspectors"

    plan_id: Mapped[uuid.UUID] = _plan_key()
    inspector_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
