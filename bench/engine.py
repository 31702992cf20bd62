"""1,000 no-op operations through the engine with 2 `mkportal worker` processes, against
1,000 raw huey tasks with 2 `huey_consumer` processes on the same queue backend.

Two set-ups: the embedded default (SQLite database, SqliteHuey) and production
(PostgreSQL, RedisHuey). Each worker process runs 2 threads in both cases.
"""

from __future__ import annotations

import importlib
import time

from bench.common import (
    BIN,
    OUT,
    REDIS_URL,
    apply_env,
    create_pg_database,
    drop_pg_database,
    scratch_env,
    spawn,
    stop,
    wait_for,
)

N = 1000
WORKERS = 2
THREADS = 2


def _engine_run(env: dict, label: str) -> float:
    apply_env(env)
    from sqlalchemy import func
    from sqlmodel import select

    from mkportal.db import session_scope
    from mkportal.migrate import upgrade
    from mkportal.models.operation import Operation
    from mkportal.services import auth, operations
    from mkportal.services.users import create_user

    upgrade()
    create_user("bench@example.test", "bench-password-1", org="Bench")
    actor = auth.session_actor(auth.login("bench@example.test", "bench-password-1").token)
    for _ in range(N):
        operations.request(actor, "noop", params={"steps": 1, "sleep": 0})

    def done() -> bool:
        with session_scope() as s:
            return (
                s.exec(
                    select(func.count())
                    .select_from(Operation)
                    .where(Operation.status == "succeeded")
                ).one()
                >= N
            )

    started = time.perf_counter()
    procs = [
        spawn(
            [str(BIN / "mkportal"), "worker"],
            {**env, "WORKER_ID": f"w{i}"},
            OUT / f"{label}-w{i}.log",
        )
        for i in range(WORKERS)
    ]
    try:
        wait_for(done, 900, f"{N} operations", every=0.1)
        return time.perf_counter() - started
    finally:
        for p in procs:
            stop(p)


def _raw_run(env: dict, label: str) -> float:
    apply_env(env)
    import bench.raw_huey as raw

    raw = importlib.reload(raw)
    raw.huey.flush()
    for i in range(N):
        raw.nothing(i)
    started = time.perf_counter()
    procs = [
        spawn(
            [
                str(BIN / "huey_consumer"),
                "bench.raw_huey.huey",
                "-w",
                str(THREADS),
                "-k",
                "thread",
                "-d",
                "0.01",
                "-q",
            ],
            env,
            OUT / f"{label}-raw{i}.log",
        )
        for i in range(WORKERS)
    ]
    try:
        wait_for(lambda: len(raw.huey.all_results()) >= N, 900, f"{N} raw tasks", every=0.1)
        return time.perf_counter() - started
    finally:
        for p in procs:
            stop(p)


def _pair(env: dict, label: str) -> dict:
    engine_s = _engine_run(env, label)
    raw_s = _raw_run(env, label)
    return {
        f"{label}_engine_ops_per_s": round(N / engine_s, 1),
        f"{label}_raw_huey_tasks_per_s": round(N / raw_s, 1),
        f"{label}_engine_to_raw_ratio": round(raw_s / engine_s, 3),
    }


def measure() -> dict:
    common = {"WORKER_THREADS": str(THREADS), "SWEEP_INTERVAL": "5"}
    results = _pair(scratch_env(**common), "sqlite")
    pg = create_pg_database()
    try:
        results |= _pair(scratch_env(DATABASE_URL=pg, REDIS_URL=REDIS_URL, **common), "redis_pg")
    finally:
        from mkportal.db import reset_engine

        reset_engine()
        drop_pg_database(pg)
    return results


if __name__ == "__main__":
    print(measure())
