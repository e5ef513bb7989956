"""The `credit-hub` command line against the test database, as a real second process."""

from __future__ import annotations

import os
import subprocess
import sys

from sqlalchemy.engine import URL

from hub.entities.codes import make_uscc
from tests.databases import Roles
from tests.live import free_port


def run(url: URL, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`credit-hub *args` against `url`; `settings`: more HUB_… variables."""
    env = {**os.environ, "HUB_DATABASE_URL": url.render_as_string(hide_password=False), **settings}
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_org_add_token_issue_and_revoke(test_url: URL, engine) -> None:
    code = make_uscc("1", "1", "230100", "C7000001")
    added = run(test_url, "org", "add", code, "CLI测试局", "department")
    assert added.returncode == 0, added.stderr
    assert f"registered {code}" in added.stdout
    again = run(test_url, "org", "add", code, "CLI测试局", "department")
    assert again.returncode == 2 and "ALREADY_EXISTS" in again.stderr

    issued = run(test_url, "token", "issue", code, "--label", "cli test", "--days", "7")
    assert issued.returncode == 0, issued.stderr
    header, secret = issued.stdout.strip().splitlines()
    assert secret.startswith("chub_") and len(secret) > 40
    token_id = header.split()[1]

    revoked = run(test_url, "token", "revoke", token_id)
    assert revoked.returncode == 0 and f"token {token_id} revoked" in revoked.stdout
    twice = run(test_url, "token", "revoke", token_id)
    assert twice.returncode == 2 and "ALREADY_REVOKED" in twice.stderr


async def test_bad_code_is_refused_with_the_reason(test_url: URL, engine) -> None:
    result = run(test_url, "org", "add", "91230102MA1B2C3D0Z", "坏码", "bank")
    assert result.returncode == 2
    assert "USCC_" in result.stderr and "position" in result.stderr


def test_production_refuses_development_secrets() -> None:
    env = {**os.environ, "HUB_ENVIRONMENT": "production", "HUB_DATABASE_URL": "postgresql://x@127.0.0.1/x"}
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "schema"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "HUB_MASTER_KEY" in result.stderr


def _production(**env: str) -> dict[str, str]:
    return {**os.environ, "HUB_ENVIRONMENT": "production", "HUB_MASTER_KEY": "k" * 40, **env}


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def test_migrate_runs_as_the_owner_and_stores_the_catalogue(roles: Roles, test_database: str) -> None:
    owner = roles.owner_url(test_database).render_as_string(hide_password=False)
    done = _cli(_production(HUB_MIGRATION_DATABASE_URL=owner, HUB_SERVER_ROLE=roles.server), "migrate")
    assert done.returncode == 0, done.stderr
    assert "database at head" in done.stdout


async def test_migrate_as_the_server_role_fails(roles: Roles, test_database: str) -> None:
    server = roles.server_url(test_database).render_as_string(hide_password=False)
    refused = _cli(_production(HUB_MIGRATION_DATABASE_URL=server, HUB_SERVER_ROLE=roles.server), "migrate")
    assert refused.returncode != 0 and "permission denied for table alembic_version" in refused.stderr


def test_production_migrates_only_with_the_owners_url() -> None:
    refused = _cli(_production(HUB_DATABASE_URL="postgresql://x@127.0.0.1/x"), "migrate")
    assert refused.returncode != 0 and "HUB_MIGRATION_DATABASE_URL must name" in refused.stderr


async def test_production_refuses_to_serve_as_the_owner(roles: Roles, test_database: str) -> None:
    owner = roles.owner_url(test_database).render_as_string(hide_password=False)
    refused = _cli(_production(HUB_DATABASE_URL=owner), "serve", "--port", str(free_port()))
    assert refused.returncode != 0
    assert (
        "the server's database role may create schemas in the database; may create tables in the schema; owns"
        in (refused.stderr)
    )
