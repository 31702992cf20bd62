"""With 10,000 clusters in the database: GET /api/v1/clusters p50/p95 (paginated) and the
/clusters page load time in Chromium, against the portal started by `make run`'s script."""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from datetime import timedelta

import httpx

from bench.common import (
    BIN,
    OUT,
    ROOT,
    apply_env,
    cluster_row,
    free_port,
    percentile,
    pool_row,
    scratch_env,
    spawn,
    stop,
    wait_for,
)

CLUSTERS = 10_000
API_REQUESTS = 200
PAGE_LOADS = 10
EMAIL = "member@demo.mkportal.local"


def _seed(env: dict) -> None:
    for args in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(
            [str(BIN / "mkportal"), *args], env=env, cwd=ROOT, check=True, capture_output=True
        )
    apply_env(env)
    from sqlalchemy import insert
    from sqlmodel import select

    from mkportal.db import session_scope
    from mkportal.models.base import new_id, utcnow
    from mkportal.models.cluster import Cluster, NodePool
    from mkportal.models.org import Membership, User

    with session_scope() as s:
        user = s.exec(select(User).where(User.email == EMAIL)).one()
        org_id = s.exec(select(Membership.org_id).where(Membership.user_id == user.id)).first()
        now = utcnow()
        clusters, pools = [], []
        for i in range(CLUSTERS):
            cid = new_id()
            clusters.append(
                cluster_row(
                    cid,
                    org_id,
                    f"bench-{i:05d}",
                    EMAIL,
                    now - timedelta(seconds=CLUSTERS - i),
                    now,
                )
            )
            pools.append(pool_row(cid, "default", "s-2", 2))
        s.execute(insert(Cluster), clusters)
        s.execute(insert(NodePool), pools)


def measure() -> dict:
    port = free_port()
    # The synthetic clusters have no sandbox resources: keep the sync tick away from them.
    env = scratch_env(PORT=str(port), BASE_URL=f"http://127.0.0.1:{port}", TICK_INTERVAL="86400")
    _seed(env)
    token = subprocess.run(
        [str(BIN / "mkportal"), "tokens", "create", "--email", EMAIL],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    proc = spawn([str(ROOT / "scripts" / "run.sh")], env, OUT / "cluster_list.log")
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return (
                    httpx.get(f"{base}/login", follow_redirects=True, timeout=2).status_code == 200
                )
            except httpx.HTTPError:
                return False

        wait_for(up, 600, "the portal", every=0.5)
        api = []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            assert c.get("/api/v1/clusters").json()["total"] == CLUSTERS
            for _ in range(API_REQUESTS):
                page = random.randint(1, CLUSTERS // 25)
                t = time.perf_counter()
                r = c.get("/api/v1/clusters", params={"page": page, "per_page": 25})
                api.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200 and len(r.json()["items"]) == 25
        loads = _page_loads(base)
    finally:
        stop(proc)
    return {
        "clusters_in_db": CLUSTERS,
        "api_list_p50_ms": round(percentile(api, 50), 1),
        "api_list_p95_ms": round(percentile(api, 95), 1),
        "clusters_page_load_p50_ms": round(percentile(loads, 50), 0),
        "clusters_page_load_p95_ms": round(percentile(loads, 95), 0),
    }


def _page_loads(base: str) -> list[float]:
    """Sign in, then time navigations to /clusters until the first row is shown."""
    from playwright.sync_api import sync_playwright

    loads = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium")
        page = browser.new_page()
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill("demo-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("bench-09999").wait_for(timeout=60_000)
        for _ in range(PAGE_LOADS):
            page.goto("about:blank")
            t = time.perf_counter()
            page.goto(f"{base}/clusters")
            page.get_by_text("bench-09999").wait_for(timeout=60_000)
            loads.append((time.perf_counter() - t) * 1000)
        browser.close()
    return loads


if __name__ == "__main__":
    print(measure())
