"""Sign-in for API clients (session tokens) and sign-out."""

from fastapi import APIRouter, Depends, Request

from mkportal.api.deps import bearer, client_ip, current_actor
from mkportal.api.schemas import LoginBody
from mkportal.services import auth

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login")
def login(body: LoginBody, request: Request) -> dict:
    """Exchange email and password for a session token (429 after repeated failures)."""
    signed = auth.login(
        body.email,
        body.password,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    return {"token": signed.token, "user_id": signed.user_id, "org_id": signed.org_id}


@router.post("/logout", status_code=204, dependencies=[Depends(current_actor)])
def logout(request: Request) -> None:
    """End the session whose token is sent (API tokens are revoked under /tokens)."""
    auth.logout(bearer(request), ip=client_ip(request))
