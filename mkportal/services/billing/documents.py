"""Invoice documents: a self-contained, printable HTML invoice and its plain-text twin.

`render_html` and `render_text` are for the system (the invoice email); customers and
operators download through `invoice_document`, which checks the organisation.
Every value that reaches the HTML goes through `html.escape`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape

from sqlmodel import col, select

from mkportal.db import session_scope
from mkportal.models.billing import BillingAccount, Credit, Invoice, InvoiceLine
from mkportal.models.org import Organization
from mkportal.services.actor import Actor
from mkportal.services.billing.money import as_utc, money, parse_period
from mkportal.services.billing.notices import billing_contacts
from mkportal.services.errors import NotFound
from mkportal.settings import get_settings

SELLER = "mkportal"
SELLER_LINE = "Managed Kubernetes, operated by VSHN"
STATUS_LABELS = {
    "draft": "Draft (not final)",
    "finalized": "Issued",
    "sent": "Sent",
    "paid": "Paid",
    "payment_failed": "Payment failed",
    "void": "Void",
}
ORG_GROUP = "Organisation"


@dataclass(frozen=True)
class _Group:
    title: str
    lines: list[InvoiceLine]
    subtotal: Decimal


@dataclass(frozen=True)
class _Doc:
    invoice: Invoice
    org_name: str
    billing_to: str
    groups: list[_Group]
    credits: list[Credit]
    due: datetime | None


def _load(invoice_id: str) -> _Doc:
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        if inv is None:
            raise NotFound("Not found.")
        org = s.get(Organization, inv.org_id)
        account = s.get(BillingAccount, inv.org_id)
        billing_to = (account.billing_email if account else "").strip()
        if not billing_to:
            billing_to = ", ".join(billing_contacts(s, inv.org_id))
        lines = s.exec(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == inv.id)
            .order_by(col(InvoiceLine.position), col(InvoiceLine.id))
        ).all()
        credits = s.exec(
            select(Credit)
            .where(Credit.org_id == inv.org_id, Credit.period == inv.period)
            .order_by(col(Credit.created_at), col(Credit.id))
        ).all()
    issued = inv.finalized_at
    due = as_utc(issued) + timedelta(days=get_settings().invoice_due_days) if issued else None
    return _Doc(
        invoice=inv,
        org_name=org.name if org else inv.org_id,
        billing_to=billing_to,
        groups=_group(list(lines)),
        credits=list(credits),
        due=due,
    )


def _group(lines: list[InvoiceLine]) -> list[_Group]:
    """Group lines per cluster, in the order the clusters first appear; org-wide lines last."""
    order: list[str] = []
    by_key: dict[str, list[InvoiceLine]] = {}
    titles: dict[str, str] = {}
    for line in lines:
        key = line.cluster_id or ""
        if key not in by_key:
            by_key[key] = []
            order.append(key)
            titles[key] = f"Cluster {line.cluster_name or line.cluster_id}" if key else ORG_GROUP
        by_key[key].append(line)
    order.sort(key=lambda k: k == "")
    return [
        _Group(titles[k], by_key[k], sum((ln.amount for ln in by_key[k]), Decimal(0)))
        for k in order
    ]


def _amount(value: Decimal) -> str:
    return f"{money(value):,.2f}"


def _number(value: Decimal, places: int = 4) -> str:
    """Format a quantity without trailing zeros (at most `places` decimals)."""
    q = value.quantize(Decimal(1).scaleb(-places)).normalize()
    text = format(q, "f")
    return "0" if text in ("-0", "") else text


def _price(value: Decimal) -> str:
    """Format a unit price with at least two and at most six decimals."""
    text = _number(value, 6)
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def _date(value: datetime | None) -> str:
    return as_utc(value).strftime("%Y-%m-%d") if value else "-"


def _period_text(period: str) -> str:
    start, end = parse_period(period)
    last = end - timedelta(days=1)
    return f"{start:%d %B %Y} to {last:%d %B %Y}"


def _credit_note(doc: _Doc) -> str:
    listed = sum((c.amount for c in doc.credits), Decimal(0))
    if doc.credits and money(listed) != money(doc.invoice.credit_total):
        return "Credits are capped at the invoice subtotal."
    return ""


def filename_for(invoice: Invoice) -> str:
    """Return the download file name of an invoice (``invoice-<number>.html``)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", invoice.number or invoice.id).strip("-")
    return f"invoice-{safe or invoice.id}.html"


_CSS = """
*{box-sizing:border-box}
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1c2024;
margin:0;padding:32px;background:#fff;font-size:14px;line-height:1.45}
.sheet{max-width:860px;margin:0 auto}
header{display:flex;justify-content:space-between;align-items:flex-start;
border-bottom:2px solid #1c2024;padding-bottom:16px;margin-bottom:24px}
h1{font-size:28px;margin:0 0 4px}
h2{font-size:16px;margin:24px 0 8px}
.muted{color:#60646c}
.parties{display:flex;gap:48px;margin-bottom:16px}
.parties div{flex:1}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{color:#60646c}dd{margin:0}
table{width:100%;border-collapse:collapse;margin-bottom:8px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e0e1e6;vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#60646c}
td.num,th.num{text-align:right;white-space:nowrap}
tr.group td{font-weight:600;background:#f3f4f6}
tr.groupsum td{font-weight:600}
table.totals{width:auto;margin-left:auto;min-width:320px}
table.totals td{border:none;padding:4px 8px}
table.totals tr.total td{border-top:2px solid #1c2024;font-size:18px;font-weight:700}
.status{display:inline-block;padding:2px 10px;border-radius:12px;background:#e6f4ea;
font-weight:600}
.status.draft,.status.payment_failed,.status.void{background:#fdecea}
footer{margin-top:32px;font-size:12px;color:#60646c}
@media print{body{padding:0}a{color:inherit}}
@page{size:A4;margin:18mm}
"""


def render_html(invoice_id: str) -> str:
    """Return the invoice as a self-contained, printable HTML document (system use).

    Raises:
        NotFound: No such invoice.

    """
    doc = _load(invoice_id)
    inv = doc.invoice
    cur = escape(inv.currency)
    e = escape
    status = inv.status
    rows: list[str] = []
    for group in doc.groups:
        rows.append(f'<tr class="group"><td colspan="7">{e(group.title)}</td></tr>')
        for ln in group.lines:
            rows.append(
                "<tr>"
                f"<td>{e(ln.description)}</td>"
                f"<td>{e(ln.component)}</td>"
                f'<td class="num">{e(_number(ln.quantity))}</td>'
                f"<td>{e(ln.unit)}</td>"
                f'<td class="num">{e(_price(ln.unit_price))}</td>'
                f'<td class="num">{e(_amount(ln.amount))}</td>'
                f'<td class="num">v{e(str(ln.price_version))}</td>'
                "</tr>"
            )
        rows.append(
            f'<tr class="groupsum"><td colspan="5">Subtotal {e(group.title)}</td>'
            f'<td class="num">{e(_amount(group.subtotal))}</td><td></td></tr>'
        )
    if not rows:
        rows.append('<tr><td colspan="7" class="muted">No usage in this period.</td></tr>')
    credit_rows = "".join(
        f"<tr><td>{e(c.reason)}</td><td>{e(c.source)}</td>"
        f'<td class="num">-{e(_amount(c.amount))}</td></tr>'
        for c in doc.credits
    )
    credits_html = ""
    if doc.credits:
        note = _credit_note(doc)
        credits_html = (
            "<h2>Credits</h2><table><thead><tr><th>Reason</th><th>Source</th>"
            f'<th class="num">Amount ({cur})</th></tr></thead><tbody>{credit_rows}</tbody>'
            "</table>" + (f'<p class="muted">{e(note)}</p>' if note else "")
        )
    versions = ", ".join(f"v{v}" for v in (inv.price_versions or [])) or "-"
    pay = (
        f'<dt>Pay online</dt><dd><a href="{e(inv.stripe_url, quote=True)}">'
        f"{e(inv.stripe_url)}</a></dd>"
        if inv.stripe_url
        else ""
    )
    paid = f"<dt>Paid</dt><dd>{e(_date(inv.paid_at))}</dd>" if inv.paid_at else ""
    failure = (
        f"<dt>Payment problem</dt><dd>{e(inv.failure_reason)}</dd>"
        if inv.failure_reason and status == "payment_failed"
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Invoice {e(inv.number)} - {e(SELLER)}</title>
<style>{_CSS}</style></head>
<body><div class="sheet">
<header><div><h1>Invoice</h1><div class="muted">No. {e(inv.number)}</div></div>
<div style="text-align:right"><strong>{e(SELLER)}</strong><br>
<span class="muted">{e(SELLER_LINE)}</span><br>
<span class="status {e(status, quote=True)}">{e(STATUS_LABELS.get(status, status))}</span>
</div></header>
<div class="parties">
<div><h2>Billed to</h2><strong>{e(doc.org_name)}</strong><br>
<span class="muted">{e(doc.billing_to or "-")}</span></div>
<div><h2>Details</h2><dl>
<dt>Invoice number</dt><dd>{e(inv.number)}</dd>
<dt>Period</dt><dd>{e(inv.period)} ({e(_period_text(inv.period))})</dd>
<dt>Issued</dt><dd>{e(_date(inv.finalized_at))}</dd>
<dt>Due</dt><dd>{e(_date(doc.due))}</dd>
{paid}{failure}
<dt>Currency</dt><dd>{cur}</dd>
<dt>Price model</dt><dd>{e(versions)}</dd>
{pay}
</dl></div></div>
<h2>Charges</h2>
<table><thead><tr><th>Description</th><th>Component</th><th class="num">Quantity</th>
<th>Unit</th><th class="num">Unit price ({cur})</th><th class="num">Amount ({cur})</th>
<th class="num">Price version</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
{credits_html}
<table class="totals"><tbody>
<tr><td>Subtotal</td><td class="num">{cur} {e(_amount(inv.subtotal))}</td></tr>
<tr><td>Credits</td><td class="num">{cur} -{e(_amount(inv.credit_total))}</td></tr>
<tr class="total"><td>Total</td><td class="num">{cur} {e(_amount(inv.total))}</td></tr>
</tbody></table>
<footer>{e(SELLER)} invoice {e(inv.number)} for {e(doc.org_name)}.
Prices are those of the price model version in force during the hours billed.
Questions about this invoice: reply to the email it came with.</footer>
</div></body></html>
"""


def render_text(invoice_id: str) -> str:
    """Return the invoice as plain text (the body of the invoice email; system use).

    Raises:
        NotFound: No such invoice.

    """
    doc = _load(invoice_id)
    inv = doc.invoice
    cur = inv.currency
    out = [
        f"{SELLER} - invoice {inv.number}",
        "",
        f"Billed to:   {doc.org_name} <{doc.billing_to or '-'}>",
        f"Period:      {inv.period} ({_period_text(inv.period)})",
        f"Issued:      {_date(inv.finalized_at)}",
        f"Due:         {_date(doc.due)}",
        f"Status:      {STATUS_LABELS.get(inv.status, inv.status)}",
        f"Currency:    {cur}",
        f"Price model: {', '.join(f'v{v}' for v in (inv.price_versions or [])) or '-'}",
    ]
    if inv.stripe_url:
        out.append(f"Pay online:  {inv.stripe_url}")
    out.append("")
    for group in doc.groups:
        out.append(group.title)
        for ln in group.lines:
            out.append(
                f"  {ln.description[:48]:<48} {_number(ln.quantity):>10} {ln.unit:<10}"
                f" x {_price(ln.unit_price):>10} = {_amount(ln.amount):>12}"
                f"  (v{ln.price_version})"
            )
        out.append(f"  {'Subtotal ' + group.title:<85} {_amount(group.subtotal):>12}")
        out.append("")
    if not doc.groups:
        out += ["No usage in this period.", ""]
    if doc.credits:
        out.append("Credits")
        for c in doc.credits:
            out.append(f"  {c.reason[:85]:<85} {'-' + _amount(c.amount):>12}")
        note = _credit_note(doc)
        if note:
            out.append(f"  {note}")
        out.append("")
    out += [
        f"Subtotal: {cur} {_amount(inv.subtotal)}",
        f"Credits:  {cur} -{_amount(inv.credit_total)}",
        f"Total:    {cur} {_amount(inv.total)}",
    ]
    return "\n".join(out) + "\n"


def invoice_document(actor: Actor, invoice_id: str) -> tuple[str, str]:
    """Return an invoice's download: (file name, HTML document).

    Any member of the invoice's organisation may download it; operators may download any.

    Raises:
        NotFound: No such invoice, or it belongs to another organisation.

    """
    with session_scope() as s:
        inv = s.get(Invoice, invoice_id)
        if inv is None:
            raise NotFound("Not found.")
        actor.require_org(inv.org_id)
        name = filename_for(inv)
    return name, render_html(invoice_id)
