"""Invoice documents: content, escaping, organisation isolation (HTML and text)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.db import session_scope
from mkportal.models.billing import BillingAccount, Credit, Invoice, InvoiceLine
from mkportal.services import tokens
from mkportal.services.billing import documents
from mkportal.services.errors import Conflict, NotFound

D = Decimal


def insert_invoice(
    org_id: str,
    *,
    period: str = "2026-10",
    number: str | None = None,
    status: str = "finalized",
    lines: list[dict] | None = None,
    credits: list[tuple[str, str]] = (),
    currency: str = "CHF",
) -> str:
    """Insert an invoice with lines and credits directly (as billing runs would); return its id.

    `lines` items: cluster_id, cluster_name, component, description, quantity, unit,
    unit_price, amount (decimal strings), price_version. Totals are computed here.
    """
    if lines is None:
        lines = [
            dict(cluster_id="c1", cluster_name="web", component="cluster",
                 description="Standard base fee", quantity="1", unit="month",
                 unit_price="100.00", amount="100.00"),
            dict(cluster_id="c1", cluster_name="web", component="node",
                 description="Nodes sandbox/s-2 (pool default)", quantity="1488",
                 unit="node-hour", unit_price="0.0125", amount="18.60"),
            dict(cluster_id="c2", cluster_name="db", component="feature",
                 description="Feature cert-manager", quantity="744", unit="hour",
                 unit_price="0.005", amount="3.72"),
        ]  # fmt: skip
    with session_scope() as s:
        subtotal = sum((D(ln["amount"]) for ln in lines), D(0))
        credit_total = sum((D(a) for a, _ in credits), D(0))
        inv = Invoice(
            org_id=org_id,
            period=period,
            number=number or f"MK-{period}-{org_id[:6]}",
            currency=currency,
            status=status,
            subtotal=subtotal,
            credit_total=credit_total,
            total=subtotal - credit_total,
            price_versions=[1],
            finalized_at=datetime(2026, 11, 1, 2, 0, tzinfo=UTC) if status != "draft" else None,
        )
        s.add(inv)
        s.flush()
        for i, ln in enumerate(lines):
            s.add(
                InvoiceLine(
                    invoice_id=inv.id,
                    position=i,
                    cluster_id=ln["cluster_id"],
                    cluster_name=ln["cluster_name"],
                    component=ln["component"],
                    description=ln["description"],
                    quantity=D(ln["quantity"]),
                    unit=ln["unit"],
                    unit_price=D(ln["unit_price"]),
                    amount=D(ln["amount"]),
                    price_version=ln.get("price_version", 1),
                )
            )
        for amount, reason in credits:
            s.add(Credit(org_id=org_id, period=period, amount=D(amount), reason=reason))
        return inv.id


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201, D102
        self.tags.append(tag)

    def handle_data(self, data):  # noqa: ANN001, ANN201, D102
        self.parts.append(data)


def _visible(html: str) -> tuple[str, list[str]]:
    p = _Text()
    p.feed(html)
    return " ".join(" ".join(p.parts).split()), p.tags


def test_html_invoice_has_everything_a_customer_needs(two_orgs):
    acme = two_orgs["acme_owner"].org_id
    with session_scope() as s:
        s.add(BillingAccount(org_id=acme, billing_email="ap@acme.test"))
    inv = insert_invoice(acme, credits=[("12.23", "SLO missed on web (99.0 % target)")])
    html = documents.render_html(inv)
    text, tags = _visible(html)
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    assert "script" not in tags and "http" not in html.split("<body>")[0].lower()
    for expected in (
        "mkportal", "Acme", "ap@acme.test", "MK-2026-10-", "2026-10",
        "01 October 2026 to 31 October 2026", "Issued 2026-11-01", "Due 2026-12-01",
        "Cluster web", "Cluster db", "Standard base fee", "1488", "node-hour", "0.0125",
        "18.60", "v1", "Subtotal Cluster web 118.60", "Subtotal Cluster db 3.72",
        "SLO missed on web (99.0 % target)", "-12.23", "Subtotal CHF 122.32",
        "Total CHF 110.09",
    ):  # fmt: skip
        assert expected in text, expected
    assert text.index("Cluster web") < text.index("Cluster db")


def test_text_invoice_matches_the_figures(two_orgs):
    acme = two_orgs["acme_owner"].org_id
    inv = insert_invoice(acme, credits=[("2.32", "Goodwill")])
    text = documents.render_text(inv)
    assert "invoice MK-2026-10-" in text and "owner@acme.test" in text
    assert "Cluster web" in text and "Goodwill" in text
    assert "Subtotal: CHF 122.32" in text and "Credits:  CHF -2.32" in text
    assert "Total:    CHF 120.00" in text


def test_everything_is_escaped(two_orgs):
    acme = two_orgs["acme_owner"].org_id
    evil = '<script>alert("x")</script>'
    with session_scope() as s:
        s.add(BillingAccount(org_id=acme, billing_email='"><img src=x onerror=alert(1)>@a.test'))
    inv = insert_invoice(
        acme,
        lines=[dict(cluster_id="c9", cluster_name="<b>bold</b>", component="node",
                    description=evil, quantity="1", unit="<i>u</i>", unit_price="1",
                    amount="1.00")],
        credits=[("0.50", "<iframe src=evil>")],
    )  # fmt: skip
    html = documents.render_html(inv)
    for raw in ("<script", "<img", "<b>bold", "<i>u", "<iframe"):
        assert raw not in html, raw
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    text, tags = _visible(html)
    assert {"script", "img", "iframe", "b", "i"}.isdisjoint(tags)
    assert evil in text and "<iframe src=evil>" in text


def test_invoice_document_is_org_checked(two_orgs):
    acme = two_orgs["acme_owner"].org_id
    inv = insert_invoice(acme)
    name, html = documents.invoice_document(two_orgs["acme_viewer"], inv)
    assert name.startswith("invoice-MK-2026-10-") and name.endswith(".html")
    assert "Acme" in html
    assert documents.invoice_document(two_orgs["operator"], inv)[1] == html
    with pytest.raises(NotFound):
        documents.invoice_document(two_orgs["globex_owner"], inv)
    with pytest.raises(NotFound):
        documents.invoice_document(two_orgs["acme_owner"], "no-such-invoice")


def test_document_download_over_the_api(two_orgs):
    acme = two_orgs["acme_owner"].org_id
    inv = insert_invoice(acme)
    api = TestClient(create_api(), raise_server_exceptions=False)

    def get(actor):  # noqa: ANN001, ANN202
        plain, _ = tokens.create_token(actor, "t")
        return api.get(
            f"/api/v1/billing/invoices/{inv}/document",
            headers={"Authorization": f"Bearer {plain}"},
        )

    r = get(two_orgs["acme_member"])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"].startswith('attachment; filename="invoice-MK-')
    assert "Total" in r.text and "Acme" in r.text
    other = get(two_orgs["globex_owner"])
    assert other.status_code == 404 and "Acme" not in other.text
    assert api.get(f"/api/v1/billing/invoices/{inv}/document").status_code == 401


def test_empty_invoice_says_so(two_orgs):
    acme = two_orgs["acme_owner"].org_id
    inv = insert_invoice(acme, lines=[])
    text, _ = _visible(documents.render_html(inv))
    assert "No usage in this period." in text and "Total CHF 0.00" in text
    assert "No usage in this period." in documents.render_text(inv)


def test_a_second_deliverer_at_the_same_moment_leaves_the_invoice_alone(two_orgs):
    from mkportal.services import mail
    from mkportal.services.billing import delivery
    from mkportal.worker.tick import acquire_lock, release_lock

    inv_id = insert_invoice(two_orgs["acme_owner"].org_id)
    assert acquire_lock(f"deliver:{inv_id}", "the-other-deliverer", 60)
    with pytest.raises(Conflict, match="being delivered"):
        delivery.deliver(inv_id)
    assert mail.list_outbox(two_orgs["operator"]).total == 0
    release_lock(f"deliver:{inv_id}", "the-other-deliverer")
    delivery.deliver(inv_id)
    delivery.deliver(inv_id)
    assert mail.list_outbox(two_orgs["operator"]).total == 1
