"""GraphQL types of purposes and authorisations (授权)."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import strawberry

from hub.catalog.purposes import Purpose as PurposeData
from hub.consents.service import effective_state
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Item, Subject
from hub.models import Authorisation as AuthorisationRow


@strawberry.enum(description="How deep an authorisation lets a data item be read (字段层级).")
class FieldTier(Enum):
    MASKED = strawberry.enum_value("masked", description="Personal fields masked or withheld (脱敏).")
    FULL = strawberry.enum_value("full", description="Every field the purpose lets leave (完整).")


@strawberry.enum(description="Where an authorisation stands in its life cycle (授权状态).")
class AuthorisationState(Enum):
    REQUESTED = strawberry.enum_value(
        "requested", description="Asked for; the entity has not decided (待确认)."
    )
    REJECTED = strawberry.enum_value("rejected", description="The entity said no (已拒绝).")
    ACTIVE = strawberry.enum_value("active", description="Approved and signed; reads are allowed (生效中).")
    PAUSED = strawberry.enum_value("paused", description="Paused by the entity; reads refused (已暂停).")
    REVOKED = strawberry.enum_value("revoked", description="Revoked by the entity, for good (已撤销).")
    EXPIRED = strawberry.enum_value("expired", description="Its validity has ended (已过期).")


@strawberry.type(description="A data item a purpose covers, and the deepest tier it may grant.")
class PurposeItem:
    item: str = strawberry.field(
        description="supervision (分级分类结果), classification (分类变更记录) or records.<record type>."
    )
    tier: FieldTier = strawberry.field(description="The deepest tier a grant may give it.")


@strawberry.type(description="A purpose of an authorisation (授权用途) and the caps of a grant for it.")
class Purpose:
    code: str = strawberry.field(description="Purpose code, e.g. loan_assessment.")
    version: int = strawberry.field(
        description="Version in the catalogue; a grant names the one it was asked under."
    )
    name_zh: str = strawberry.field(description="Chinese name, e.g. 信易贷授信评估.")
    name: str = strawberry.field(description="English name.")
    basis: str = strawberry.field(description="Where the purpose comes from (a seed's section).")
    requester_roles: list[str] = strawberry.field(description="Who may ask for it: bank, association.")
    max_validity_days: int = strawberry.field(
        description="Longest validity of a grant (最长有效期), in days."
    )
    reads_per_day: int = strawberry.field(description="Most reads a day (每日查询上限).")
    reads_total: int = strawberry.field(description="Most reads in all (查询总次数上限).")
    items: list[PurposeItem] = strawberry.field(description="The data items it may cover.")

    @classmethod
    def of(cls, purpose: PurposeData, version: int) -> Purpose:
        return cls(
            code=purpose.code,
            version=version,
            name_zh=purpose.name_zh,
            name=purpose.name,
            basis=purpose.basis,
            requester_roles=list(purpose.requester_roles),
            max_validity_days=purpose.max_validity_days,
            reads_per_day=purpose.reads_per_day,
            reads_total=purpose.reads_total,
            items=[PurposeItem(item=i, tier=FieldTier(t)) for i, t in purpose.items.items()],
        )


@strawberry.type(description="A data item of a grant (授权范围) and its field tier.")
class ScopeItem:
    item: str = strawberry.field(
        description="supervision (分级分类结果), classification (分类变更记录) or records.<record type>."
    )
    tier: FieldTier = strawberry.field(description="How deep it may be read.")


@strawberry.input(description="A data item asked for, and its field tier.")
class ScopeItemInput:
    item: str = strawberry.field(
        description="supervision, classification or records.<record type> (as `purposes` lists them)."
    )
    tier: FieldTier = strawberry.field(description="How deep it is to be read.")


@strawberry.type(
    description="An entity's authorisation (授权) of a bank or association to read its data for a purpose."
)
class Authorisation:
    row: strawberry.Private[AuthorisationRow]
    now: strawberry.Private[dt.datetime]

    @strawberry.field(description="The authorisation's id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="USCC of the entity that gives it (授权主体).")
    def grantor(self) -> str:
        return self.row.uscc

    @strawberry.field(description="Code of the organisation it is given to (被授权机构).")
    def grantee(self) -> str:
        return self.row.grantee

    @strawberry.field(description="That organisation's role: bank or association.")
    def grantee_role(self) -> str:
        return self.row.grantee_role

    @strawberry.field(description="The purpose (授权用途), a code of `purposes`.")
    def purpose(self) -> str:
        return self.row.purpose

    @strawberry.field(description="The purpose's version it was asked under.")
    def purpose_version(self) -> int:
        return self.row.purpose_version

    @strawberry.field(description="The data items granted and their tiers (授权范围).")
    def scope(self) -> list[ScopeItem]:
        return [ScopeItem(item=s["item"], tier=FieldTier(s["tier"])) for s in self.row.scope]

    @strawberry.field(description="State now (授权状态); a grant past its validity shows expired.")
    def state(self) -> AuthorisationState:
        return AuthorisationState(effective_state(self.row, self.now))

    @strawberry.field(description="Validity asked for, in days from approval.")
    def validity_days(self) -> int:
        return self.row.validity_days

    @strawberry.field(description="Most reads a day (每日查询上限), China time.")
    def reads_per_day(self) -> int:
        return self.row.reads_per_day

    @strawberry.field(description="Most reads in all (查询总次数上限).")
    def reads_total(self) -> int:
        return self.row.reads_total

    @strawberry.field(description="Reads made so far.")
    def reads_used(self) -> int:
        return self.row.reads_used

    @strawberry.field(description="The entity's reason when it rejected or revoked.")
    def reason(self) -> str | None:
        return self.row.note

    @strawberry.field(description="When it was asked for.")
    def requested_at(self) -> dt.datetime:
        return self.row.requested_at

    @strawberry.field(description="When the entity decided.")
    def decided_at(self) -> dt.datetime | None:
        return self.row.decided_at

    @strawberry.field(description="Valid from (approval).")
    def valid_from(self) -> dt.datetime | None:
        return self.row.valid_from

    @strawberry.field(description="Valid until (有效期至).")
    def valid_until(self) -> dt.datetime | None:
        return self.row.valid_until

    @strawberry.field(description="When it was rejected or revoked, or its validity ended.")
    def ended_at(self) -> dt.datetime | None:
        return self.row.ended_at

    @strawberry.field(
        description="The signed grant (compact JWS, EdDSA over RFC 8785 JSON), once approved: verify it "
        "with the keys of GET /.well-known/jwks.json."
    )
    def signed(self) -> str | None:
        return self.row.jws

    @strawberry.field(description="Id (RFC 7638 thumbprint) of the key that signed it.")
    def key_id(self) -> str | None:
        return self.row.key_id

    @classmethod
    def disclosed(cls, gate: Disclosure, row: AuthorisationRow, now: dt.datetime) -> Authorisation | None:
        """Who authorised whom is the entity's data: it leaves through the gate (null when withheld)."""
        if not gate.admits(Item.ENTITY, Subject(uscc=row.uscc, owner=row.grantee), kind="authorisation"):
            return None
        return cls(row=row, now=now)
