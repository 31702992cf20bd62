"""Incoming webhooks: Stripe (signed; no bearer token)."""

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from mkportal.services.billing import stripe_sync

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks/stripe")
async def stripe_webhook(request: Request) -> dict:
    """Receive a Stripe event, verified with the `Stripe-Signature` header.

    Answers 400 when the signature (or the body) is not valid, 200 otherwise: handled
    events (`invoice.paid`, `invoice.payment_failed`, `invoice.voided`) update the invoice;
    replays, other types and invoices that are not ours are acknowledged and ignored.
    """
    payload = await request.body()
    signature = request.headers.get("stripe-signature", "")
    result = await run_in_threadpool(stripe_sync.handle_webhook, payload, signature)
    return {"received": True, "result": result}
