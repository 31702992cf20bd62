"""Request dependencies: the caller's Actor from the bearer token."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from mkportal.services import auth, tokens
from mkportal.services.actor import Actor
from mkportal.services.errors import Unauthenticated


def client_ip(request: Request) -> str:
    """Return the caller's address (the direct peer; proxies are not trusted)."""
    return request.client.host if request.client else ""


def bearer(request: Request) -> str | None:
    """Return the bearer token of the request, if any."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def current_actor(request: Request) -> Actor:
    """Authenticate the request: an API token (``mkp_``) or a session token (``mks_``).

    Raises:
        Unauthenticated: No valid token.

    """
    token = bearer(request)
    ip = client_ip(request)
    if token is None:
        raise Unauthenticated("Send an API token as 'Authorization: Bearer <token>'.")
    if token.startswith("mks_"):
        return await run_in_threadpool(auth.session_actor, token, ip=ip)
    return await run_in_threadpool(tokens.token_actor, token, ip=ip)
