"""Incoming webhooks: Stripe (signed) and Alertmanager (shared secret); no user token."""

import hmac
import json
from dataclasses import asdict

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from mkportal.api.deps import bearer
from mkportal.services.billing import stripe_sync
from mkportal.services.errors import Invalid, Unauthenticated
from mkportal.services.metrics import incidents
from mkportal.settings import get_settings

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


@router.post("/webhooks/alertmanager")
async def alertmanager_webhook(request: Request) -> dict:
    """Receive Alertmanager's webhook (version 4) and record incidents.

    Authenticated with `Authorization: Bearer <ALERTMANAGER_SECRET>` (401 otherwise).
    A delivery with the same content as an earlier one is acknowledged and ignored
    (`replay: true`); new firing alerts open incidents and notify on-call once.
    """
    secret = get_settings().alertmanager_secret
    given = bearer(request) or ""
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        raise Unauthenticated("Send the Alertmanager secret as 'Authorization: Bearer <secret>'.")
    try:
        payload = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise Invalid({"body": "The body is not valid JSON."}) from None
    result = await run_in_threadpool(incidents.ingest, payload)
    return asdict(result)
