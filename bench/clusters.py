"""Cluster provisioning figures on the sandbox with zero simulated delay.

- POST /api/v1/clusters to status running (pure portal overhead), p50/p95 over 20 runs;
- 200 concurrent creates: all succeed, no duplicates, total time to all running;
- memory per sandbox cluster: the portal process's RSS growth over a second wave of 200
  running clusters (after garbage collection), and database bytes per cluster.

The API is served by uvicorn in this process with the in-process worker, on SQLite (the
embedded default).
"""

from __future__ import annotations

import gc
import resource
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import uvicorn

from bench.common import apply_env, free_port, percentile, scratch_env, wait_for

RUNS = 20
CONCURRENT = 200


def _body(name: str) -> dict:
    return {
        "name": name,
        "region": "ch-gva-2",
        "version": "1.35",
        "node_pools": [{"name": "default", "machine_type": "s-2", "count": 2}],
    }


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure() -> dict:
    port = free_port()
    env = scratch_env(
        SANDBOX_CLUSTER_DELAY="0",
        SANDBOX_NODE_DELAY="0",
        PROVIDER_INLINE_WAIT="5",
        WORKER_THREADS="4",
        BASE_URL=f"http://127.0.0.1:{port}",
    )
    apply_env(env)
    from mkportal.api.app import create_api
    from mkportal.migrate import upgrade
    from mkportal.services import auth
    from mkportal.services.tokens import create_token
    from mkportal.services.users import create_user
    from mkportal.settings import get_settings
    from mkportal.worker.runtime import WorkerRuntime

    upgrade()
    create_user("bench@example.test", "bench-password-1", org="Bench")
    actor = auth.session_actor(auth.login("bench@example.test", "bench-password-1").token)
    token, _ = create_token(actor, "bench")
    server = uvicorn.Server(
        uvicorn.Config(create_api(), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    runtime = WorkerRuntime(embedded=True)
    runtime.start()
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    wait_for(lambda: server.started, 30, "uvicorn")

    def status(cluster_id: str) -> str:
        return client.get(f"/api/v1/clusters/{cluster_id}").json()["status"]

    try:
        latencies = []
        for _ in range(RUNS):
            started = time.perf_counter()
            r = client.post("/api/v1/clusters", json=_body(f"lat-{uuid.uuid4().hex[:8]}"))
            cid = r.json()["cluster"]["id"]
            wait_for(lambda cid=cid: status(cid) == "running", 120, "running", every=0.02)
            latencies.append(time.perf_counter() - started)

        # One shared, thread-safe client: per-request clients would each build an SSL
        # context in this process and blur the memory figure.
        shared = httpx.Client(
            base_url=client.base_url,
            headers=client.headers,
            timeout=120,
            limits=httpx.Limits(max_connections=50),
        )

        def create(name: str) -> httpx.Response:
            return shared.post(
                "/api/v1/clusters", json=_body(name), headers={"Idempotency-Key": name}
            )

        def wave(expected_running: int) -> tuple[list[httpx.Response], float]:
            names = [f"c-{i}-{uuid.uuid4().hex[:6]}" for i in range(CONCURRENT)]
            started = time.perf_counter()
            with ThreadPoolExecutor(50) as pool:
                responses = list(pool.map(create, names))

            def all_running() -> bool:
                page = client.get(
                    "/api/v1/clusters", params={"status": "running", "per_page": 1}
                ).json()
                return page["total"] >= expected_running

            wait_for(all_running, 900, "all clusters running", every=0.5)
            return responses, time.perf_counter() - started

        responses, total = wave(RUNS + CONCURRENT)
        accepted = sum(r.status_code == 202 for r in responses)
        ids = {r.json()["cluster"]["id"] for r in responses if r.status_code == 202}
        # Memory: a second wave, after the first one's transient allocations settled.
        gc.collect()
        rss_before = _rss_mib()
        db_before = Path(get_settings().var_dir, "mkportal.db").stat().st_size
        wave(RUNS + 2 * CONCURRENT)
        gc.collect()
        rss_after = _rss_mib()
        db_after = Path(get_settings().var_dir, "mkportal.db").stat().st_size
    finally:
        runtime.stop()
        server.should_exit = True
    return {
        "post_to_running_p50_s": round(percentile(latencies, 50), 3),
        "post_to_running_p95_s": round(percentile(latencies, 95), 3),
        "concurrent_creates": CONCURRENT,
        "concurrent_accepted": accepted,
        "concurrent_distinct_clusters": len(ids),
        "concurrent_total_to_all_running_s": round(total, 1),
        "rss_kib_per_extra_sandbox_cluster": round((rss_after - rss_before) * 1024 / CONCURRENT, 1),
        "db_kib_per_sandbox_cluster": round((db_after - db_before) / 1024 / CONCURRENT, 1),
    }


if __name__ == "__main__":
    print(measure())
