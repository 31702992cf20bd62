"""The migrations and the rules that depend on the database, on PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from alembic import command
from mkportal.migrate import alembic_config, upgrade
from mkportal.services import operations
from mkportal.services.clusters import actions
from mkportal.services.errors import Conflict
from tests.conftest import make_two_orgs
from tests.unit.test_clusters import _req, _run

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_orgs(pg_db: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("SANDBOX_CLUSTER_DELAY", "0")
    monkeypatch.setenv("SANDBOX_NODE_DELAY", "0")
    monkeypatch.setenv("PROVIDER_INLINE_WAIT", "5")
    return make_two_orgs()


def test_migrations_go_down_and_up_and_match_the_models(pg_url: str):
    cfg = alembic_config()
    upgrade()
    command.downgrade(cfg, "base")
    upgrade()
    command.check(cfg)


def test_concurrent_requests_with_one_idempotency_key_make_one_operation(pg_orgs):
    actor = pg_orgs["acme_member"]

    def request(_: int) -> str:
        op, _created = operations.request(
            actor, "noop", params={"steps": 1}, idempotency_key="same-key"
        )
        return op.id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(request, range(16)))
    assert len(ids) == 1
    assert operations.list_operations(actor).total == 1


def test_concurrent_creates_of_one_name_make_one_cluster(pg_orgs):
    actor = pg_orgs["acme_member"]

    def create(_: int) -> str:
        try:
            return actions.create_cluster(actor, _req(name="dup"))[0].id
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(create, range(6)))
    assert len({r for r in results if r != "conflict"}) == 1
    assert results.count("conflict") == 5


def test_a_cluster_is_created_scaled_and_deleted_on_postgres(pg_orgs):
    actor = pg_orgs["acme_member"]
    cluster, op, _ = actions.create_cluster(actor, _req(name="pg"))
    assert _run(op.id) == "succeeded"
    assert actions.get_cluster(actor, cluster.id).status == "running"
    other = pg_orgs["globex_owner"]
    assert actions.list_clusters(other).total == 0
    _, op = actions.delete_cluster(actor, cluster.id, confirm_name="pg")
    assert _run(op.id) == "succeeded"
