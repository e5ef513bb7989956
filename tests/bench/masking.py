"""Benchmark: what masking adds to an archive page, in process, against the role rules alone.

A page is 20 penalty records (the catalogue's penalty type, a company party, free text of ordinary
length; one record in four names a person's mobile and ID number in its free text), ruled by a fresh
gate per page as a request does. Baseline, same run: the public caller under the role rules alone (what
the gate did before masking policies: public fields only, no scan). Measured: the public caller under
the shipped masking policy (the same fields, plus the free-text scan), and a bank reading under a
masked-tier grant (personal fields masked by their rules, free text scanned). The database is not
involved: the one statement `Disclosure.prepare` adds per request is in the entity_lookup benchmark.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from hub.auth.caller import Caller, Role
from hub.catalog.masking_policies import MaskingPolicy
from hub.catalog.record_types import load_bundled
from hub.disclosure.gate import Disclosure
from hub.entities.codes import make_uscc

POLICY = MaskingPolicy.from_mapping(
    yaml.safe_load((Path(__file__).parents[2] / "hub/catalog/masking_policy.yaml").read_text("utf-8"))
)
ENTITY = make_uscc("9", "1", "230102", "M0000001")
DEPT = make_uscc("1", "1", "230100", "00000002")
PAGE = 20


def page() -> list[dict[str, Any]]:
    records = []
    for i in range(PAGE):
        named = i % 4 == 0
        records.append(
            {
                "XDR_MC": "哈尔滨示例科技有限公司",
                "XDR_LB": "法人及非法人组织",
                "XDR_SHXYM": ENTITY,
                "FRDB": "张三",
                "FR_ZJLX": "身份证",
                "FR_ZJHM": "440524188001010014",
                "WSH": f"哈市监罚〔2026〕{i}号",
                "WFXW": "未按规定公示年度报告",
                "SY": "经查，当事人未按规定公示年度报告，经责令限期改正，逾期仍未改正。"
                + ("联系人电话13912345678，身份证号440524188001010014。" if named else ""),
                "YJ": "《企业信息公示暂行条例》第十八条",
                "CFLB": ["罚款"],
                "NR": "罚款人民币五千元",
                "NR_FK": "0.5",
                "JDRQ": "2026-11-20",
                "CFJG": "市市场监督管理局",
                "CFJGDM": DEPT,
                "SJLY": "市市场监督管理局",
                "SJLYDM": DEPT,
                "BZ": "无",
            }
        )
    return records


def _time(make_gate: Any, pages: int) -> float:
    """Seconds per page."""
    definition = load_bundled()["administrative_penalty"]
    records = page()
    started = time.perf_counter()
    for _ in range(pages):
        gate = make_gate()
        for content in records:
            gate.record_fields(definition, "administrative_penalty", content, uscc=ENTITY, owner=DEPT)
        gate.report()
    return (time.perf_counter() - started) / pages


def _masked(caller: Caller, tier: str | None = None) -> Disclosure:
    gate = Disclosure(caller)
    gate.use_masking(POLICY, 1)
    if tier is not None:
        gate.grant(ENTITY, tier)
    return gate


def run(pages: int = 3_000) -> dict[str, Any]:
    public, bank = Caller(Role.PUBLIC, None), Caller(Role.BANK, make_uscc("9", "1", "230100", "B0000001"))
    _time(lambda: Disclosure(public), 200)  # warm up
    baseline = _time(lambda: Disclosure(public), pages)
    masked_public = _time(lambda: _masked(public), pages)
    masked_bank = _time(lambda: _masked(bank, "masked"), pages)
    return {
        "records_per_page": PAGE,
        "pages": pages,
        "role_rules_us_per_page": baseline * 1e6,
        "public_masking_us_per_page": masked_public * 1e6,
        "bank_masked_tier_us_per_page": masked_bank * 1e6,
        "public_ratio": masked_public / baseline,
        "bank_ratio": masked_bank / baseline,
    }


def report(r: dict[str, Any]) -> list[str]:
    return [
        f"masking, {r['pages']:,} pages of {r['records_per_page']} penalty records, in process:",
        f"  role rules alone (public, before masking): {r['role_rules_us_per_page']:.0f} µs/page",
        f"  public under the masking policy (free-text scan): {r['public_masking_us_per_page']:.0f} µs/page"
        f" = {r['public_ratio']:.2f}× the role rules",
        f"  bank, masked-tier grant (masks + scan): {r['bank_masked_tier_us_per_page']:.0f} µs/page"
        f" = {r['bank_ratio']:.2f}× the role rules",
    ]


if __name__ == "__main__":
    print("\n".join(report(run())))
