"""The import contracts of pyproject.toml (house rule 1) catch what they say they catch.

`make lint` runs them on the tree; here each one is run on a copy of the tree with one import
planted that crosses it, so a contract weakened by mistake (a wildcard that matches nothing, an
`ignore_imports` too wide) fails this test instead of passing everything silently.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")

# (contract id, file, planted line): each must break its contract. Kept by hand, one per rule.
VIOLATIONS = [
    ("hub-layers", "hub/entities/codes.py", "import hub.auth.caller"),  # a lower layer imports a higher
    ("hub-layers", "hub/inspections/ratios.py", "import hub.records.archive.service"),  # independent
    ("hub-layers", "hub/disclosure/service.py", "import hub.grading.service"),  # the gate above a domain
    ("hub-layers", "hub/unplaced.py", ""),  # a new package of hub/ not given a layer
    ("no-sibling-loops", "hub/catalog/values.py", "import hub.catalog.policy"),
    ("models-alone", "hub/models/base.py", "import hub.errors"),
    ("repositories-below-services", "hub/grading/repository.py", "import hub.grading.service"),
    (
        "repositories-below-services",
        "hub/records/bulk/receipt_repository.py",
        "import hub.records.bulk.receipts",
    ),
    ("schema-through-services", "schema/loaders.py", "import hub.grading.repository"),
    ("schema-below-edge", "schema/context.py", "import hub.web.caller"),
    ("graphql-at-the-edge", "hub/grading/service.py", "import strawberry"),
    ("graphql-at-the-edge", "hub/records/archive/service.py", "import graphql"),
    ("web-at-the-edge", "hub/records/archive/service.py", "import starlette.responses"),
    ("schema-and-adapters-at-the-edge", "hub/grading/service.py", "import schema.errors"),
    ("schema-and-adapters-at-the-edge", "hub/auth/service.py", "import adapters"),
    ("adapters-through-ports", "adapters/province.py", "import hub.settings"),
    ("adapters-through-ports", "adapters/province.py", "import schema.errors"),
]
# What the rules allow: planted, these keep their contract.
ALLOWED = [
    ("adapters-through-ports", "adapters/province.py", "import hub.ports"),
    ("graphql-at-the-edge", "hub/web/extra.py", "import strawberry"),
    ("hub-layers", "hub/grading/service.py", "import hub.disclosure.service"),
]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    for package in ("hub", "schema", "adapters"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def _check(tree: Path, contract: str, file: str, line: str) -> subprocess.CompletedProcess[str]:
    path = tree / file
    before = path.read_text() if path.exists() else None
    path.write_text((before or "") + line + "\n")
    try:
        return subprocess.run(
            [LINT_IMPORTS, "--no-cache", "--no-logo", "--contract", contract],
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        if before is None:
            path.unlink()
        else:
            path.write_text(before)


def test_the_unchanged_tree_keeps_every_contract(tree: Path) -> None:
    done = subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=tree, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(("contract", "file", "line"), VIOLATIONS)
def test_a_planted_violation_breaks_its_contract(tree: Path, contract: str, file: str, line: str) -> None:
    done = _check(tree, contract, file, line)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 broken" in done.stdout


@pytest.mark.parametrize(("contract", "file", "line"), ALLOWED)
def test_what_the_rules_allow_keeps_its_contract(tree: Path, contract: str, file: str, line: str) -> None:
    done = _check(tree, contract, file, line)
    assert done.returncode == 0, done.stdout + done.stderr
