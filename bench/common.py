"""Helpers shared by the benchmarks: processes, waiting, percentiles, a scratch environment."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
OUT = ROOT / "bench" / "out"
PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_env(**extra: str) -> dict:
    """A fresh var dir (SQLite, outbox) and settings for one benchmark."""
    var = Path(tempfile.mkdtemp(prefix="mkportal-bench-")) / "var"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "REFLEX_REDIS_URL", "SMTP_URL")
    }
    env.update(
        {
            "MKPORTAL_VAR": str(var),
            "PYTHONPATH": str(ROOT),
            "SECRET_KEY": "bench-secret-key",
            "QUEUE_NAME": f"bench-{uuid.uuid4().hex[:8]}",
            **extra,
        }
    )
    return env


def apply_env(env: dict) -> None:
    """Make this process use `env`'s settings (and forget cached engines and queues)."""
    os.environ.clear()
    os.environ.update(env)
    from mkportal.db import reset_engine
    from mkportal.settings import get_settings
    from mkportal.worker.queue import reset_queue

    get_settings.cache_clear()
    reset_engine()
    reset_queue()


def create_pg_database() -> str:
    name = f"mkportal_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(url: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def wait_for(
    predicate: Callable[[], bool], timeout: float, what: str, every: float = 0.05
) -> float:
    """Wait until `predicate()`; return the seconds it took."""
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(every)
    return time.perf_counter() - started


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) of `values`."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, int(p) - 1))]


def cluster_row(cluster_id: str, org_id: str, name: str, created_by: str, created_at, now, **spec):
    """Return a running sandbox `cluster` row for bulk inserts; `spec` overrides columns."""
    return {
        "id": cluster_id,
        "org_id": org_id,
        "name": name,
        "provider": "sandbox",
        "region": "ch-gva-2",
        "version": "1.35",
        "current_version": "1.35",
        "service_level": "standard",
        "status": "running",
        "status_reason": "",
        "features": [],
        "feature_status": {},
        "network": {},
        "endpoint": "",
        "provider_ref": "",
        "credentials_enc": "",
        "credentials_kind": "",
        "created_by": created_by,
        "created_at": created_at,
        "updated_at": now,
        **spec,
    }


def pool_row(cluster_id: str, name: str, machine_type: str, count: int) -> dict:
    """Return a ready `node_pool` row for bulk inserts."""
    return {
        "id": uuid.uuid4().hex,
        "cluster_id": cluster_id,
        "name": name,
        "machine_type": machine_type,
        "count": count,
        "observed_count": count,
        "ready_count": count,
        "status": "ready",
    }
