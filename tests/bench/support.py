"""What every benchmark shares: its own fresh database, a department with a token, the penalty file."""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import service as auth
from hub.auth.caller import Role
from hub.db import make_engine
from hub.entities.codes import make_resident_id, make_uscc
from hub.settings import Settings
from tests.databases import Roles, make_roles

BENCH_DATABASE = "hub_bench"
# The department of the smoke test: market regulation (its penalties follow SAMR Order 107).
DEPT_CODE = make_uscc("1", "1", "230100", "00000002")
DEPT_NAME = "市市场监督管理局"

COLUMNS = (
    "XDR_MC",
    "XDR_LB",
    "XDR_SHXYM",
    "WSH",
    "WFXW",
    "SY",
    "YJ",
    "CFLB",
    "NR",
    "NR_FK",
    "JDRQ",
    "CFJG",
    "CFJGDM",
    "SJLY",
    "SJLYDM",
    # The legal representative: personal fields, sealed at rest (issue 9), so the bench encrypts.
    "FRDB",
    "FR_ZJLX",
    "FR_ZJHM",
)
_VIOLATIONS = (
    ("未按规定公示年度报告", "《企业信息公示暂行条例》第八条", "警告"),
    ("销售不符合食品安全标准的食品", "《中华人民共和国食品安全法》第一百二十四条", "罚款;责令停产停业"),
    ("虚假宣传", "《中华人民共和国反不正当竞争法》第二十条", "罚款"),
    ("无照经营", "《无证无照经营查处办法》第十三条", "罚款;警告"),
    ("未按规定标明价格", "《中华人民共和国价格法》第四十二条", "警告;罚款"),
)
_DISTRICTS = ("230102", "230103", "230104", "230108", "230109", "230110", "230111", "230112")
# Legal representatives' resident IDs (GB 11643), a pool the rows take turns with.
_REPRESENTATIVES = tuple(
    make_resident_id(
        _DISTRICTS[i % len(_DISTRICTS)], dt.date(1960 + i % 40, 1 + i % 12, 1 + i % 28), i % 999 + 1
    )
    for i in range(997)
)
_SURNAMES = "王李张刘陈杨赵黄周吴"


def bench_settings() -> Settings:
    # A million-row upload runs for minutes, past the default request timeout of an API call.
    return Settings(request_timeout_seconds=3600)


def bench_rows(default: int = 1_000_000) -> int:
    return int(os.environ.get("BENCH_ROWS", default))


# By server (the settings that name it): a soak scenario runs a PostgreSQL of its own beside the suite's.
_roles: dict[tuple[str, str], Roles] = {}


async def bench_roles(settings: Settings) -> Roles:
    """hub_bench_owner and hub_bench_server, as in production (made once per process and server)."""
    key = (settings.database_url.get_secret_value(), str(settings.data_dir))
    if key not in _roles:
        _roles[key] = await make_roles(settings, BENCH_DATABASE)
    return _roles[key]


async def fresh_database(settings: Settings, name: str = BENCH_DATABASE) -> URL:
    """Drop and create `name`, migrate it as its owner and load the bundled policy; never the dev or
    test database. The URL is the server role's, as the hub serves."""
    roles = await bench_roles(settings)
    await roles.create_database(name)
    return roles.server_url(name)


def owner_of(url: URL) -> URL:
    """The database of `url` (a fresh_database) as its owner: the benchmarks' set-up and baselines
    (TRUNCATE, VACUUM, tables of their own), never the hub's path."""
    assert url.database, "fresh_database made it"
    [roles] = [r for r in _roles.values() if r.server_url(url.database) == url]
    return roles.owner_url(url.database)


async def drop_database(settings: Settings, name: str) -> None:
    await (await bench_roles(settings)).drop_database(name)


@dataclass(frozen=True)
class Department:
    code: str
    token: str


async def department(url: URL) -> Department:
    """The pushing department and a fresh bearer token for it (registered once per database)."""
    engine = make_engine(url, pool_size=1)
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        if (await auth.organisations(session, [DEPT_CODE]))[0] is None:
            await auth.register_organisation(
                session, DEPT_CODE, DEPT_NAME, Role.DEPARTMENT, "market_regulation"
            )
        issued = await auth.issue_token(session, DEPT_CODE, "bench", 1, by="bench")
        await session.flush()
    await engine.dispose()
    return Department(DEPT_CODE, issued.secret)


def company(serial: int) -> str:
    """A distinct, valid enterprise USCC per serial (up to 10**8 of them)."""
    return make_uscc("9", "1", _DISTRICTS[serial % len(_DISTRICTS)], f"{serial:08d}")


def penalty_rows(rows: int, dept: str, companies: int | None = None) -> Iterator[tuple[str, ...]]:
    """Valid penalty rows decided within the last 60 days: one distinct company each, or `companies`
    companies taking turns."""
    today = dt.date.today()
    companies = companies or rows
    dates = [(today - dt.timedelta(days=d)).isoformat() for d in range(60)]
    for i in range(rows):
        violation, basis, categories = _VIOLATIONS[i % len(_VIOLATIONS)]
        fine = "" if categories == "警告" else f"{(i % 500 + 1) / 10:g}"
        yield (
            f"哈尔滨市某某商贸有限公司{i}",
            "法人及非法人组织",
            company(i % companies),
            f"哈市监罚〔2026〕{i}号",
            violation,
            f"经查，当事人于检查中被发现{violation}，违法事实清楚，证据确凿（案件{i}）。",
            basis,
            categories,
            f"{categories.replace(';', '、')}，罚款金额见罚款栏",
            fine,
            dates[i % len(dates)],
            DEPT_NAME,
            dept,
            DEPT_NAME,
            dept,
            f"{_SURNAMES[i % len(_SURNAMES)]}某{i % 1000}",
            "身份证",
            _REPRESENTATIVES[i % len(_REPRESENTATIVES)],
        )


def write_penalty_csv(path: Path, rows: int, dept: str, companies: int | None = None) -> int:
    """Writes the file (csv.writer in C, ~1 s per 400k rows); returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(penalty_rows(rows, dept, companies))
    return path.stat().st_size
