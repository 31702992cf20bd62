"""`make run`, once set up: seconds from the command to the first 200 on /login."""

from __future__ import annotations

import time

import httpx

from bench.common import OUT, ROOT, free_port, scratch_env, spawn, stop, wait_for


def measure() -> dict:
    port = free_port()
    env = scratch_env(PORT=str(port))
    started = time.perf_counter()
    proc = spawn(["make", "run"], env, OUT / "startup.log")

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError("make run exited; see bench/out/startup.log")
        try:
            return (
                httpx.get(
                    f"http://127.0.0.1:{port}/login", follow_redirects=True, timeout=2
                ).status_code
                == 200
            )
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, 600, "/login", every=0.1)
        seconds = time.perf_counter() - started
    finally:
        stop(proc)
    return {"make_run_to_first_login_200_s": round(seconds, 1), "cwd": str(ROOT)}


if __name__ == "__main__":
    print(measure())
