"""Service levels and price models: operator endpoints, and the price list for everyone.

Admin paths answer 404 to anyone who is not an operator (before the body is looked at).
Money is always a decimal string.
"""

from fastapi import APIRouter, Depends, Response

from mkportal.api.deps import current_actor
from mkportal.services.actor import Actor
from mkportal.services.billing import price_admin, service_levels
from mkportal.services.billing.price_admin import PriceVersionIn
from mkportal.services.billing.service_levels import (
    ServiceLevelIn,
    ServiceLevelPatch,
    ServiceLevelView,
)

router = APIRouter(tags=["billing"])
LEVELS = "/admin/service-levels"


async def operator_actor(actor: Actor = Depends(current_actor)) -> Actor:
    """Authenticate the request and require an operator (404 for everyone else)."""
    actor.require_operator()
    return actor


@router.get(LEVELS)
def list_levels(actor: Actor = Depends(operator_actor)) -> list[ServiceLevelView]:
    """List every service level (retired ones too) with the clusters using it."""
    return service_levels.list_levels(actor)


@router.post(LEVELS, status_code=201)
def create_level(body: ServiceLevelIn, actor: Actor = Depends(operator_actor)) -> ServiceLevelView:
    """Create a service level; it is offered for new clusters at once."""
    return service_levels.create_level(actor, body)


@router.get(LEVELS + "/{slug}")
def get_level(slug: str, actor: Actor = Depends(operator_actor)) -> ServiceLevelView:
    """Return one service level."""
    return service_levels.get_level(actor, slug)


@router.patch(LEVELS + "/{slug}")
def update_level(
    slug: str, body: ServiceLevelPatch, actor: Actor = Depends(operator_actor)
) -> ServiceLevelView:
    """Change a service level (omitted fields stay; the slug never changes)."""
    return service_levels.update_level(actor, slug, body)


@router.delete(LEVELS + "/{slug}", status_code=204)
def delete_level(slug: str, actor: Actor = Depends(operator_actor)) -> Response:
    """Delete a level no cluster ever used (409 otherwise: retire it instead)."""
    service_levels.delete_level(actor, slug)
    return Response(status_code=204)


@router.post(LEVELS + "/{slug}/retire")
def retire_level(slug: str, actor: Actor = Depends(operator_actor)) -> ServiceLevelView:
    """Stop offering a level for new clusters and changes; clusters on it keep it."""
    return service_levels.retire_level(actor, slug)


@router.post(LEVELS + "/{slug}/unretire")
def unretire_level(slug: str, actor: Actor = Depends(operator_actor)) -> ServiceLevelView:
    """Offer a retired level again."""
    return service_levels.unretire_level(actor, slug)


@router.get("/admin/prices")
def list_prices(actor: Actor = Depends(operator_actor)) -> dict:
    """List every price version, newest first, with its status and prices."""
    return {"items": [price_admin.version_json(v) for v in price_admin.list_versions(actor)]}


@router.post("/admin/prices", status_code=201)
def create_price_version(body: PriceVersionIn, actor: Actor = Depends(operator_actor)) -> dict:
    """Schedule a new price version from a future whole hour (never retroactive)."""
    created = price_admin.create_version(actor, body)
    view = next(v for v in price_admin.list_versions(actor) if v.id == created.id)
    return price_admin.version_json(view)


@router.delete("/admin/prices/{version_id}", status_code=204)
def delete_price_version(version_id: str, actor: Actor = Depends(operator_actor)) -> Response:
    """Delete a scheduled version (409 for one in force or past)."""
    price_admin.delete_version(actor, version_id)
    return Response(status_code=204)


@router.get("/prices")
def price_list(actor: Actor = Depends(current_actor)) -> dict:
    """Return the prices in force and the next scheduled change, for any signed-in user."""
    return price_admin.price_list(actor)
