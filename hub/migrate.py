"""Alembic driven from code, so no alembic.ini is needed and the URL comes from settings.

Migrations run as the owner of the hub's schema and give the server role exactly what the server
does with each table (`grant_server`): a table that no migration grants is out of the server's reach.
"""

from __future__ import annotations

import re

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy.engine import URL

from hub.settings import get_settings

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# What the server may be given on a table; never TRUNCATE, REFERENCES, TRIGGER or ownership.
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")


def alembic_config(url: URL | None = None, server_role: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(get_settings().migrations_dir))
    if url is not None:
        cfg.attributes["url"] = url
    if server_role is not None:
        cfg.attributes["server_role"] = server_role
    return cfg


def upgrade(url: URL | None = None, revision: str = "head", server_role: str | None = None) -> None:
    """`server_role`: the role to grant to (default HUB_SERVER_ROLE)."""
    command.upgrade(alembic_config(url, server_role), revision)


def downgrade(url: URL | None = None, revision: str = "base", server_role: str | None = None) -> None:
    command.downgrade(alembic_config(url, server_role), revision)


def check(url: URL | None = None) -> None:
    """Raise when the models and the migrations disagree (alembic check)."""
    command.check(alembic_config(url))


# ---- for the revisions under migrations/versions ---------------------------------------------------


def server_role() -> str:
    """The role this migration run grants to: upgrade(server_role=…), else HUB_SERVER_ROLE (both a
    plain lower-case identifier: Settings checks it, and so does this)."""
    role = str(context.config.attributes.get("server_role") or get_settings().server_role)
    if not ROLE_NAME.fullmatch(role):
        raise ValueError(f"not a plain lower-case role name: {role!r}")
    return role


def grant_server(table: str, *privileges: str) -> None:
    """Give the server role exactly `privileges` on `table` (anything it had before is revoked), and
    USAGE on the table's own sequences (serial and identity columns) when it may INSERT.

    Every migration that creates a table calls this, with what the code does with it and no more:
    an append-only table gets SELECT, INSERT. tests/grants.yaml lists the expected rights of every
    table by hand, and the suite runs the app as the server role, so a missing or extra grant fails."""
    unknown = set(privileges) - set(TABLE_PRIVILEGES)
    if unknown:
        raise ValueError(f"not a privilege the server may have: {sorted(unknown)}")
    role = server_role()
    op.execute(f'REVOKE ALL ON TABLE "{table}" FROM {role}')
    if privileges:
        op.execute(f'GRANT {", ".join(privileges)} ON TABLE "{table}" TO {role}')
    change = (
        f"GRANT USAGE ON SEQUENCE %s TO {role}"
        if "INSERT" in privileges
        else f"REVOKE ALL ON SEQUENCE %s FROM {role}"
    )
    op.execute(
        f"""
        DO $$ DECLARE s regclass; BEGIN
          FOR s IN SELECT d.objid::regclass FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
                   WHERE d.classid = 'pg_class'::regclass AND d.refobjid = '"{table}"'::regclass
                     AND d.deptype IN ('a', 'i') AND c.relkind = 'S'
          LOOP
            EXECUTE format('{change}', s);
          END LOOP;
        END $$
        """
    )
