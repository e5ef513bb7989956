"""tests/permissions.yaml, read and checked for shape: one row per operation, one cell per role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.auth.caller import Role

PATH = Path(__file__).with_name("permissions.yaml")
KINDS = ("query", "mutation", "subscription", "http")
ALLOWED, DENIED, OWN = "allowed", "denied", "own"
CELLS = frozenset({ALLOWED, DENIED, OWN})
_CODE = re.compile(r"^[A-Z][A-Z_]*$")


@dataclass(frozen=True, slots=True)
class Row:
    kind: str
    name: str
    cells: dict[Role, str]
    refusal: str | None  # the code another's object gets, for the `own` cells

    @property
    def admitted(self) -> frozenset[Role]:
        """Roles the operation's role rule lets through (own objects or not)."""
        return frozenset(r for r, cell in self.cells.items() if cell != DENIED)

    def roles(self, cell: str) -> list[Role]:
        return [r for r, c in self.cells.items() if c == cell]


def load(path: Path = PATH) -> list[Row]:
    document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict) and set(document) == {"roles", *KINDS}, (
        f"{path.name}: top-level keys must be roles, {', '.join(KINDS)}"
    )
    columns = [Role(name) for name in document["roles"]]
    assert sorted(columns) == sorted(Role), f"{path.name}: roles must name every role once: {list(Role)}"
    rows = []
    for kind in KINDS:
        for name, cells in (document[kind] or {}).items():
            where = f"{path.name}: {kind} {name}"
            assert isinstance(cells, list) and len(cells) == len(columns) + 1, (
                f"{where}: needs one cell per role and the refusal code"
            )
            *values, refusal = cells
            unknown = set(values) - CELLS
            assert not unknown, f"{where}: cells are allowed, denied or own, not {sorted(unknown)}"
            if OWN in values:
                assert isinstance(refusal, str) and _CODE.match(refusal), (
                    f"{where}: an `own` cell needs the refusal code (e.g. FORBIDDEN)"
                )
            else:
                assert refusal is None, f"{where}: a refusal code (~) without an `own` cell"
            rows.append(Row(kind, str(name), dict(zip(columns, values, strict=True)), refusal))
    return rows


# Rows inserted, updated or deleted so far in the test's transaction (the app's sessions join it),
# per table; a write rolled back to a savepoint still counts, so "nothing written" is strict.
_WRITES = text(
    "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables "
    "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0"
)


async def writes(connection: AsyncConnection) -> dict[str, int]:
    return {name: int(count) for name, count in (await connection.execute(_WRITES)).all()}
