"""API tokens of the caller."""

from fastapi import APIRouter, Depends

from mkportal.api.deps import current_actor
from mkportal.api.schemas import TokenBody
from mkportal.services import tokens
from mkportal.services.actor import Actor

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("")
def list_tokens(actor: Actor = Depends(current_actor)) -> list[tokens.TokenInfo]:
    """List the caller's tokens (never their secrets)."""
    return tokens.list_tokens(actor)


@router.post("", status_code=201)
def create_token(body: TokenBody, actor: Actor = Depends(current_actor)) -> dict:
    """Create a token in the caller's current organisation. The secret is shown only here."""
    plain, info = tokens.create_token(actor, body.name, expires_days=body.expires_days)
    return {"token": plain, "info": info}


@router.delete("/{token_id}", status_code=204)
def revoke_token(token_id: str, actor: Actor = Depends(current_actor)) -> None:
    """Revoke a token."""
    tokens.revoke_token(actor, token_id)
