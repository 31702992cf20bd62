"""The /billing page with 12 months of history: load time in Chromium (until the invoice
table and both charts are shown, cold and warm) and the server-side time of its load
handler and of the live refresh that rates the month.

Seeds the demo organisation with 20 running clusters (4 pools, 8 features each), an
issued invoice for each of the last 12 months (20 lines per cluster: 400 lines each),
and this month's hourly usage so far (15 records per cluster-hour), then starts the
portal with `make run`'s script.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import time
from datetime import timedelta
from decimal import Decimal

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

CLUSTERS = 20
MONTHS = 12
POOLS = ("default", "batch", "gpu", "spot")
FEATURES = (
    "ingress-controller",
    "cert-manager",
    "metrics-agent",
    "log-agent",
    "backup-agent",
    "cluster-autoscaler",
    "rwx-storage",
    "network-policy",
)
PAGE_LOADS = 10
HANDLER_RUNS = 10
EMAIL = "member@demo.mkportal.local"


def _periods(now) -> list[str]:  # noqa: ANN001
    from mkportal.services.billing.money import parse_period, previous_period

    out = [previous_period(now)]
    while len(out) < MONTHS:
        out.append(previous_period(parse_period(out[-1])[0]))
    return out


def _invoice_lines(invoice_id: str, clusters: list[tuple[str, str]]) -> list[dict]:
    from mkportal.models.base import new_id

    lines = []
    position = 0
    for cluster_id, name in clusters:
        items = [("base", "standard", "Standard base fee", Decimal(1), "month", Decimal(50))]
        items += [
            (
                "node",
                f"sandbox/s-{2 * (i + 1)}",
                f"s-{2 * (i + 1)} nodes (pool {pool})",
                Decimal(1460),
                "node-hour",
                Decimal("0.045") * (i + 1),
            )
            for i, pool in enumerate(POOLS)
        ]
        items += [
            ("feature", slug, slug, Decimal(730), "hour", Decimal("0.02")) for slug in FEATURES
        ]
        items += [
            ("load_balancer", "", "Load balancers", Decimal(1460), "LB-hour", Decimal("0.015")),
            ("storage", "", "Storage", Decimal(50), "GiB-month", Decimal("0.10")),
            (
                "node",
                "sandbox/m-8",
                "m-8 nodes (pool big)",
                Decimal(730),
                "node-hour",
                Decimal("0.24"),
            ),
            (
                "node",
                "sandbox/c-16",
                "c-16 nodes (pool huge)",
                Decimal(730),
                "node-hour",
                Decimal("0.40"),
            ),
            (
                "feature",
                "metrics-agent",
                "Metrics agent (extra)",
                Decimal(730),
                "hour",
                Decimal("0.02"),
            ),
            ("feature", "log-agent", "Log agent (extra)", Decimal(730), "hour", Decimal("0.02")),
        ]
        items.append(("surcharge", "standard", "Standard surcharge", Decimal(0), "", Decimal(0)))
        for component, sku, description, qty, unit, price in items[:20]:
            lines.append(
                {
                    "id": new_id(),
                    "invoice_id": invoice_id,
                    "position": position,
                    "cluster_id": cluster_id,
                    "cluster_name": name,
                    "component": component,
                    "sku": sku,
                    "description": description,
                    "quantity": qty,
                    "unit": unit,
                    "unit_price": price,
                    "amount": (qty * price).quantize(Decimal("0.01")),
                    "price_version": 1,
                    "stripe_item_id": "",
                }
            )
            position += 1
    return lines


def _seed(env: dict) -> dict:
    for args in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(
            [str(BIN / "mkportal"), *args], env=env, cwd=ROOT, check=True, capture_output=True
        )
    apply_env(env)
    from sqlalchemy import insert
    from sqlmodel import select

    from mkportal.db import session_scope
    from mkportal.models.base import new_id, utcnow
    from mkportal.models.billing import Invoice, InvoiceLine
    from mkportal.models.cluster import Cluster, NodePool
    from mkportal.models.org import Membership, User
    from mkportal.services.billing import metering
    from mkportal.services.billing.money import floor_hour, parse_period, period_of

    now = utcnow()
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == EMAIL)).one()
        org_id = s.exec(select(Membership.org_id).where(Membership.user_id == user.id)).first()
        created = now - timedelta(days=400)
        clusters, pools = [], []
        for i in range(CLUSTERS):
            cid = new_id()
            clusters.append(
                cluster_row(
                    cid,
                    org_id,
                    f"prod-{i:02d}",
                    EMAIL,
                    created,
                    now,
                    features=list(FEATURES),
                    feature_status={f: "ready" for f in FEATURES},
                )
            )
            for j, pool in enumerate(POOLS):
                pools.append(pool_row(cid, pool, f"s-{2 * (j + 1)}" if j < 2 else "m-4", 2))
        s.execute(insert(Cluster), clusters)
        s.execute(insert(NodePool), pools)
    names = [(c["id"], c["name"]) for c in clusters]
    numbers = []
    with session_scope() as s:
        for k, period in enumerate(_periods(now)):
            invoice_id = new_id()
            lines = _invoice_lines(invoice_id, names)
            subtotal = sum((x["amount"] for x in lines), Decimal(0))
            issued = parse_period(period)[1] + timedelta(hours=2)
            number = f"MKP-{period}-0001"
            numbers.append(number)
            s.add(
                Invoice(
                    id=invoice_id,
                    org_id=org_id,
                    period=period,
                    number=number,
                    status="sent" if k == 0 else "paid",
                    subtotal=subtotal,
                    total=subtotal,
                    price_versions=[1],
                    finalized_at=issued,
                    sent_at=issued,
                    emailed_at=issued,
                    paid_at=None if k == 0 else issued + timedelta(days=10),
                )
            )
            s.flush()
            s.execute(insert(InvoiceLine), lines)
    start, _ = parse_period(period_of(now))
    hours = int((floor_hour(now) - start).total_seconds() // 3600)
    rows = []
    for cid, _name in names:
        items = [("cluster", "standard", "", 1)]
        items += [("node", f"sandbox/{p['machine_type']}", p["name"], 2) for p in pools[:4]]
        items += [("feature", f, "", 1) for f in FEATURES]
        items += [("load_balancer", "", "", 2), ("storage", "", "", 50)]
        for h in range(hours):
            for component, sku, pool, qty in items:
                rows.append(
                    {
                        "org_id": org_id,
                        "cluster_id": cid,
                        "hour": start + timedelta(hours=h),
                        "service_level": "standard",
                        "component": component,
                        "sku": sku,
                        "pool": pool,
                        "quantity": qty,
                    }
                )
    with session_scope() as s:
        metering.insert_ignore(s, rows)
    return {"latest": numbers[0], "usage_rows": len(rows), "hours": hours}


def _handler_times(seeded: dict) -> dict:
    """Time BillingState.load, the live refresh and the service calls, in this process."""
    import reflex as rx

    from mkportal.services import auth
    from mkportal.services.billing import estimate, invoices, price_admin, reports
    from mkportal.state.billing import BillingState

    token = auth.login(EMAIL, "demo-password").token
    actor = auth.session_actor(token)
    root = rx.State(_reflex_internal_init=True)
    state = root.get_substate(BillingState.get_full_name().split(".")[1:])
    state.session_token = token
    BillingState.load.fn(state)
    assert state.invoices[0]["number"] == seeded["latest"], state.invoices[:1]
    state._apply(state._fetch(token, state.live_key))
    assert state.usage_rows > 0 and state.history, (state.usage_rows, state.history)
    totals = []
    for _ in range(HANDLER_RUNS):
        t = time.perf_counter()
        BillingState.load.fn(state)
        totals.append((time.perf_counter() - t) * 1000)
    fetch_first, fetch_again = [], []
    for _ in range(HANDLER_RUNS):
        state._history_key = ""
        t = time.perf_counter()
        data = state._fetch(token, state.live_key)
        state._apply(data)
        fetch_first.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        state._apply(state._fetch(token, state.live_key))
        fetch_again.append((time.perf_counter() - t) * 1000)
    parts = {
        "live_first_fetch_p50_ms": round(percentile(fetch_first, 50), 1),
        "live_first_fetch_p95_ms": round(percentile(fetch_first, 95), 1),
        "live_refresh_p50_ms": round(percentile(fetch_again, 50), 1),
        "live_refresh_p95_ms": round(percentile(fetch_again, 95), 1),
    }
    for name, call in (
        ("running_estimate", lambda: estimate.running_estimate(actor)),
        ("monthly_totals", lambda: reports.monthly_totals(actor, months=12)),
        ("usage_breakdown_last_month", lambda: reports.usage_breakdown(actor, _periods_of())),
        ("list_invoices", lambda: invoices.list_invoices(actor, per_page=12)),
        ("price_list", lambda: price_admin.price_list(actor)),
    ):
        runs = []
        for _ in range(5):
            t = time.perf_counter()
            call()
            runs.append((time.perf_counter() - t) * 1000)
        parts[f"handler_{name}_ms"] = round(statistics.median(runs), 1)
    out = {
        "handler_load_p50_ms": round(percentile(totals, 50), 1),
        "handler_load_p95_ms": round(percentile(totals, 95), 1),
        **parts,
    }
    return out


def _periods_of() -> str:
    from mkportal.models.base import utcnow

    return _periods(utcnow())[0]


def _page_loads(base: str, latest: str) -> tuple[list[float], list[float], list[float]]:
    """Time /billing until the invoices and both charts show.

    Cold: a new browser context each time (signed in, but a new Reflex state, so the
    month is rated and the history read before the charts show). Warm: the same tab
    navigating back (the state still holds the last figures while they refresh).
    """
    from playwright.sync_api import sync_playwright

    cold, cold_table, warm = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium")
        viewport = {"width": 1400, "height": 900}
        page = browser.new_page(viewport=viewport)

        def wait_shown(pg) -> float:  # noqa: ANN001
            pg.get_by_test_id("invoice-list").get_by_text(latest).wait_for(timeout=60_000)
            table_at = time.perf_counter()
            pg.locator("[data-testid=history-chart] .main-svg").first.wait_for(timeout=60_000)
            pg.locator("[data-testid=usage-chart] .main-svg").first.wait_for(timeout=60_000)
            return table_at

        page.goto(f"{base}/login")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill("demo-password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_test_id("user-email").wait_for(timeout=60_000)
        page.goto(f"{base}/billing")
        wait_shown(page)
        signed_in = page.context.storage_state()
        for _ in range(PAGE_LOADS):
            page.goto("about:blank")
            t = time.perf_counter()
            page.goto(f"{base}/billing")
            wait_shown(page)
            warm.append((time.perf_counter() - t) * 1000)
        page.screenshot(path=str(OUT / "billing_page.png"), full_page=True)
        page.close()
        for _ in range(PAGE_LOADS):
            context = browser.new_context(viewport=viewport, storage_state=signed_in)
            fresh = context.new_page()
            t = time.perf_counter()
            fresh.goto(f"{base}/billing")
            table_at = wait_shown(fresh)
            cold.append((time.perf_counter() - t) * 1000)
            cold_table.append((table_at - t) * 1000)
            context.close()
        browser.close()
    return cold, cold_table, warm


def measure() -> dict:
    port = free_port()
    # A long tick keeps the scheduled jobs (metering, billing runs) out of the timings.
    env = scratch_env(PORT=str(port), BASE_URL=f"http://127.0.0.1:{port}", TICK_INTERVAL="86400")
    t = time.perf_counter()
    seeded = _seed(env)
    seed_s = time.perf_counter() - t
    proc = spawn([str(ROOT / "scripts" / "run.sh")], env, OUT / "billing_page.log")
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
        cold, cold_table, warm = _page_loads(base, seeded["latest"])
        handler = _handler_times(seeded)
    finally:
        stop(proc)
    return {
        "clusters": CLUSTERS,
        "invoices": MONTHS,
        "invoice_lines": MONTHS * CLUSTERS * 20,
        "usage_rows_this_month": seeded["usage_rows"],
        "seed_s": round(seed_s, 1),
        "billing_page_cold_load_p50_ms": round(percentile(cold, 50), 0),
        "billing_page_cold_load_p95_ms": round(percentile(cold, 95), 0),
        "billing_page_cold_invoices_shown_p50_ms": round(percentile(cold_table, 50), 0),
        "billing_page_warm_load_p50_ms": round(percentile(warm, 50), 0),
        "billing_page_warm_load_p95_ms": round(percentile(warm, 95), 0),
        **handler,
    }


if __name__ == "__main__":
    print(measure())
