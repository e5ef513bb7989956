"""The role policy, cell by cell, against a hand-kept table of who sees which record fields and archives."""

from __future__ import annotations

import pytest

from hub.auth.caller import Caller, Role
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import ROLE_POLICY, Decision, Item, Ruling, Subject
from tests.conftest import company_code, gov_code

ENTITY = company_code(7)
OTHER_ENTITY = company_code(8)
DEPT = gov_code(20)
OTHER_DEPT = gov_code(21)

CALLERS = {
    "public": Caller(Role.PUBLIC, None),
    "entity itself": Caller(Role.ENTITY, ENTITY),
    "another entity": Caller(Role.ENTITY, OTHER_ENTITY),
    "producing department": Caller(Role.DEPARTMENT, DEPT),
    "other department": Caller(Role.DEPARTMENT, OTHER_DEPT),
    "province": Caller(Role.PROVINCE, gov_code(22)),
    "credit office": Caller(Role.CREDIT_OFFICE, gov_code(23)),
    "bank": Caller(Role.BANK, company_code(9)),
    "association": Caller(Role.ASSOCIATION, company_code(10)),
}
S, W = Decision.SHOWN, Decision.WITHHELD
# caller → (public field, restricted field, personal field, field unknown to the catalogue, archive scope)
TABLE = {
    "public": (S, W, W, W, "public"),
    "entity itself": (S, S, S, S, "full"),
    "another entity": (S, W, W, W, "public"),
    "producing department": (S, S, S, S, "current"),
    "other department": (S, W, W, W, "current"),
    "province": (S, S, S, S, "full"),
    "credit office": (S, S, S, S, "full"),
    "bank": (S, W, W, W, "public"),
    "association": (S, W, W, W, "public"),
}


@pytest.mark.parametrize("who", sorted(TABLE))
def test_record_fields_and_archive_scope(who: str) -> None:
    caller = CALLERS[who]
    *fields, scope = TABLE[who]
    for sensitivity, expected in zip(("public", "restricted", "personal", None), fields, strict=True):
        subject = Subject(uscc=ENTITY, owner=DEPT, sensitivity=sensitivity)
        assert ROLE_POLICY.rule(caller, Item.RECORD, "XDR_ZJHM", subject).decision is expected, sensitivity
    assert Disclosure(caller).archive_scope(ENTITY) == scope


def test_inspector_names_are_masked_except_for_the_planning_department_and_the_office() -> None:
    expected = {"producing department": "张三", "credit office": "张三"}
    for who, caller in CALLERS.items():
        name = Disclosure(caller).text(Item.INSPECTOR, "name", "张三", Subject(owner=DEPT))
        assert name == expected.get(who, "张*"), who


def test_the_gate_reports_each_withheld_field_once_with_a_count() -> None:
    """Fields of a record type the catalogue does not know are withheld (their sensitivity is unknown)."""
    definition = None
    gate = Disclosure(CALLERS["public"])
    for _ in range(3):
        shown, withheld = gate.record_fields(definition, "t", {"A": 1, "B": 2}, uscc=ENTITY, owner=DEPT)
        assert shown == {} and withheld == ("A", "B")
    report = gate.report()
    assert [(e["field"], e["count"], e["decision"]) for e in report] == [
        ("A", 3, "withheld"),
        ("B", 3, "withheld"),
    ]


class _TierEcho:
    """A policy that answers with the tier it was given, to show what the gate hands on."""

    def rule(self, caller, item, field, subject):
        return Ruling(Decision.MASKED, f"tier {subject.tier}", rule="first_character")


def test_a_grant_gives_its_tier_to_every_ruling_about_that_entity_only():
    gate = Disclosure(Caller(Role.BANK, "91110000MA00000001"), _TierEcho())
    assert gate.ruling(Item.SUPERVISION, "*", Subject(uscc="A")).reason == "tier None"
    gate.grant("A", "masked")
    assert gate.ruling(Item.SUPERVISION, "*", Subject(uscc="A")).reason == "tier masked"
    assert gate.ruling(Item.SUPERVISION, "*", Subject(uscc="B")).reason == "tier None"
    assert gate.tier("A") == "masked" and gate.tier("B") is None
