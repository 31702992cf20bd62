"""The cluster metrics dashboard over 7 days: server time of the service call and the time
Chromium takes from choosing "7 d" on the Metrics tab until the charts are drawn.

Seeds the demo organisation with a sandbox cluster (4 nodes in 2 pools, started 8 days
ago), backfills 7.5 days of its simulated series (every 2 minutes, from
`services/metrics/simulate.py`) into a Prometheus TSDB with `promtool tsdb
create-blocks-from openmetrics`, runs Prometheus on it with the portal's production config,
and starts the portal with `make run`'s script pointed at that Prometheus.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.common import (
    BIN,
    OUT,
    ROOT,
    apply_env,
    free_port,
    percentile,
    scratch_env,
    spawn,
    stop,
    wait_for,
)

EMAIL = "member@demo.mkportal.local"
BACKFILL_DAYS = 7.5
BACKFILL_STEP = timedelta(minutes=2)
SERVICE_RUNS = 10
PAGE_RUNS = 8


def _seed(env: dict) -> str:
    for args in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(
            [str(BIN / "mkportal"), *args], env=env, cwd=ROOT, check=True, capture_output=True
        )
    apply_env(env)
    from sqlmodel import select

    from mkportal.db import session_scope
    from mkportal.models.cluster import Cluster
    from mkportal.models.org import Membership, User
    from mkportal.models.sandbox import SandboxCluster, SandboxNode

    started = datetime.now(UTC) - timedelta(days=8)
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == EMAIL)).one()
        org_id = s.exec(select(Membership.org_id).where(Membership.user_id == user.id)).first()
        sb = SandboxCluster(request_token="bench-metrics", name="bench-metrics",
                            region="ch-gva-2", version="1.35", status="running",
                            ready_at=started, created_at=started)  # fmt: skip
        s.add(sb)
        s.flush()
        cluster = Cluster(org_id=org_id, name="bench-metrics", provider="sandbox",
                          region="ch-gva-2", version="1.35", current_version="1.35",
                          status="running", provider_ref=sb.ref, created_at=started)  # fmt: skip
        s.add(cluster)
        for pool in ("default", "batch"):
            for i in range(2):
                s.add(SandboxNode(ref=sb.ref, pool=pool, name=f"bench-{pool}-{i}",
                                  machine_type="s-2", status="ready", ready_at=started))  # fmt: skip
        s.flush()
        return cluster.id


def _openmetrics(path: Path, end: datetime, target: str) -> int:
    """Write the simulated series from end - 7.5 d to end; return the sample count.

    Series carry the `job` and `instance` labels the live scrape of `target` adds, so the
    backfilled and the scraped samples are the same series.
    """
    from mkportal.db import session_scope
    from mkportal.services.metrics import catalog, simulate

    at = end - timedelta(days=BACKFILL_DAYS)
    count = 0
    with path.open("w") as out, session_scope() as s:
        while at <= end:
            ts = f"{at.timestamp():.3f}"
            for fam in simulate.collect(s, at):
                for suffix, labels, value in fam.samples:
                    plain = ",".join(f'{k}="{v}"' for k, v in labels.items())
                    body = f'{plain},job="mkportal",instance="{target}"'
                    out.write(f"{fam.name}{suffix}{{{body}}} {value!r} {ts}\n")
                    count += 1
                    if fam.name == catalog.APISERVER_UP:
                        out.write(f"{catalog.SLI_AVAILABLE}{{{plain}}} {value!r} {ts}\n")
                        count += 1
            at += BACKFILL_STEP
        s.rollback()
        out.write("# EOF\n")
    return count


def _prometheus(work: Path, port: int, portal_port: int) -> tuple[subprocess.Popen, dict]:
    from mkportal.services.metrics import backend
    from mkportal.settings import get_settings

    base = f"http://127.0.0.1:{portal_port}"
    cfg = backend.StackConfig(
        scrape_url=f"{base}{backend.SCRAPE_PATH}",
        scrape_token=get_settings().metrics_token,
        webhook_url=f"{base}{backend.WEBHOOK_PATH}",
        webhook_secret="bench",
        alertmanager_addr=f"127.0.0.1:{free_port()}",
        base_url=base,
    )
    paths = backend.write_configs(work, cfg)
    return spawn(backend.prometheus_command(paths, port), {}, work / "prometheus.log"), paths


def _service_times(cluster_id: str) -> list[float]:
    from mkportal.services import auth
    from mkportal.services.metrics import dashboard

    actor = auth.session_actor(auth.login(EMAIL, "demo-password").token)
    board = dashboard.cluster_dashboard(actor, cluster_id, "7d")
    assert board.health.nodes_total == 4, board.health
    assert all(ch.series for ch in board.charts), [ch.key for ch in board.charts if not ch.series]
    times = []
    for _ in range(SERVICE_RUNS):
        t = time.perf_counter()
        dashboard.cluster_dashboard(actor, cluster_id, "7d")
        times.append((time.perf_counter() - t) * 1000)
    return times


def _page_times(base: str, cluster_id: str) -> list[float]:
    from playwright.sync_api import expect, sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill("demo-password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("user-email")).to_have_text(EMAIL)
        page.goto(f"{base}/clusters/{cluster_id}")
        page.get_by_role("tab", name="Metrics").click()
        expect(page.get_by_test_id("metrics-tile")).to_have_count(6)
        week, hour = page.get_by_role("button", name="7 d"), page.get_by_role("button", name="1 h")
        for _ in range(PAGE_RUNS):
            hour.click()
            expect(hour).to_have_attribute("aria-pressed", "true")
            t = time.perf_counter()
            week.click()
            expect(week).to_have_attribute("aria-pressed", "true")
            for chart in ("chart-cpu", "chart-memory", "chart-requests", "chart-errors",
                          "chart-latency", "chart-pods"):  # fmt: skip
                expect(page.get_by_test_id(chart).locator(".main-svg").first).to_be_visible()
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(null)))")
            times.append((time.perf_counter() - t) * 1000)
        page.screenshot(path=str(OUT / "metrics_dashboard.png"), full_page=True)
        browser.close()
    return times


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, follow_redirects=True, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def measure() -> dict:
    port, prom_port = free_port(), free_port()
    env = scratch_env(
        PORT=str(port),
        BASE_URL=f"http://127.0.0.1:{port}",
        TICK_INTERVAL="86400",
        PROMETHEUS_URL=f"http://127.0.0.1:{prom_port}",
        ALERTMANAGER_URL=f"http://127.0.0.1:{free_port()}",
    )
    cluster_id = _seed(env)
    work = Path(env["MKPORTAL_VAR"]).parent / "prom"
    work.mkdir(parents=True)
    t = time.perf_counter()
    end = datetime.now(UTC) - timedelta(minutes=1)
    samples = _openmetrics(work / "backfill.om", end, f"127.0.0.1:{port}")
    generate_s = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h",
         str(work / "backfill.om"), str(work / "prometheus-data")],
        check=True, capture_output=True,
    )  # fmt: skip
    promtool_s = time.perf_counter() - t
    (work / "backfill.om").unlink()
    prom_proc, _paths = _prometheus(work, prom_port, port)
    portal = None
    try:
        wait_for(lambda: _ready(f"http://127.0.0.1:{prom_port}/-/ready"), 120, "prometheus", 0.5)
        service = _service_times(cluster_id)
        portal = spawn([str(ROOT / "scripts" / "run.sh")], env, OUT / "metrics_dashboard.log")
        base = f"http://127.0.0.1:{port}"

        wait_for(lambda: _ready(f"{base}/login"), 600, "the portal", every=0.5)
        page = _page_times(base, cluster_id)
    finally:
        if portal is not None:
            stop(portal)
        stop(prom_proc)
    return {
        "backfill_days": BACKFILL_DAYS,
        "backfill_samples": samples,
        "backfill_generate_s": round(generate_s, 1),
        "backfill_promtool_s": round(promtool_s, 1),
        "dashboard_7d_service_p50_ms": round(percentile(service, 50), 0),
        "dashboard_7d_service_p95_ms": round(percentile(service, 95), 0),
        "dashboard_7d_page_switch_render_p50_ms": round(percentile(page, 50), 0),
        "dashboard_7d_page_switch_render_p95_ms": round(percentile(page, 95), 0),
    }


if __name__ == "__main__":
    print(measure())
