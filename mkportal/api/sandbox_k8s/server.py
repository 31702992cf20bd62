"""The HTTPS listener of the sandbox clusters' Kubernetes API.

It runs beside the portal (a Reflex lifespan task, or `start()` in tests) on
SANDBOX_API_PORT with a certificate from the sandbox CA. With several backend workers
the first one to bind the port serves it.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from mkportal.api.sandbox_k8s.routes import router
from mkportal.services.sandbox_tls import tls_files
from mkportal.settings import get_settings

log = logging.getLogger(__name__)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def start(port: int | None = None, host: str = "127.0.0.1") -> uvicorn.Server | None:
    """Serve the sandbox API over HTTPS in a background thread; None when the port is taken."""
    port = get_settings().sandbox_api_port if port is None else port
    if not port or not _port_free(host, port):
        log.info("sandbox API port %s is disabled or already served", port)
        return None
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(router)
    files = tls_files()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            ssl_certfile=str(files.cert),
            ssl_keyfile=str(files.key),
            log_level="warning",
        )
    )
    threading.Thread(target=server.run, daemon=True, name="sandbox-k8s-api").start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server


@contextlib.asynccontextmanager
async def sandbox_api():  # noqa: ANN201
    """Reflex lifespan task: run the listener while the portal runs."""
    server = start()
    try:
        yield
    finally:
        if server is not None:
            server.should_exit = True
