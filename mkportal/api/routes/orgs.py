"""Organisations, members and invitations."""

from fastapi import APIRouter, Depends

from mkportal.api.deps import current_actor
from mkportal.api.schemas import InviteBody, OrgBody, RoleBody
from mkportal.services import invitations, orgs
from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound

router = APIRouter(prefix="/orgs", tags=["organisations"])


def _acting_in(actor: Actor, org_id: str) -> None:
    """Invitations act in the token's organisation; another id is a 404."""
    if org_id != actor.org_id:
        raise NotFound("Not found.")


@router.get("")
def list_orgs(actor: Actor = Depends(current_actor)) -> list[orgs.OrgInfo]:
    """List the caller's organisations."""
    return orgs.list_my_orgs(actor)


@router.post("", status_code=201)
def create_org(body: OrgBody, actor: Actor = Depends(current_actor)) -> orgs.OrgInfo:
    """Create an organisation with the caller as owner (409 when the name is taken)."""
    return orgs.create_org(actor, body.name)


@router.get("/{org_id}")
def get_org(org_id: str, actor: Actor = Depends(current_actor)) -> orgs.OrgInfo:
    """Return an organisation of the caller's (404 for any other)."""
    return orgs.get_org(actor, org_id)


@router.get("/{org_id}/members")
def list_members(org_id: str, actor: Actor = Depends(current_actor)) -> list[orgs.MemberInfo]:
    """List the members."""
    return orgs.list_members(actor, org_id)


@router.patch("/{org_id}/members/{user_id}")
def change_role(
    org_id: str, user_id: str, body: RoleBody, actor: Actor = Depends(current_actor)
) -> orgs.MemberInfo:
    """Change a member's role (owners only)."""
    return orgs.change_role(actor, org_id, user_id, body.role)


@router.delete("/{org_id}/members/{user_id}", status_code=204)
def remove_member(org_id: str, user_id: str, actor: Actor = Depends(current_actor)) -> None:
    """Remove a member (owners; or yourself)."""
    orgs.remove_member(actor, org_id, user_id)


@router.get("/{org_id}/invitations")
def list_invitations(
    org_id: str, actor: Actor = Depends(current_actor)
) -> list[invitations.InvitationInfo]:
    """List pending invitations (owners only)."""
    _acting_in(actor, org_id)
    return invitations.list_invitations(actor)


@router.post("/{org_id}/invitations", status_code=201)
def invite(org_id: str, body: InviteBody, actor: Actor = Depends(current_actor)) -> dict:
    """Invite someone by email; the link is emailed (or written to the outbox)."""
    _acting_in(actor, org_id)
    info, _link = invitations.invite(actor, body.email, body.role)
    return {"invitation": info}


@router.delete("/{org_id}/invitations/{invitation_id}", status_code=204)
def revoke_invitation(
    org_id: str, invitation_id: str, actor: Actor = Depends(current_actor)
) -> None:
    """Revoke a pending invitation."""
    _acting_in(actor, org_id)
    invitations.revoke_invitation(actor, invitation_id)
