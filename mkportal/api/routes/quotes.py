"""Quotes: the monthly cost of a cluster change or a new cluster, before it is made.

Money is sent as decimal strings (``"146.00"``); ``difference`` is negative when a change
saves money. ``range`` is set when autoscaling pools make the cost vary with the load.
"""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends

from mkportal.api.deps import current_actor
from mkportal.services.actor import Actor
from mkportal.services.clusters import quotes
from mkportal.services.clusters.spec import ClusterIn, ClusterPatch

router = APIRouter(tags=["quotes"])


def _range(low: Decimal | None, high: Decimal | None) -> dict | None:
    return None if low is None or high is None else {"min": str(low), "max": str(high)}


@router.post("/clusters/{cluster_id}/quote")
def quote_change(
    cluster_id: str, body: ClusterPatch, actor: Actor = Depends(current_actor)
) -> dict:
    """Price a change (the PATCH body) per month: current, proposed and the difference."""
    q = quotes.cluster_quote(actor, cluster_id, body)
    return {
        "currency": q.currency,
        "current": str(q.current),
        "proposed": str(q.proposed),
        "difference": str(q.difference),
        "lines": [
            {
                "label": line.label,
                "current": str(line.current),
                "proposed": str(line.proposed),
                "difference": str(line.difference),
            }
            for line in q.lines
        ],
        "range": _range(q.low, q.high),
    }


@router.post("/quote")
def quote_new(body: ClusterIn, actor: Actor = Depends(current_actor)) -> dict:
    """Price a new cluster (the create body) per month, without creating it."""
    q = quotes.create_quote(actor, body)
    return {
        "currency": q.currency,
        "monthly": str(q.monthly),
        "hourly": str(q.hourly),
        "lines": [{"label": label, "amount": str(amount)} for label, amount in q.lines],
        "range": _range(q.low, q.high),
    }
