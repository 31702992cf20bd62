"""Running the Alembic migrations from code (the CLI, `make run` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

from alembic import command

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    """Return the Alembic configuration of this checkout."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    return cfg


def upgrade(revision: str = "head") -> None:
    """Migrate the database of `DATABASE_URL` to `revision`."""
    command.upgrade(alembic_config(), revision)
