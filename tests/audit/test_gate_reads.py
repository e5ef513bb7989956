"""What the disclosure gate tells the access log: per entity, the non-public fields it let out
unmasked, at which tier and why; public fields, withheld fields and the public caller give nothing."""

from __future__ import annotations

import datetime as dt

from hub.audit.record import Read
from hub.auth.caller import Caller, Role
from hub.catalog.record_types import load_bundled
from hub.disclosure.gate import Disclosure
from tests.conftest import company_code, gov_code

ENTITY, OTHER = company_code(7), company_code(8)
DEPT = gov_code(20)
PENALTY = load_bundled()["administrative_penalty"]
# From the catalogue: WSH (文书号) public, BZ (备注) restricted.
CONTENT = {"WSH": "P1", "BZ": "内部备注"}


def test_a_full_reader_logs_the_restricted_field_only() -> None:
    gate = Disclosure(Caller(Role.CREDIT_OFFICE, gov_code(23)))
    for _ in range(2):  # twice: one entry's fields, not two
        gate.record_fields(PENALTY, "administrative_penalty", CONTENT, uscc=ENTITY, owner=DEPT)
    assert gate.reads() == [Read(ENTITY, ["record.administrative_penalty.BZ"], tier="role")]


def test_public_fields_and_withheld_ones_are_not_logged() -> None:
    for caller in (Caller(Role.PUBLIC), Caller(Role.BANK, company_code(9)), Caller(Role.ENTITY, OTHER)):
        gate = Disclosure(caller)
        shown, withheld = gate.record_fields(
            PENALTY, "administrative_penalty", CONTENT, uscc=ENTITY, owner=DEPT
        )
        assert set(shown) == {"WSH"} and withheld == ("BZ",)
        assert gate.reads() == []


def test_an_authorised_read_carries_its_tier_and_basis_per_entity() -> None:
    gate = Disclosure(Caller(Role.ENTITY, ENTITY))
    gate.record_fields(PENALTY, "administrative_penalty", CONTENT, uscc=ENTITY, owner=DEPT)
    gate.grant(OTHER, "full")
    gate.disclosed(OTHER, ["profile.legal_representative"])
    later = dt.date(2027, 1, 1)
    gate.read_basis(OTHER, purpose="loan", authorisation="g-1", legal_basis="授权", hidden_until=later)
    assert gate.reads() == [
        Read(ENTITY, ["record.administrative_penalty.BZ"], tier="role"),
        Read(OTHER, ["profile.legal_representative"], "full", "loan", "g-1", "授权", later),
    ]


def test_free_text_a_bank_reads_under_a_grant_is_logged_too() -> None:
    """Free text leaves scanned (its ID and mobile numbers masked), not withheld: it is a read of the
    field like any shown one, and the entry names it."""
    import yaml

    from hub.catalog.masking_policies import MaskingPolicy
    from hub.catalog.registry import CATALOG_DIR

    shipped = MaskingPolicy.from_mapping(
        yaml.safe_load((CATALOG_DIR / "masking_policy.yaml").read_text(encoding="utf-8"))
    )
    gate = Disclosure(Caller(Role.BANK, company_code(9)))
    gate.use_masking(shipped, 1)
    gate.grant(OTHER, "full")
    shown, withheld = gate.record_fields(PENALTY, "administrative_penalty", CONTENT, uscc=OTHER, owner=DEPT)
    assert shown == {"WSH": "P1", "BZ": "内部备注"} and withheld == ()
    assert gate.reads() == [Read(OTHER, ["record.administrative_penalty.BZ"], tier="full")]
