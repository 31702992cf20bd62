"""Authenticated GET /api/v1/me: p50/p95 latency in one process (SQLite, the embedded default)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from bench.common import apply_env, percentile, scratch_env

REQUESTS = 2000


def measure() -> dict:
    apply_env(scratch_env())
    from mkportal.api.app import create_api
    from mkportal.migrate import upgrade
    from mkportal.services import auth
    from mkportal.services.tokens import create_token
    from mkportal.services.users import create_user

    upgrade()
    create_user("bench@example.test", "bench-password-1", org="Bench")
    actor = auth.session_actor(auth.login("bench@example.test", "bench-password-1").token)
    token, _ = create_token(actor, "bench")
    client = TestClient(create_api())
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(50):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    timings = []
    for _ in range(REQUESTS):
        t = time.perf_counter()
        r = client.get("/api/v1/me", headers=headers)
        timings.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    return {
        "me_requests": REQUESTS,
        "me_p50_ms": round(percentile(timings, 50), 2),
        "me_p95_ms": round(percentile(timings, 95), 2),
    }


if __name__ == "__main__":
    print(measure())
