"""`credit-hub plan verify` on a real published plan, as a separate process, and on tampered copies."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from hub.inspections.draw import PlanPublication
from hub.inspections.publication import to_json, to_json_bytes
from tests.conftest import gql
from tests.inspections.support import DRAW, PLAN, POOL, add_pool, commit, declare, grade, own_domain


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", "plan", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


async def published_plan(client, actors) -> dict[str, Any]:
    """A drawn plan with a conflict, as the public downloads it."""
    dept = actors["department"]
    await own_domain(client, actors)
    population = await grade(client, dept, {"trustworthy": 30, "minor": 12, "general": 8, "serious": 4})
    await add_pool(client, dept, POOL)
    await declare(client, dept, "ZF001", population["serious"][0])
    plan = await commit(client, dept, [{"category": "TRUSTWORTHY", "ratio": 0.05}])
    await add_pool(client, dept, {"ZF006": "孙九"})  # after the commitment: not in the plan
    await gql(client, DRAW, {"id": plan["id"]}, dept)
    public = await gql(client, PLAN, {"id": plan["id"]})
    return dict(public["data"]["inspectionPlan"]["publication"])


async def test_a_real_published_plan_verifies(client, actors, tmp_path):
    publication = await published_plan(client, actors)
    result = verify(write(tmp_path, "plan.json", publication))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("verified")
    # The whole GraphQL answer is accepted too.
    wrapped = {"data": {"inspectionPlan": {"publication": publication}}}
    assert verify(write(tmp_path, "answer.json", wrapped)).returncode == 0


async def test_tampered_plans_are_reported(client, actors, tmp_path):
    publication = await published_plan(client, actors)
    assignment = publication["assignments"][0]
    others = [i["id"] for i in publication["inspectors"] if i["id"] not in assignment["inspectors"]]

    swapped = copy.deepcopy(publication)
    swapped["assignments"][0]["inspectors"][1] = others[0]
    result = verify(write(tmp_path, "swapped.json", swapped))
    assert result.returncode == 1
    assert assignment["uscc"] in result.stdout and "recomputed" in result.stdout

    reseeded = copy.deepcopy(publication)
    reseeded["seed"] = ("0" if publication["seed"][0] != "0" else "1") + publication["seed"][1:]
    result = verify(write(tmp_path, "seed.json", reseeded))
    assert result.returncode == 1 and "seed does not match seedCommitment" in result.stdout

    dropped = copy.deepcopy(publication)
    dropped["candidates"].pop()
    result = verify(write(tmp_path, "dropped.json", dropped))
    assert result.returncode == 1 and "candidatesHash does not match" in result.stdout

    forgotten = copy.deepcopy(publication)
    assert forgotten["inspectors"][0]["conflicts"]  # ZF001's conflict
    forgotten["inspectors"][0]["conflicts"] = []
    result = verify(write(tmp_path, "conflicts.json", forgotten))
    assert result.returncode == 1 and "inspectorsHash does not match" in result.stdout

    removed = copy.deepcopy(publication)
    removed["assignments"].pop(0)
    result = verify(write(tmp_path, "removed.json", removed))
    assert result.returncode == 1 and "not in the published assignments" in result.stdout


def test_a_file_that_is_no_publication_is_reported(tmp_path):
    result = verify(write(tmp_path, "other.json", {"hello": "world"}))
    assert result.returncode == 1 and "not a plan publication" in result.stdout
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    result = verify(broken)
    assert result.returncode == 1 and "not JSON" in result.stdout
    result = verify(tmp_path / "missing.json")
    assert result.returncode == 1 and "cannot read" in result.stdout


def test_the_fast_json_of_the_candidates_equals_the_plain_one() -> None:
    def publication(candidates: list[tuple[str, str]]) -> PlanPublication:
        return PlanPublication(
            algorithm="chub-draw-v1",
            seed="00" * 32,
            seed_commitment="c",
            candidates_hash="h",
            inspectors_hash="i",
            ratios={"minor": "0.2"},
            candidates=candidates,
            inspectors=[],
            assignments=[],
            details={"title": 'a "candidates":[] title'},
        )

    plain = [("91230102MA0000001X", "minor"), ("91230102MA0000002X", "serious")]
    odd = [("P0123456789ABCDEF0", "minor"), ('91230102MA00000"2X', "trustworthy")]  # not plain: the slow path
    for candidates in ([], plain, odd):
        canonical = "".join(f"{u},{c}\n" for u, c in candidates)
        expected = to_json(publication(candidates), {})
        assert orjson.loads(to_json_bytes(publication([]), canonical, {})) == expected
