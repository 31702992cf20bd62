"""The caller: profile, organisations, password."""

from fastapi import APIRouter, Depends, Request

from mkportal.api.deps import bearer, current_actor
from mkportal.api.schemas import PasswordBody, ProfileBody
from mkportal.services import auth, orgs, users
from mkportal.services.actor import Actor

router = APIRouter(prefix="/me", tags=["me"])


def _me(actor: Actor) -> dict:
    profile = users.get_profile(actor)
    return {
        "id": profile.id,
        "email": profile.email,
        "name": profile.name,
        "is_operator": profile.is_operator,
        "org_id": actor.org_id,
        "role": actor.role,
        "notifications": profile.notifications,
        "orgs": orgs.list_my_orgs(actor),
    }


@router.get("")
def get_me(actor: Actor = Depends(current_actor)) -> dict:
    """Return the caller, the organisation the token acts in, and all their organisations."""
    return _me(actor)


@router.patch("")
def patch_me(body: ProfileBody, actor: Actor = Depends(current_actor)) -> dict:
    """Change the caller's name and notification preferences."""
    if body.name is not None:
        users.update_profile(actor, name=body.name)
    if body.notifications is not None:
        users.set_notifications(actor, body.notifications)
    return _me(actor)


@router.post("/password", status_code=204)
def change_password(
    body: PasswordBody, request: Request, actor: Actor = Depends(current_actor)
) -> None:
    """Change the caller's password; every other browser session ends."""
    auth.change_password(
        actor, body.current_password, body.new_password, keep_token=bearer(request) or ""
    )
