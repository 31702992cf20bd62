"""Shared fixtures: an isolated var dir and a migrated database per test.

By default tests run on SQLite in a temporary directory. Tests marked `postgres` get a
fresh PostgreSQL database on 127.0.0.1:5432 instead (see `pg_url`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from mkportal.db import reset_engine
from mkportal.settings import get_settings
from mkportal.worker.queue import reset_queue

PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reset() -> None:
    get_settings.cache_clear()
    reset_engine()
    reset_queue()


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh var dir, with settings and caches reset around the test."""
    monkeypatch.setenv("MKPORTAL_VAR", str(tmp_path / "var"))
    for name in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "SECRET_KEY", "REFLEX_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RETRY_BASE_SECONDS", "0.05")
    monkeypatch.setenv("LEASE_SECONDS", "5")
    _reset()
    yield tmp_path / "var"
    _reset()


def create_pg_database() -> str:
    """Create an empty PostgreSQL database and return its URL."""
    name = f"mkportal_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    """Drop a database made by `create_pg_database`."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh PostgreSQL database, set as DATABASE_URL for the test."""
    url = create_pg_database()
    monkeypatch.setenv("DATABASE_URL", url)
    _reset()
    yield url
    _reset()
    drop_pg_database(url)


@pytest.fixture
def db(var_dir: Path) -> Path:
    """A migrated SQLite database in the test's var dir."""
    from mkportal.migrate import upgrade

    upgrade()
    return var_dir


@pytest.fixture
def pg_db(pg_url: str) -> str:
    """A migrated PostgreSQL database."""
    from mkportal.migrate import upgrade

    upgrade()
    return pg_url


@pytest.fixture
def two_orgs(db: Path) -> dict:
    """Two organisations with an owner, a member and a viewer each, and an operator."""
    return make_two_orgs()


def make_two_orgs() -> dict:
    """Create orgs "Acme" and "Globex" with users; return their actors keyed by name."""
    from sqlmodel import select

    from mkportal.db import session_scope
    from mkportal.models.org import Membership, Role, User
    from mkportal.services.auth import actor_for
    from mkportal.services.users import create_user

    people = {
        "acme_owner": ("owner@acme.test", "Acme", Role.owner, False),
        "acme_member": ("member@acme.test", "Acme", Role.member, False),
        "acme_viewer": ("viewer@acme.test", "Acme", Role.viewer, False),
        "globex_owner": ("owner@globex.test", "Globex", Role.owner, False),
        "operator": ("ops@vshn.test", None, Role.owner, True),
    }
    actors = {}
    for email, org, role, operator in people.values():
        create_user(email, PASSWORD, org=org, role=role, operator=operator)
    with session_scope() as s:
        for key, (email, *_rest) in people.items():
            user = s.exec(select(User).where(User.email == email)).one()
            org_id = s.exec(select(Membership.org_id).where(Membership.user_id == user.id)).first()
            actors[key] = actor_for(s, user, org_id, "127.0.0.1")
    return actors


PASSWORD = "correct-horse-battery"
