"""The demo data set: organisations, a token per role, and a few thousand entities with records.

Records enter through the same push service departments use, so the demo exercises the real
validation, versioning and publicity rules. Deterministic for a given seed; loading twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import service as auth
from hub.auth.caller import Caller, Role
from hub.demo_grading import load_grading_demo
from hub.entities.codes import make_resident_id, make_uscc
from hub.ports import KeyProvider
from hub.records.ingestion.service import RecordInput, push_records

DISTRICTS = {
    "230102": "道里区",
    "230103": "南岗区",
    "230104": "道外区",
    "230108": "平房区",
    "230109": "松北区",
    "230110": "香坊区",
    "230111": "呼兰区",
    "230112": "阿城区",
}
TRADES = ["科技", "商贸", "餐饮管理", "建筑工程", "物业服务", "食品", "医药", "物流", "机械制造", "环保科技"]
WORDS = [
    "龙江",
    "鑫达",
    "华泰",
    "冰城",
    "松花江",
    "北国",
    "金诚",
    "瑞丰",
    "远航",
    "兴隆",
    "天成",
    "恒信",
    "博远",
    "安泰",
    "宏图",
    "润禾",
    "聚源",
    "佳和",
    "明德",
    "长青",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"


def gov(serial: int) -> str:
    return make_uscc("1", "1", "230100", f"{serial:08d}")


DEPARTMENTS = {
    "market": (gov(11), "哈尔滨市市场监督管理局", "market_regulation"),
    "ecology": (gov(12), "哈尔滨市生态环境局", None),
    "housing": (gov(13), "哈尔滨市住房和城乡建设局", None),
    "ndrc": (gov(14), "哈尔滨市发展和改革委员会", None),
    "health": (gov(15), "哈尔滨市卫生健康委员会", None),
}
OTHERS = {
    "credit_office": (gov(10), "哈尔滨市社会信用体系建设领导小组办公室", Role.CREDIT_OFFICE),
    "province": (make_uscc("1", "1", "230000", "00000020"), "黑龙江省信用信息共享平台", Role.PROVINCE),
    "bank": (make_uscc("9", "1", "230100", "B0000001"), "示例商业银行哈尔滨分行", Role.BANK),
    "association": (make_uscc("5", "1", "230100", "A0000001"), "哈尔滨市物业管理协会", Role.ASSOCIATION),
}


class _Generator:
    def __init__(self, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)  # noqa: S311  (demo data must be reproducible, not secret)
        self.today = today

    def day(self, within_days: int = 700) -> str:
        return (self.today - dt.timedelta(days=self.rng.randint(1, within_days))).isoformat()

    def entities(self, count: int) -> list[tuple[str, str, str]]:
        """(uscc, name, category) of enterprises (91…) and individual businesses (92…)."""
        found = []
        for i in range(count):
            district = self.rng.choice(list(DISTRICTS))
            if self.rng.random() < 0.2:
                code = make_uscc("9", "2", district, f"L{i:07d}")
                name = f"{DISTRICTS[district]}{self.rng.choice(SURNAMES)}记{self.rng.choice(['饭店', '超市', '五金店', '药店'])}"
                found.append((code, name, "个体工商户"))
            else:
                code = make_uscc("9", "1", district, f"MA{i:06d}")
                name = (
                    f"哈尔滨{self.rng.choice(WORDS)}{self.rng.choice(WORDS)}{self.rng.choice(TRADES)}有限公司"
                )
                found.append((code, name, "法人及非法人组织"))
        return found

    @staticmethod
    def party(uscc: str, name: str, category: str) -> dict[str, Any]:
        return {"XDR_MC": name, "XDR_LB": category, "XDR_SHXYM": uscc}

    def licence(self, dept: tuple[str, str], party: dict[str, Any], n: int) -> dict[str, Any]:
        decided = self.day()
        end = (
            "2099-12-31"
            if self.rng.random() < 0.3
            else (dt.date.fromisoformat(decided) + dt.timedelta(days=1825)).isoformat()
        )
        return {
            **party,
            "XKWS": "准予行政许可决定书",
            "WSH": f"哈许准字〔{decided[:4]}〕{n}号",
            "XKLB": self.rng.choice(["普通", "登记", "核准"]),
            "NR": "准予许可",
            "JDRQ": decided,
            "YXQZ": decided,
            "YXQZI": end,
            "XKJG": dept[1],
            "XKJGDM": dept[0],
            "LYDW": dept[1],
            "LYDWDM": dept[0],
        }

    def penalty(self, dept: tuple[str, str], party: dict[str, Any], n: int) -> dict[str, Any]:
        categories = self.rng.choice(
            [["警告"], ["罚款"], ["罚款", "没收违法所得"], ["警告", "罚款"], ["责令停产停业"]]
        )
        record = {
            **party,
            "WSH": f"哈罚字〔{self.today.year}〕{n}号",
            "WFXW": "违反安全生产管理规定",
            "SY": "经查，当事人存在违法行为。",
            "YJ": "《中华人民共和国行政处罚法》",
            "CFLB": categories,
            "NR": "、".join(categories),
            "JDRQ": self.day(),
            "CFJG": dept[1],
            "CFJGDM": dept[0],
            "SJLY": dept[1],
            "SJLYDM": dept[0],
        }
        if "罚款" in categories:
            record["NR_FK"] = str(self.rng.choice([0.2, 0.5, 1, 2.5, 10]))
        if "没收违法所得" in categories:
            record["NR_WFFF"] = "0.8"
        return record

    def inspection(self, dept: tuple[str, str], party: dict[str, Any], n: int) -> dict[str, Any]:
        return {
            **party,
            "JCBH": f"JC{n:08d}",
            "JCLX": "双随机",
            "RWBH": f"RW{self.today.year}{n % 40:03d}",
            "JCSX": "经营资质及日常经营情况检查",
            "JCRQ": self.day(),
            "JCJL": self.rng.choice(["未发现问题", "未发现问题", "发现问题已责令改正", "合格"]),
            "JCJG": dept[1],
            "JCJGDM": dept[0],
            "LYDW": dept[1],
            "LYDWDM": dept[0],
        }

    def commitment(self, dept: tuple[str, str], party: dict[str, Any], n: int) -> dict[str, Any]:
        return {
            **party,
            "CNBH": f"CN{n:08d}",
            "CNLX": "审批替代型",
            "SPSX": "食品经营许可",
            "CNSX": "告知承诺制审批",
            "CNNR": "本单位承诺所提交材料真实有效，如有虚假愿承担相应责任。",
            "CNRQ": self.day(),
            "SLJG": dept[1],
            "SLJGDM": dept[0],
            "LYDW": dept[1],
            "LYDWDM": dept[0],
        }

    def fulfilment(self, dept: tuple[str, str], party: dict[str, Any], n: int) -> dict[str, Any]:
        status = self.rng.choice(["已履约", "已履约", "未履约"])
        record = {
            **party,
            "CNBH": f"CN{n:08d}",
            "CNLX": "审批替代型",
            "LYZT": status,
            "RDRQ": self.day(200),
            "RDJG": dept[1],
            "RDJGDM": dept[0],
            "LYDW": dept[1],
            "LYDWDM": dept[0],
        }
        if status != "已履约":
            record["WLYQK"] = "逾期未补交承诺材料"
        return record

    def complaint(self, dept: tuple[str, str], party: dict[str, Any], n: int) -> dict[str, Any]:
        return {
            **party,
            "TSBH": f"TS{n:08d}",
            "TSLX": "投诉",
            "TSQD": self.rng.choice(["12345热线", "12315平台"]),
            "SJSX": "消费者反映商品质量问题",
            "SLRQ": self.day(),
            "CLJG": self.rng.choice(["调解成功", "不属实", "属实"]),
            "BLJG": dept[1],
            "BLJGDM": dept[0],
            "LYDW": dept[1],
            "LYDWDM": dept[0],
        }

    def contract(self, dept: tuple[str, str], party: dict[str, Any], n: int) -> dict[str, Any]:
        return {
            **party,
            "HTBH": f"HT{n:08d}",
            "HTMC": "市政道路维修工程施工合同",
            "HTLX": "工程建设",
            "XFMC": "哈尔滨市城市管理局",
            "QDRQ": self.day(),
            "LYQK": self.rng.choice(["正常履约", "履约完毕"]),
            "PJRQ": self.day(100),
            "RDJG": dept[1],
            "RDJGDM": dept[0],
            "LYDW": dept[1],
            "LYDWDM": dept[0],
        }

    def honour(self, dept: tuple[str, str], party: dict[str, Any], n: int) -> dict[str, Any]:
        return {
            **party,
            "RYMC": "守合同重信用企业",
            "RYLB": "荣誉称号",
            "RYJB": self.rng.choice(["市级", "省级"]),
            "WJH": f"哈建发〔{self.today.year}〕{n}号",
            "RDRQ": self.day(),
            "RDJG": dept[1],
            "RDJGDM": dept[0],
            "LYDW": dept[1],
            "LYDWDM": dept[0],
        }

    def abnormal(self, dept: tuple[str, str], party: dict[str, Any], n: int) -> dict[str, Any]:
        return {
            **party,
            "LRYY": "未按规定报送年度报告",
            "LRWH": f"哈市监异〔{self.today.year}〕{n}号",
            "LRRQ": self.day(300),
            "ZT": "在列",
            "LRJG": dept[1],
            "LRJGDM": dept[0],
            "LYDW": dept[1],
            "LYDWDM": dept[0],
        }


# (department, record type, builder name, share of entities that get one)
PLAN: list[tuple[str, str, str, float]] = [
    ("market", "administrative_licence", "licence", 0.9),
    ("market", "administrative_penalty", "penalty", 0.12),
    ("market", "inspection_result", "inspection", 0.3),
    ("market", "abnormal_operation_list", "abnormal", 0.05),
    ("ecology", "administrative_penalty", "penalty", 0.04),
    ("housing", "contract_performance", "contract", 0.05),
    ("housing", "honour", "honour", 0.04),
    ("ndrc", "credit_commitment", "commitment", 0.15),
    ("ndrc", "commitment_fulfilment", "fulfilment", 0.1),
    ("health", "administrative_licence", "licence", 0.1),
    ("health", "complaint", "complaint", 0.05),
]


async def load_demo(
    session: AsyncSession, keys: KeyProvider, *, entities: int = 3000, seed: int = 20261125
) -> dict[str, tuple[str, str]]:
    """Load the demo set (once) and issue a fresh 30-day token per role: {role: (organisation, secret)}."""
    today = dt.date.today()
    generator = _Generator(seed, today)
    population = generator.entities(entities)
    first_time = await auth.organisations(session, [OTHERS["credit_office"][0]]) == [None]
    if first_time:
        for code, name, role in OTHERS.values():
            await auth.register_organisation(session, code, name, role)
        for code, name, domain in DEPARTMENTS.values():
            await auth.register_organisation(session, code, name, Role.DEPARTMENT, domain)
        entity_code, entity_name, _ = population[0]
        await auth.register_organisation(session, entity_code, entity_name, Role.ENTITY)
        await _push_records(session, generator, population, keys, today)
        province = OTHERS["province"]
        await load_grading_demo(
            session,
            generator.rng,
            population,
            DEPARTMENTS,
            (province[0], province[1]),
            OTHERS["credit_office"][0],
            keys,
            today,
        )

    holders: dict[str, tuple[str, str]] = {key: (code, name) for key, (code, name, _) in OTHERS.items()}
    holders["department"] = DEPARTMENTS["market"][:2]
    holders["entity"] = population[0][:2]
    tokens: dict[str, tuple[str, str]] = {}
    for holder, (code, name) in holders.items():
        issued = await auth.issue_token(session, code, f"demo {holder}", 30, by="credit-hub demo")
        tokens[holder] = (name, issued.secret)
    return tokens


async def _push_records(
    session: AsyncSession,
    generator: _Generator,
    population: list[tuple[str, str, str]],
    keys: KeyProvider,
    today: dt.date,
) -> None:
    batches: dict[str, list[RecordInput]] = defaultdict(list)
    serial = 0
    for dept_key, record_type, builder_name, share in PLAN:
        code, name, _ = DEPARTMENTS[dept_key]
        builder: Callable[..., dict[str, Any]] = getattr(generator, builder_name)
        for uscc, party_name, category in population:
            if generator.rng.random() < share:
                serial += 1
                fields = builder((code, name), generator.party(uscc, party_name, category), serial)
                batches[dept_key].append(RecordInput(record_type, f"{record_type[:4]}-{serial}", fields))
    # A few penalties on natural persons: their archive key is a pseudonym, their ID number is personal.
    market = DEPARTMENTS["market"]
    for i in range(20):
        person = make_resident_id("230102", dt.date(1970 + i, 1 + i % 12, 1 + i), 11 + 2 * i)
        party = {"XDR_MC": f"{SURNAMES[i]}某", "XDR_LB": "自然人", "XDR_ZJLX": "身份证", "XDR_ZJHM": person}
        serial += 1
        batches["market"].append(
            RecordInput(
                "administrative_penalty", f"admi-{serial}", generator.penalty(market[:2], party, serial)
            )
        )
    for dept_key, items in batches.items():
        code, name, domain = DEPARTMENTS[dept_key]
        caller = Caller(role=Role.DEPARTMENT, organisation_code=code, organisation_name=name)
        for start in range(0, len(items), 1000):
            await push_records(
                session,
                caller,
                items[start : start + 1000],
                idempotency_key=f"demo-{dept_key}-{start}",
                keys=keys,
                max_records=1000,
                authority_domain=domain,
                today=today,
            )
