"""`credit-hub serve` on the embedded PostgreSQL stops it on SIGTERM and SIGINT, and a process that
died without cleaning up (SIGKILL) does not keep the server alive after the next clean exit."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.live import STOP_TIMEOUT, _wait_healthy, free_port, tool


def _postgres_of(data_dir: Path) -> list[psutil.Process]:
    """The postgres processes serving `data_dir` (their command line names the pgdata directory)."""
    pgdata = str((data_dir / "pg").resolve())
    found = []
    for process in psutil.process_iter(attrs=["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and any(pgdata in part for part in cmdline):
            found.append(process)
    return found


def _gone(data_dir: Path, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _postgres_of(data_dir):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def fresh_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh HUB_DATA_DIR, shared by this module's tests: initdb runs once."""
    return tmp_path_factory.mktemp("lifecycle") / "data"


@pytest.fixture
def data_dir(fresh_data_dir: Path) -> Iterator[Path]:
    """Whatever a failed test leaves running there is killed afterwards."""
    yield fresh_data_dir
    for process in _postgres_of(fresh_data_dir):
        process.kill()


def _serve(data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {**os.environ, "HUB_DATA_DIR": str(data_dir), "HUB_DATABASE_URL": ""}
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [tool("credit-hub"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    _wait_healthy(process, f"http://127.0.0.1:{port}", log)
    return process


def test_sigterm_stops_the_hub_and_its_embedded_postgres(data_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "hub.log"
    hub = _serve(data_dir, log)
    assert _postgres_of(data_dir), "the embedded server should be running while the hub serves"
    hub.send_signal(signal.SIGTERM)
    assert hub.wait(timeout=STOP_TIMEOUT) == 128 + signal.SIGTERM, log.read_text()
    assert _gone(data_dir), f"postgres still runs for {data_dir}:\n{log.read_text()}"


def test_after_a_killed_hub_sigint_still_stops_the_server(data_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "hub.log"
    killed = _serve(data_dir, log)
    killed.kill()  # no exit handler runs: its pid stays in the embedded server's handle list
    killed.wait(timeout=STOP_TIMEOUT)
    assert _postgres_of(data_dir), "SIGKILL leaves the server running (the premise of this test)"

    hub = _serve(data_dir, log)
    hub.send_signal(signal.SIGINT)
    # uvicorn shuts down on SIGINT as on SIGTERM, and swallows the KeyboardInterrupt: a normal exit.
    assert hub.wait(timeout=STOP_TIMEOUT) == 0, log.read_text()
    assert _gone(data_dir), f"a stale handle kept postgres running for {data_dir}:\n{log.read_text()}"


SLOW_TEST = """
import pathlib, time
from hub.db import database_url
from hub.settings import Settings

def test_waits() -> None:
    database_url(Settings())  # starts the embedded server under HUB_DATA_DIR
    pathlib.Path("{marker}").touch()
    time.sleep(60)
"""


def test_a_terminated_test_run_leaves_no_server_behind(data_dir: Path, tmp_path: Path) -> None:
    marker, test_file = tmp_path / "started", tmp_path / "test_slow.py"
    test_file.write_text(SLOW_TEST.format(marker=marker))
    log = tmp_path / "pytest.log"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "HUB_DATA_DIR": str(data_dir), "HUB_DATABASE_URL": "", "PYTHONPATH": str(root)}
    with log.open("wb") as sink:
        run = subprocess.Popen(
            [tool("pytest"), "-p", "tests.live", "-p", "no:cacheprovider", str(test_file)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert run.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=STOP_TIMEOUT)
    assert _gone(data_dir), f"the test run left postgres running for {data_dir}:\n{log.read_text()}"


def _as_superuser(data_dir: Path, sql: str) -> list[str]:
    """`sql` through psql as the embedded server's superuser, on its socket (no handle is taken, so
    the hub's exit still stops the server)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    socket_dir = (data_dir / "pg" / "postmaster.pid").read_text().splitlines()[4]
    result = subprocess.run(
        [str(POSTGRES_BIN_PATH / "psql"), "-h", socket_dir, "-U", "postgres", "-d", "hub", "-At", "-c", sql],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return sorted(result.stdout.split())


def test_make_run_migrates_as_the_owner_and_serves_as_the_server_role(data_dir: Path, tmp_path: Path) -> None:
    """What `make run` does on a fresh data directory: migrate, demo, serve, each as its role."""
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_DATABASE_URL": "",
        "HUB_MIGRATION_DATABASE_URL": "",
    }
    env.pop("HUB_SERVER_ROLE", None)
    for command in (["migrate"], ["demo", "--entities", "40"]):
        done = subprocess.run(
            [tool("credit-hub"), *command], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    log = tmp_path / "hub.log"
    hub = _serve(data_dir, log)
    try:
        port = hub.args[hub.args.index("--port") + 1]
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
        assert _as_superuser(
            data_dir, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ) == ["credit_hub_owner"]
        assert _as_superuser(
            data_dir, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'hub'"
        ) == ["credit_hub_owner"]
        connected = (
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'hub' AND pid <> pg_backend_pid()"
        )
        assert _as_superuser(data_dir, connected) == ["credit_hub_server"]
        assert "server's database role" not in log.read_text()
    finally:
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=STOP_TIMEOUT)
    assert _gone(data_dir), log.read_text()


def test_sigterm_to_make_run_leaves_no_postgres(data_dir: Path, tmp_path: Path) -> None:
    """What a process manager or `kill` does to `make run`: make passes SIGTERM on to the hub, which
    stops its embedded PostgreSQL."""
    port = free_port()
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_DATABASE_URL": "",
        "HUB_MIGRATION_DATABASE_URL": "",
        "HUB_PORT": str(port),
    }
    env.pop("HUB_SERVER_ROLE", None)
    log = tmp_path / "make-run.log"
    root = Path(__file__).resolve().parents[1]
    with log.open("wb") as sink:
        make = subprocess.Popen(
            ["make", "-s", "run"], cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        _wait_healthy(make, f"http://127.0.0.1:{port}", log)  # after migrate and the demo's data
        assert _postgres_of(data_dir)
        make.send_signal(signal.SIGTERM)
        make.wait(timeout=STOP_TIMEOUT)
    finally:
        if make.poll() is None:
            make.kill()
    assert _gone(data_dir), log.read_text()
