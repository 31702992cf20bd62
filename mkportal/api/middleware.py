"""ASGI middleware for the API paths: body size limit and request metrics."""

from __future__ import annotations

import json
import os
import socket
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIXES = ("/api/", "/healthz", "/metrics")

REQUESTS = Counter("mkportal_http_requests_total", "API requests", ["method", "route", "status"])
LATENCY = Histogram(
    "mkportal_http_request_seconds",
    "API request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


HOSTNAME = socket.gethostname()


class _TooLarge(Exception):  # noqa: N818
    pass


def _json(status: int, detail: str) -> tuple[Message, Message]:
    body = json.dumps({"detail": detail}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class ApiGuard:
    """Limits request bodies on API paths (413) and records request counts and latency."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._reject(send, status)
            self._observe(scope, status["code"], started)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (b"x-served-by", f"{HOSTNAME}:{os.getpid()}".encode()),
                    ],
                }
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            await self._reject(send, status)
        finally:
            self._observe(scope, status["code"], started)

    async def _reject(self, send: Send, status: dict) -> None:
        start, body = _json(413, f"The request body is larger than {self.max_body} bytes.")
        status["code"] = 413
        await send(start)
        await send(body)

    @staticmethod
    def _observe(scope: Scope, code: int, started: float) -> None:
        name = getattr(scope.get("route"), "path", None) or "unmatched"
        if scope["path"].startswith("/api/v1/") and name.startswith("/"):
            name = "/api/v1" + name.removeprefix("/api/v1")
        REQUESTS.labels(scope["method"], name, str(code)).inc()
        LATENCY.labels(scope["method"], name).observe(time.perf_counter() - started)
