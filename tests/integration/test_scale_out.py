"""Processes together on PostgreSQL and Redis: SIGKILL resume, and two backends + two workers.

These spawn real `mkportal worker` processes and a Reflex backend with two workers, as a
production deployment would run them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.operation import Operation, OperationLog
from mkportal.services import operations, tokens
from tests.conftest import REDIS_URL, _reset, make_two_orgs

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"


@pytest.fixture
def cluster_env(pg_db: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """PostgreSQL + Redis settings shared by this process and the spawned ones."""
    settings = {
        "DATABASE_URL": pg_db,
        "REDIS_URL": REDIS_URL,
        "QUEUE_NAME": f"mkportal-test-{uuid.uuid4().hex[:8]}",
        "LEASE_SECONDS": "2",
        "SWEEP_INTERVAL": "0.5",
        "WORKER_THREADS": "2",
        "SECRET_KEY": "scale-out-test-secret-key",
    }
    for k, v in settings.items():
        monkeypatch.setenv(k, v)
    _reset()
    return {**os.environ, **settings, "PYTHONPATH": str(ROOT)}


@pytest.fixture
def pg_orgs(cluster_env: dict) -> dict:
    """The two test organisations, on PostgreSQL."""
    return make_two_orgs()


def _spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _worker(env: dict, name: str, tmp: Path) -> subprocess.Popen:
    return _spawn(
        [str(BIN / "mkportal"), "worker"], {**env, "WORKER_ID": name}, tmp / f"{name}.log"
    )


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def _op(op_id: str) -> Operation:
    with session_scope() as s:
        return s.get(Operation, op_id)


def _log(op_id: str) -> list[str]:
    with session_scope() as s:
        return list(
            s.exec(
                select(OperationLog.message)
                .where(OperationLog.operation_id == op_id)
                .order_by(OperationLog.id)
            )
        )


def test_a_sigkilled_worker_is_resumed_by_another_exactly_once(pg_orgs, cluster_env, tmp_path):
    op, _ = operations.request(pg_orgs["acme_member"], "noop", params={"steps": 4, "sleep": 1.5})
    first = _worker(cluster_env, "worker-a", tmp_path)
    try:
        _wait(lambda: _op(op.id).step >= 1, 60, "worker-a to finish step 1")
    finally:
        _stop(first, signal.SIGKILL)
    killed_at = _op(op.id)
    assert killed_at.status == "running"
    assert killed_at.executed_by == "worker-a"

    second = _worker(cluster_env, "worker-b", tmp_path)
    try:
        _wait(lambda: _op(op.id).status == "succeeded", 90, "worker-b to finish the operation")
    finally:
        _stop(second)
    done = _op(op.id)
    assert done.executed_by == "worker-b"
    assert done.result["steps_done"] == [0, 1, 2, 3]
    lines = _log(op.id)
    assert lines.count("Succeeded.") == 1
    assert [line.split(" (")[0] for line in lines if line.startswith("Claimed by")] == [
        "Claimed by worker-a",
        "Claimed by worker-b",
    ]
    for step in (1, 2, 3, 4):
        runs = sum(1 for line in lines if line.startswith(f"Step {step}/4"))
        assert runs == (2 if step == killed_at.step + 1 else 1), lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_backends_and_two_workers_spread_work_and_never_run_twice(
    pg_orgs, cluster_env, tmp_path
):
    backend_env = {
        **cluster_env,
        "REFLEX_REDIS_URL": REDIS_URL.rsplit("/", 1)[0] + "/14",
        "GRANIAN_WORKERS": "1",
        "WORKER_IN_PROCESS": "false",
        "SANDBOX_API_PORT": "0",
        "REFLEX_USE_NPM": "1",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }
    ports = [_free_port(), _free_port()]
    while ports[1] == ports[0]:
        ports[1] = _free_port()
    backends: list[subprocess.Popen] = []
    workers = [_worker(cluster_env, f"worker-{n}", tmp_path) for n in ("a", "b")]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:

        def up(base: str) -> bool:
            for b in backends:
                assert b.poll() is None, "a backend exited; see its log in " + str(tmp_path)
            try:
                return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        # One after the other: `reflex run` clears the shared .states/ directory on start.
        for port, base in zip(ports, bases, strict=True):
            backends.append(
                _spawn(
                    [
                        *(str(BIN / "reflex"), "run", "--env", "prod", "--backend-only"),
                        *("--backend-port", str(port), "--backend-host", "127.0.0.1"),
                    ],
                    backend_env,
                    tmp_path / f"backend-{port}.log",
                )
            )
            _wait(lambda base=base: up(base), 240, f"{base} to answer /healthz")
        token, _ = tokens.create_token(pg_orgs["acme_member"], "scale-out")
        headers = {"Authorization": f"Bearer {token}"}

        def post(i: int) -> httpx.Response:
            with httpx.Client(base_url=bases[i % 2], headers=headers, timeout=30) as c:
                return c.post(
                    "/api/v1/operations",
                    json={"kind": "noop", "params": {"steps": 2, "sleep": 0.05}},
                    headers={"Idempotency-Key": f"key-{i % 61}"},
                )

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(post, range(120)))
        assert all(r.status_code == 202 for r in responses), [
            (r.status_code, r.text) for r in responses if r.status_code != 202
        ][:3]
        served_by = Counter(r.headers["x-served-by"] for r in responses)
        assert len(served_by) == 2, served_by
        ids = {r.json()["operation"]["id"] for r in responses}
        assert len(ids) == 61
        for i in range(61):
            same = {r.json()["operation"]["id"] for r in responses[i::61]}
            assert len(same) == 1

        def all_done() -> bool:
            with session_scope() as s:
                return all(s.get(Operation, i).status == "succeeded" for i in ids)

        _wait(all_done, 120, "all operations to succeed")
        by_worker = Counter()
        for op_id in ids:
            lines = _log(op_id)
            claims = [line for line in lines if line.startswith("Claimed by")]
            assert len(claims) == 1, lines
            assert lines.count("Succeeded.") == 1
            by_worker[_op(op_id).executed_by] += 1
        assert set(by_worker) == {"worker-a", "worker-b"}, by_worker
    finally:
        for proc in (*workers, *backends):
            _stop(proc)
