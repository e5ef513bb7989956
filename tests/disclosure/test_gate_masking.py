"""The gate with a masking policy on the other ways out: messages, entity fields, keyed hashes with the
request's keys, and a policy that knows no masking (WithholdAll) staying as it is."""

from __future__ import annotations

import copy
import hashlib
import hmac

from hub.auth.caller import Caller, Role
from hub.catalog.masking_policies import MaskingPolicy
from hub.catalog.record_types import load_bundled
from hub.disclosure.gate import Disclosure
from hub.disclosure.policy import Item, Subject, WithholdAll
from tests.conftest import company_code, gov_code
from tests.disclosure.test_masking_policy import SHIPPED

ENTITY, DEPT = company_code(81), gov_code(81)
ID_NUMBER = "11010519491231002X"


async def test_a_message_to_a_third_party_has_its_numbers_masked(session) -> None:
    message = f"XDR_ZJHM {ID_NUMBER} does not match 13812345678"
    public = Disclosure(Caller(Role.PUBLIC, None))
    await public.prepare(session)
    assert (
        public.message(message, Subject(uscc=ENTITY))
        == "XDR_ZJHM 110105********002X does not match 138****5678"
    )
    # The department that sent the input reads its own message as it is.
    sender = Disclosure(Caller(Role.DEPARTMENT, DEPT))
    await sender.prepare(session)
    assert sender.message(message, Subject(owner=DEPT)) == message


async def test_a_keyed_hash_uses_the_requests_keys(keys) -> None:
    body = copy.deepcopy(SHIPPED)
    body["decisions"].insert(
        0,
        {
            "roles": ["bank"],
            "tiers": ["masked"],
            "fields": ["XDR_ZJHM"],
            "decision": "masked",
            "rule": "pseudonym",
            "reason": "pseudonym for linking",
        },
    )
    gate = Disclosure(Caller(Role.BANK, company_code(82)), keys=keys)
    gate.use_masking(MaskingPolicy.from_mapping(body), 2)
    gate.grant(ENTITY, "masked")
    content = {"XDR_LB": "自然人", "XDR_ZJHM": ID_NUMBER}
    fields, _ = gate.record_fields(
        load_bundled()["administrative_penalty"], "administrative_penalty", content, uscc=ENTITY, owner=DEPT
    )
    expected = hmac.new(keys.key("masking-keyed-hash"), ID_NUMBER.encode(), hashlib.sha256).hexdigest()[:16]
    assert fields["XDR_ZJHM"] == expected


async def test_a_policy_without_masking_stays_as_it_is(session) -> None:
    gate = Disclosure(Caller(Role.BANK, company_code(82)), WithholdAll())
    await gate.prepare(session)
    assert gate.masking is None
    assert gate.text(Item.ENTITY, "name", "哈尔滨示例科技有限公司", Subject(uscc=ENTITY)) is None
