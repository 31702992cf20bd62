"""Browser tests: one portal started with the README's `make run` script, driven by Chromium.

The portal runs on a free port with its own var dir (SQLite, in-process worker, sandbox
provider), exactly as a newcomer runs it. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
# The portal shares 2 cores with its worker, Prometheus and the browser: give assertions
# room beyond the 5 s default (they still pass as soon as the page is right).
expect.set_options(timeout=15_000)
DEMO_PASSWORD = "demo-password"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Start `scripts/run.sh` and wait for /login to answer 200.

    With E2E_BASE_URL and E2E_VAR set, use that already running portal instead (for
    iterating on tests; CI never sets them).
    """
    if os.environ.get("E2E_BASE_URL"):
        yield {
            "url": os.environ["E2E_BASE_URL"],
            "var": Path(os.environ["E2E_VAR"]),
            "env": {**os.environ, "MKPORTAL_VAR": os.environ["E2E_VAR"]},
        }
        return
    port = _free_port()
    var = tmp_path_factory.mktemp("portal") / "var"
    env = {
        **os.environ,
        "PORT": str(port),
        "MKPORTAL_VAR": str(var),
        "SANDBOX_API_PORT": str(_free_port()),
        "SANDBOX_CLUSTER_DELAY": "2",
        "TICK_INTERVAL": "2",
        "SWEEP_INTERVAL": "1",
        "SANDBOX_NODE_DELAY": "1",
        "PROMETHEUS_PORT": str(_free_port()),
        "ALERTMANAGER_PORT": str(_free_port()),
        "METRICS_SCRAPE_INTERVAL": "1s",
        "ALARM_INTERVAL": "2",
    }
    for name in ("DATABASE_URL", "REDIS_URL", "REFLEX_REDIS_URL", "SMTP_URL", "SECRET_KEY"):
        env.pop(name, None)
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / "portal.log").open("w")
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "run.sh")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 420
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the portal exited ({proc.returncode}); see {log.name}")
            try:
                if httpx.get(f"{base}/login", follow_redirects=True, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the portal did not answer within 7 minutes; see {log.name}")
            time.sleep(1)
        yield {"url": base, "var": var, "env": env}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context per test; a screenshot is kept when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    yield pg
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        pg.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001
    """Remember each phase's report on the test item (for the failure screenshot)."""
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


def mkportal_cli(portal: dict, *args: str) -> str:
    """Run the `mkportal` CLI against the portal's database; return its stdout."""
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "mkportal"), *args],
        cwd=ROOT,
        env=portal["env"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def sign_in(page: Page, portal: dict, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the login form and wait for the first signed-in page."""
    page.goto(f"{portal['url']}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("user-email")).to_have_text(email)


def sandbox_cluster(portal: dict, email: str, prefix: str, *, nodes: int = 1) -> dict:
    """Create a running Demo Org sandbox cluster through the API as `email`.

    Returns {"id", "name", "token"} (the token is an API token of `email`).
    """
    from tests.e2e.test_clusters import _api_cluster

    token = mkportal_cli(portal, "tokens", "create", "--email", email)
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "region": "ch-gva-2", "version": "1.35",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": nodes}]}  # fmt: skip
    return {"id": _api_cluster(portal, token, body), "name": name, "token": token}


def shot(page: Page, name: str) -> None:
    """Keep a full-page screenshot in test-artifacts/."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
