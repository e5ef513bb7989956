"""Alembic driven from code, so no alembic.ini is needed and the URL comes from settings."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

from hub.settings import get_settings


def alembic_config(url: URL | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(get_settings().migrations_dir))
    if url is not None:
        cfg.attributes["url"] = url
    return cfg


def upgrade(url: URL | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: URL | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def check(url: URL | None = None) -> None:
    """Raise when the models and the migrations disagree (alembic check)."""
    command.check(alembic_config(url))
