"""Alarm evaluation: seconds per tick for 1,000 alarms against a real Prometheus.

A stdlib HTTP exporter serves a gauge and a counter for 20 clusters of one organisation
(plus 20 of a second one the alarms must not see); the portal's production Prometheus
config scrapes it every second. 1,000 enabled alarms (half `max(gauge)`, half
`sum(rate(counter[1m]))`, each made distinct so no query is shared, one cluster or all
clusters, thresholds so that about a third fire) are evaluated with `alarm_eval.evaluate_all` (confinement, thread-pool queries,
state machine, in-app notices on firing). Reported: the first tick (with the firing
transitions and their notices) and the median of five steady ticks, for the default pool
and a pool of 16.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlmodel import select

from bench.common import apply_env, free_port, scratch_env

ALARMS = 1000
CLUSTERS = 20
STEADY_TICKS = 5


def _exporter(orgs: dict[str, list[str]]) -> ThreadingHTTPServer:
    started = time.time()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            lines = ["# TYPE bench_gauge gauge", "# TYPE bench_requests_total counter"]
            elapsed = time.time() - started
            for org, clusters in orgs.items():
                for i, c in enumerate(clusters):
                    labels = f'org="{org}",cluster="{c}"'
                    lines.append(f"bench_gauge{{{labels}}} {i * 5}")
                    lines.append(f"bench_requests_total{{{labels}}} {elapsed * (i + 1):.3f}")
            body = ("\n".join(lines) + "\n").encode()
            self.send_response(200)
            self.send_header("content-type", "text/plain; version=0.0.4")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # noqa: ANN002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _setup() -> dict[str, list[str]]:
    from mkportal.db import session_scope
    from mkportal.migrate import upgrade
    from mkportal.models.cluster import Cluster
    from mkportal.models.metrics import Alarm
    from mkportal.models.org import Organization, Role
    from mkportal.services.users import create_user

    upgrade()
    orgs: dict[str, list[str]] = {}
    for name in ("Bench", "Other"):
        create_user(f"owner@{name.lower()}.test", "bench-password-1", org=name, role=Role.owner)
    with session_scope() as s:
        for org in s.exec(select(Organization)).all():
            rows = [
                Cluster(org_id=org.id, name=f"c{i}", provider="sandbox", region="r", version="1.35")
                for i in range(CLUSTERS)
            ]
            s.add_all(rows)
            s.flush()
            orgs[org.id] = [r.id for r in rows]
        bench_org = next(iter(orgs))
        clusters = orgs[bench_org]
        for n in range(ALARMS):
            gauge = n % 2 == 0
            s.add(
                Alarm(
                    org_id=bench_org,
                    cluster_id=clusters[n % CLUSTERS] if n % 4 else "",
                    name=f"alarm {n}",
                    query=(  # every alarm its own query: no sharing between alarms
                        f"max(bench_gauge) + 0 * {n}"
                        if gauge
                        else f"sum(rate(bench_requests_total[1m])) + 0 * {n}"
                    ),
                    comparator=">",
                    threshold=60.0 if gauge else 150.0,
                    channels=["in_app"],
                    created_by="owner@bench.test",
                )
            )
    return orgs


def measure() -> dict:
    """Run the benchmark and return its figures."""
    env = scratch_env(ALARM_INTERVAL="1")
    apply_env(env)
    orgs = _setup()
    from mkportal.services.metrics import alarm_eval, backend
    from mkportal.settings import get_settings

    server = _exporter(orgs)
    work = Path(tempfile.mkdtemp(prefix="mkportal-bench-prom-"))
    prom_port, am_port = free_port(), free_port()
    s = get_settings()
    cfg = backend.StackConfig(
        scrape_url=f"http://127.0.0.1:{server.server_port}/api/v1/metrics/scrape",
        scrape_token=s.metrics_token,
        webhook_url="http://127.0.0.1:9/hook",
        webhook_secret=s.alertmanager_secret,
        alertmanager_addr=f"127.0.0.1:{am_port}",
        base_url="http://bench.test",
        interval="1s",
        alert_for="0s",
        fast_routes=True,
    )
    sup = backend.Supervisor(backend.write_configs(work, cfg), prom_port, am_port, work)
    sup.start()
    figures: dict = {"alarms": ALARMS}
    try:
        prom_url = f"http://127.0.0.1:{prom_port}"
        backend.wait_ready(prom_url)
        apply_env({**env, "PROMETHEUS_URL": prom_url})
        from mkportal.services.metrics import prom

        deadline = time.monotonic() + 60
        while len(prom.query("rate(bench_requests_total[1m])")) < 2 * CLUSTERS:
            if time.monotonic() > deadline:
                raise TimeoutError("Prometheus did not scrape the exporter")
            time.sleep(0.5)
        started = time.perf_counter()
        counts = alarm_eval.evaluate_all()
        figures["first_tick_s (with transitions)"] = round(time.perf_counter() - started, 2)
        figures["first_tick_transitions"] = {k: v for k, v in counts.items() if k != "evaluated"}
        for pool in (alarm_eval.POOL_SIZE, 16):
            ticks = []
            for _ in range(STEADY_TICKS):
                started = time.perf_counter()
                alarm_eval.evaluate_all(pool_size=pool)
                ticks.append(time.perf_counter() - started)
            figures[f"steady_tick_s (pool {pool}, median of {STEADY_TICKS})"] = round(
                statistics.median(ticks), 2
            )
        figures["alarms_per_second (default pool)"] = round(
            ALARMS / figures[f"steady_tick_s (pool {alarm_eval.POOL_SIZE}, median of 5)"], 0
        )
    finally:
        sup.stop()
        server.shutdown()
    return figures
