"""Stripe for tests: localstripe where it covers the calls, a small fake for what it lacks.

`running_localstripe()` starts localstripe (the PyPI package) in this process on
127.0.0.1 with its pickling to /tmp turned off. It stores the **customers** and signs
its own webhooks (``customer.created`` ...).

localstripe cannot create a one-off invoice (without a subscription it answers 404), has
no ``collection_method``/``days_until_due``, no finalize and no send endpoint, can only
attach invoice items to its own invoices, and ignores ``Idempotency-Key``. `FakeStripe`
covers exactly that, following Stripe's published API shapes (form-encoded requests, JSON
objects with ``object`` and ``id``, ``{"error": {...}}`` errors):

- every POST: ``Idempotency-Key`` (the same key replays the first response with
  ``Idempotent-Replayed: true``; other parameters with the same key are a 400
  ``idempotency_error``), Bearer ``sk_`` keys only;
- ``/v1/customers`` (create, retrieve, list): forwarded to localstripe;
- ``POST /v1/invoices``, ``GET /v1/invoices[/{id}]``, ``DELETE /v1/invoices/{id}`` (drafts),
  ``POST /v1/invoices/{id}/finalize``, ``/send``, ``/pay``, ``/void``;
- ``POST /v1/invoiceitems`` (with ``invoice=``, or pending), ``GET /v1/invoiceitems``
  (``invoice=``, ``customer=``, ``limit``, ``starting_after``);
- ``GET /v1/payment_intents/{id}`` for the failed payments `fail_payment` simulates;
- signed webhooks (``invoice.paid``, ``invoice.voided``, ``invoice.payment_failed``) to
  ``webhook_url`` with ``Stripe-Signature: t=...,v1=HMAC-SHA256(secret, "t.payload")``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

API_KEY = "sk_test_mkportal_fake"


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Return a ``Stripe-Signature`` header for `payload` (Stripe's v1 scheme)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    """Turn Stripe's form encoding (``metadata[a]=1``, ``expand[0]=x``) into nested data."""
    out: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+|\[\]", key)
        node = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(out)


def _lists(node: object) -> object:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(8)


class StripeError(Exception):
    """An error answered in Stripe's shape."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", **extra):  # noqa: ANN003
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": kind, "message": message, **extra}}


class FakeStripe:
    """Invoices and invoice items of Stripe's API, with idempotency keys and webhooks."""

    def __init__(self, localstripe_url: str, webhook_secret: str = "") -> None:
        self.upstream = localstripe_url.rstrip("/")
        self.webhook_url = ""
        self.webhook_secret = webhook_secret
        self.invoices: dict[str, dict] = {}
        self.items: dict[str, dict] = {}
        self.intents: dict[str, dict] = {}
        self.sent: dict[str, int] = {}
        self.creates: dict[str, int] = {}
        self.idempotency: dict[str, tuple[str, int, dict]] = {}
        self.webhooks: list[tuple[str, int]] = []
        self.base_url = ""
        self.app = self._build()

    # --- helpers for tests -------------------------------------------------------------

    def forget_idempotency_keys(self) -> None:
        """Drop every stored key, as Stripe does after 24 hours."""
        self.idempotency.clear()

    def count_customers(self) -> int:
        """Count the customers on localstripe."""
        r = httpx.get(f"{self.upstream}/v1/customers", params={"limit": 100}, headers=_auth())
        r.raise_for_status()
        return len(r.json()["data"])

    def items_of(self, invoice_id: str) -> list[dict]:
        """Return the invoice items attached to a Stripe invoice."""
        return [i for i in self.items.values() if i["invoice"] == invoice_id]

    def fail_payment(self, invoice_id: str, message: str) -> dict:
        """Simulate a failed collection attempt: a PaymentIntent and ``invoice.payment_failed``."""
        inv = self.invoices[invoice_id]
        intent = {
            "id": _new_id("pi_"),
            "object": "payment_intent",
            "amount": inv["amount_due"],
            "currency": inv["currency"],
            "status": "requires_payment_method",
            "invoice": invoice_id,
            "last_payment_error": {
                "type": "card_error",
                "code": "card_declined",
                "message": message,
            },
        }
        self.intents[intent["id"]] = intent
        inv["payment_intent"] = intent["id"]
        inv["attempt_count"] += 1
        inv["attempted"] = True
        return self.emit("invoice.payment_failed", inv)

    def emit(self, kind: str, obj: dict) -> dict:
        """Send a signed event to `webhook_url` (when set) and return the event."""
        event = {
            "id": _new_id("evt_"),
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "type": kind,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": json.loads(json.dumps(obj))},
        }
        if self.webhook_url:
            payload = json.dumps(event).encode()
            r = httpx.post(
                self.webhook_url,
                content=payload,
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": sign(payload, self.webhook_secret),
                },
                timeout=30,
            )
            self.webhooks.append((kind, r.status_code))
        return event

    # --- the API -------------------------------------------------------------------------

    def _invoice_totals(self, inv: dict) -> None:
        lines = self.items_of(inv["id"])
        subtotal = sum(i["amount"] for i in lines)
        inv["lines"] = {
            "object": "list",
            "data": [{**i, "object": "line_item"} for i in lines],
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{inv['id']}/lines",
        }
        inv["subtotal"] = subtotal
        inv["total"] = subtotal
        paid = inv["status"] == "paid"
        inv["amount_due"] = max(0, subtotal)
        inv["amount_paid"] = inv["amount_due"] if paid else 0
        inv["amount_remaining"] = 0 if paid else inv["amount_due"]

    def _customer_exists(self, customer: str) -> bool:
        r = httpx.get(f"{self.upstream}/v1/customers/{customer}", headers=_auth())
        return r.status_code == 200

    def create_invoice(self, p: dict) -> dict:
        """``POST /v1/invoices``."""
        customer = p.get("customer")
        if not customer:
            raise StripeError(400, "Missing required param: customer.", param="customer")
        if not self._customer_exists(customer):
            raise StripeError(
                404, f"No such customer: '{customer}'", param="customer", code="resource_missing"
            )
        method = p.get("collection_method", "charge_automatically")
        if method not in ("charge_automatically", "send_invoice"):
            raise StripeError(
                400, f"Invalid collection_method: {method}", param="collection_method"
            )
        days = p.get("days_until_due")
        if method == "send_invoice" and days is None and p.get("due_date") is None:
            raise StripeError(
                400, "Missing required param: days_until_due.", param="days_until_due"
            )
        behavior = p.get("pending_invoice_items_behavior", "exclude")
        if behavior not in ("include", "exclude"):
            raise StripeError(
                400,
                "Invalid pending_invoice_items_behavior.",
                param="pending_invoice_items_behavior",
            )
        inv = {
            "id": _new_id("in_"),
            "object": "invoice",
            "customer": customer,
            "status": "draft",
            "collection_method": method,
            "days_until_due": int(days) if days is not None else None,
            "due_date": None,
            "auto_advance": p.get("auto_advance", "false") == "true",
            "currency": (p.get("currency") or "usd").lower(),
            "description": p.get("description"),
            "metadata": p.get("metadata") or {},
            "number": None,
            "hosted_invoice_url": None,
            "invoice_pdf": None,
            "payment_intent": None,
            "attempt_count": 0,
            "attempted": False,
            "last_finalization_error": None,
            "created": int(time.time()),
            "livemode": False,
            "status_transitions": {
                "finalized_at": None,
                "paid_at": None,
                "voided_at": None,
                "marked_uncollectible_at": None,
            },
        }
        self.invoices[inv["id"]] = inv
        if behavior == "include":
            for item in self.items.values():
                if item["customer"] == customer and item["invoice"] is None:
                    item["invoice"] = inv["id"]
        self._invoice_totals(inv)
        return inv

    def create_item(self, p: dict) -> dict:
        """``POST /v1/invoiceitems``."""
        for required in ("customer", "currency", "amount"):
            if p.get(required) in (None, ""):
                raise StripeError(400, f"Missing required param: {required}.", param=required)
        if not re.fullmatch(r"-?\d+", str(p["amount"])):
            raise StripeError(400, "Invalid integer: " + str(p["amount"]), param="amount")
        currency = p["currency"]
        if not re.fullmatch(r"[a-z]{3}", currency):
            raise StripeError(400, f"Invalid currency: {currency}", param="currency")
        if not self._customer_exists(p["customer"]):
            raise StripeError(
                404,
                f"No such customer: '{p['customer']}'",
                param="customer",
                code="resource_missing",
            )
        invoice_id = p.get("invoice")
        if invoice_id:
            inv = self.invoices.get(invoice_id)
            if inv is None:
                raise StripeError(
                    404,
                    f"No such invoice: '{invoice_id}'",
                    param="invoice",
                    code="resource_missing",
                )
            if inv["status"] != "draft":
                raise StripeError(
                    400,
                    "You can only add invoice items to draft invoices.",
                    param="invoice",
                    code="invoice_not_editable",
                )
            if inv["customer"] != p["customer"]:
                raise StripeError(400, "The invoice belongs to another customer.", param="invoice")
            if inv["currency"] != currency:
                raise StripeError(
                    400, "The currency of the item does not match the invoice.", param="currency"
                )
        period = p.get("period") or {}
        now = int(time.time())
        item = {
            "id": _new_id("ii_"),
            "object": "invoiceitem",
            "amount": int(p["amount"]),
            "currency": currency,
            "customer": p["customer"],
            "invoice": invoice_id or None,
            "description": p.get("description"),
            "metadata": p.get("metadata") or {},
            "period": {"start": int(period.get("start", now)), "end": int(period.get("end", now))},
            "quantity": 1,
            "date": now,
            "livemode": False,
        }
        self.items[item["id"]] = item
        if invoice_id:
            self._invoice_totals(self.invoices[invoice_id])
        return item

    def _invoice(self, invoice_id: str) -> dict:
        inv = self.invoices.get(invoice_id)
        if inv is None:
            raise StripeError(404, f"No such invoice: '{invoice_id}'", code="resource_missing")
        return inv

    def finalize(self, invoice_id: str, p: dict) -> dict:
        """``POST /v1/invoices/{id}/finalize``."""
        inv = self._invoice(invoice_id)
        if inv["status"] != "draft":
            raise StripeError(
                400,
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                code="invoice_not_editable",
            )
        now = int(time.time())
        self._invoice_totals(inv)
        inv["number"] = f"FAKE-{len([i for i in self.invoices.values() if i['number']]) + 1:04d}"
        inv["hosted_invoice_url"] = f"{self.base_url}/i/{inv['id']}"
        inv["invoice_pdf"] = f"{self.base_url}/i/{inv['id']}/pdf"
        inv["status_transitions"]["finalized_at"] = now
        if "auto_advance" in p:
            inv["auto_advance"] = p["auto_advance"] == "true"
        if inv["days_until_due"] is not None:
            inv["due_date"] = now + 86400 * inv["days_until_due"]
        inv["status"] = "open"
        if inv["total"] <= 0:
            inv["status"] = "paid"
            inv["status_transitions"]["paid_at"] = now
        self._invoice_totals(inv)
        return inv

    def send(self, invoice_id: str) -> dict:
        """``POST /v1/invoices/{id}/send``."""
        inv = self._invoice(invoice_id)
        if inv["collection_method"] != "send_invoice":
            raise StripeError(
                400,
                "You can only manually send an invoice if its collection method is 'send_invoice'.",
            )
        if inv["status"] not in ("open",):
            raise StripeError(400, f"You can't send an invoice that is {inv['status']}.")
        self.sent[invoice_id] = self.sent.get(invoice_id, 0) + 1
        return inv

    def pay(self, invoice_id: str, p: dict) -> dict:
        """``POST /v1/invoices/{id}/pay`` (``paid_out_of_band=true`` only)."""
        inv = self._invoice(invoice_id)
        if inv["status"] != "open":
            raise StripeError(400, f"Invoice is {inv['status']}; only open invoices can be paid.")
        if p.get("paid_out_of_band") != "true":
            raise StripeError(400, "This fake only supports paid_out_of_band=true.")
        inv["status"] = "paid"
        inv["status_transitions"]["paid_at"] = int(time.time())
        self._invoice_totals(inv)
        self._later("invoice.paid", inv)
        return inv

    def void(self, invoice_id: str) -> dict:
        """``POST /v1/invoices/{id}/void``."""
        inv = self._invoice(invoice_id)
        if inv["status"] not in ("open", "uncollectible"):
            raise StripeError(400, f"You can only void open invoices; this one is {inv['status']}.")
        inv["status"] = "void"
        inv["status_transitions"]["voided_at"] = int(time.time())
        self._later("invoice.voided", inv)
        return inv

    def _later(self, kind: str, obj: dict) -> None:
        snapshot = json.loads(json.dumps(obj))
        threading.Thread(target=self.emit, args=(kind, snapshot), daemon=True).start()

    def _list(self, rows: list[dict], url: str, q: dict) -> dict:
        limit = min(int(q.get("limit", 10)), 100)
        after = q.get("starting_after")
        if after:
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(after) + 1 :] if after in ids else []
        return {"object": "list", "url": url, "data": rows[:limit], "has_more": len(rows) > limit}

    def _build(self) -> FastAPI:  # noqa: C901 - one route table
        app = FastAPI()
        fake = self

        def fail(exc: StripeError) -> JSONResponse:
            return JSONResponse(exc.body, status_code=exc.status)

        @app.middleware("http")
        async def auth_and_idempotency(request: Request, call_next):  # noqa: ANN001, ANN202
            if not request.headers.get("authorization", "").startswith("Bearer sk_"):
                return JSONResponse(
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "message": "You did not provide a valid API key.",
                        }
                    },
                    status_code=401,
                )
            key = request.headers.get("idempotency-key")
            if request.method != "POST" or not key:
                return await call_next(request)
            body = await request.body()
            fingerprint = f"{request.url.path}?{json.dumps(sorted(parse_qsl(body.decode())))}"
            seen = fake.idempotency.get(key)
            if seen is not None:
                if seen[0] != fingerprint:
                    return JSONResponse(
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used with the "
                                f"same parameters they were first used with. Try using a "
                                f"key other than '{key}' if you meant to execute a "
                                "different request.",
                            }
                        },
                        status_code=400,
                    )
                return JSONResponse(
                    seen[2], status_code=seen[1], headers={"Idempotent-Replayed": "true"}
                )
            response = await call_next(request)
            chunks = [chunk async for chunk in response.body_iterator]
            payload = json.loads(b"".join(chunks) or b"{}")
            if response.status_code < 400 or response.status_code >= 500:
                fake.idempotency[key] = (fingerprint, response.status_code, payload)
            return JSONResponse(payload, status_code=response.status_code)

        async def params(request: Request) -> dict:
            return unflatten(parse_qsl((await request.body()).decode(), keep_blank_values=True))

        @app.api_route("/v1/customers", methods=["GET", "POST"])
        @app.api_route("/v1/customers/{rest:path}", methods=["GET", "POST", "DELETE"])
        async def customers(request: Request, rest: str = ""):  # noqa: ANN202
            if request.method == "POST" and not rest:
                fake.creates["customer"] = fake.creates.get("customer", 0) + 1
            async with httpx.AsyncClient() as client:
                r = await client.request(
                    request.method,
                    f"{fake.upstream}{request.url.path}",
                    params=request.query_params,
                    content=await request.body(),
                    headers={
                        "Authorization": request.headers["authorization"],
                        "Content-Type": request.headers.get(
                            "content-type", "application/x-www-form-urlencoded"
                        ),
                    },
                )
            return JSONResponse(r.json(), status_code=r.status_code)

        @app.post("/v1/invoices")
        async def create_invoice(request: Request):  # noqa: ANN202
            try:
                inv = fake.create_invoice(await params(request))
            except StripeError as exc:
                return fail(exc)
            fake.creates["invoice"] = fake.creates.get("invoice", 0) + 1
            return inv

        @app.get("/v1/invoices")
        def list_invoices(request: Request):  # noqa: ANN202
            q = dict(request.query_params)
            rows = [
                i
                for i in fake.invoices.values()
                if not q.get("customer") or i["customer"] == q["customer"]
            ]
            return fake._list(rows, "/v1/invoices", q)

        @app.get("/v1/invoices/{invoice_id}")
        def get_invoice(invoice_id: str):  # noqa: ANN202
            try:
                return fake._invoice(invoice_id)
            except StripeError as exc:
                return fail(exc)

        @app.delete("/v1/invoices/{invoice_id}")
        def delete_invoice(invoice_id: str):  # noqa: ANN202
            try:
                inv = fake._invoice(invoice_id)
            except StripeError as exc:
                return fail(exc)
            if inv["status"] != "draft":
                return fail(StripeError(400, "You can only delete draft invoices."))
            del fake.invoices[invoice_id]
            for item in fake.items.values():
                if item["invoice"] == invoice_id:
                    item["invoice"] = None
            return {"id": invoice_id, "object": "invoice", "deleted": True}

        @app.post("/v1/invoices/{invoice_id}/{action}")
        async def invoice_action(invoice_id: str, action: str, request: Request):  # noqa: ANN202
            p = await params(request)
            try:
                if action == "finalize":
                    return fake.finalize(invoice_id, p)
                if action == "send":
                    return fake.send(invoice_id)
                if action == "pay":
                    return fake.pay(invoice_id, p)
                if action == "void":
                    return fake.void(invoice_id)
            except StripeError as exc:
                return fail(exc)
            return fail(
                StripeError(
                    404, f"Unrecognized request URL (POST: /v1/invoices/{invoice_id}/{action})."
                )
            )

        @app.post("/v1/invoiceitems")
        async def create_item(request: Request):  # noqa: ANN202
            try:
                item = fake.create_item(await params(request))
            except StripeError as exc:
                return fail(exc)
            fake.creates["invoiceitem"] = fake.creates.get("invoiceitem", 0) + 1
            return item

        @app.get("/v1/invoiceitems")
        def list_items(request: Request):  # noqa: ANN202
            q = dict(request.query_params)
            rows = [
                i
                for i in fake.items.values()
                if (not q.get("invoice") or i["invoice"] == q["invoice"])
                and (not q.get("customer") or i["customer"] == q["customer"])
            ]
            return fake._list(rows, "/v1/invoiceitems", q)

        @app.get("/v1/payment_intents/{intent_id}")
        def get_intent(intent_id: str):  # noqa: ANN202
            if intent_id not in fake.intents:
                return fail(
                    StripeError(
                        404, f"No such payment_intent: '{intent_id}'", code="resource_missing"
                    )
                )
            return fake.intents[intent_id]

        return app


def _auth() -> dict:
    return {"Authorization": f"Bearer {API_KEY}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_localstripe() -> Iterator[str]:
    """Run localstripe in this process on 127.0.0.1 (no pickle in /tmp); yield its URL.

    localstripe keeps its objects in one module-level store, so run it once per session
    and call `reset_localstripe` between tests.
    """
    from aiohttp import web
    from localstripe import resources, server

    resources.Store.dump_to_disk = lambda self: None
    resources.store.clear()
    port = _free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(server.app, access_log=None)
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not started.wait(15):
        raise RuntimeError("localstripe did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def reset_localstripe() -> None:
    """Forget every localstripe object and webhook registration."""
    from localstripe import resources, webhooks

    resources.store.clear()
    webhooks._webhooks.clear()
