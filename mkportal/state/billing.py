"""State of /billing: this month's running estimate (live), usage charts, invoices, prices."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import plotly.graph_objects as go
import reflex as rx

from mkportal.components.charts import history_figure, usage_figure
from mkportal.models.base import utcnow
from mkportal.services import auth
from mkportal.services.actor import Actor
from mkportal.services.billing import documents, estimate, invoices, price_admin, reports
from mkportal.services.billing.money import parse_period, period_of
from mkportal.state.cost import amount
from mkportal.state.format import when
from mkportal.state.guard import authed
from mkportal.state.live import LiveMixin
from mkportal.state.paging import PagedMixin
from mkportal.state.session import SessionState

REFRESH_SECONDS = 15.0
HISTORY_MONTHS = 12
PER_PAGE = 12
TOP_CLUSTERS = 10


def recent_periods(now: datetime, months: int = HISTORY_MONTHS) -> list[str]:
    """Return the last `months` months as ``YYYY-MM``, the current one first."""
    year, month = now.year, now.month
    out = []
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def month_name(period: str) -> str:
    """Return ``November 2026`` for ``2026-11``."""
    return parse_period(period)[0].strftime("%B %Y")


def next_first(now: datetime) -> str:
    """Return the date of the first day of next month, e.g. ``1 December 2026``."""
    _start, end = parse_period(period_of(now))
    return f"1 {end.strftime('%B %Y')}"


def invoice_row(v) -> dict[str, str]:  # noqa: ANN001
    """Flatten an `InvoiceView` for tables (money with its currency, dates as text)."""
    return {
        "id": v.id,
        "org_id": v.org_id,
        "org_name": v.org_name,
        "period": v.period,
        "month": month_name(v.period),
        "number": v.number,
        "status": v.status,
        "currency": v.currency,
        "subtotal": amount(v.subtotal, v.currency),
        "credit_total": amount(v.credit_total, v.currency),
        "total": amount(v.total, v.currency),
        "finalized_at": when(v.finalized_at),
        "sent_at": when(v.sent_at),
        "paid_at": when(v.paid_at),
        "issued_on": v.finalized_at.strftime("%Y-%m-%d") if v.finalized_at else "",
        "paid_on": v.paid_at.strftime("%Y-%m-%d") if v.paid_at else "",
        "stripe_url": v.stripe_url or "",
        "failure_reason": v.failure_reason or "",
    }


def credit_row(c) -> dict[str, str]:  # noqa: ANN001
    """Flatten a `CreditView` for tables."""
    return {
        "id": c.id,
        "org_id": c.org_id,
        "org_name": c.org_name,
        "period": c.period,
        "cluster_id": c.cluster_id or "",
        "amount": amount(c.amount),
        "reason": c.reason,
        "source": c.source,
        "created_by": c.created_by,
        "created_at": when(c.created_at),
    }


def estimate_by_cluster(est) -> list[dict[str, str]]:  # noqa: ANN001
    """Sum a `MonthEstimate`'s lines per cluster, largest projection first.

    Beyond the first ten clusters the rest are summed into one row.
    """
    sums: dict[str, list] = {}
    for line in est.lines:
        key = line.cluster_id or line.cluster_name
        entry = sums.setdefault(key, [line.cluster_name, Decimal(0), Decimal(0)])
        entry[1] += line.to_date
        entry[2] += line.projected
    rows = sorted(sums.values(), key=lambda e: (-e[2], e[0]))
    if len(rows) > TOP_CLUSTERS:
        rest = rows[TOP_CLUSTERS:]
        rows = rows[:TOP_CLUSTERS] + [
            [
                f"{len(rest)} other clusters",
                sum((e[1] for e in rest), Decimal(0)),
                sum((e[2] for e in rest), Decimal(0)),
            ]
        ]
    return [
        {
            "cluster": name or "(organisation)",
            "to_date": amount(to_date, est.currency),
            "projected": amount(projected, est.currency),
        }
        for name, to_date, projected in rows
    ]


class BillingState(PagedMixin, LiveMixin, SessionState):
    """What the organisation pays: now, by cluster, by month, and its invoices."""

    estimate: dict[str, str] = {}
    estimate_clusters: list[dict[str, str]] = []
    period_options: list[dict[str, str]] = []
    usage_period: str = ""
    usage_chart: go.Figure = go.Figure()
    usage_total: str = ""
    usage_rows: int = 0
    usage_ready: bool = False
    history_ready: bool = False
    history_chart: go.Figure = go.Figure()
    history: list[dict[str, str]] = []
    invoices: list[dict[str, str]] = []
    invoice: dict[str, str] = {}
    invoice_lines: list[dict[str, str]] = []
    invoice_credits: list[dict[str, str]] = []
    prices: list[dict[str, str]] = []
    price_note: str = ""
    next_price_header: str = ""
    first_invoice: str = ""
    _currency: str = "CHF"
    _usage_now: list[dict] = []
    _history_key: str = ""

    def _fetch(self, token: str, key: str) -> tuple:
        """Rate this month so far (and, once per visit, the 12-month history), off the lock."""
        actor = auth.session_actor(token)
        est = estimate.running_estimate(actor)
        history = None
        if self._history_key != key:
            history = reports.monthly_totals(actor, months=HISTORY_MONTHS, running=est)
        return est, history, key

    def _apply(self, data: tuple) -> bool:
        est, history, key = data
        if history is not None:
            self._show_history(history)
            self._history_key = key
        cur = self._currency = est.currency
        self.estimate = {
            "period": est.period,
            "month": month_name(est.period),
            "to_date": amount(est.to_date, cur),
            "projected": amount(est.projected, cur),
            "updated": when(utcnow()),
        }
        self.estimate_clusters = estimate_by_cluster(est)
        self._usage_now = [
            {"cluster": ln.cluster_name, "component": ln.component, "amount": ln.to_date}
            for ln in est.lines
        ]
        if self.usage_period == est.period:
            self._show_usage(self._usage_now, cur)
        return False

    def _idle_seconds(self) -> float:
        return REFRESH_SECONDS

    def _show_usage(self, rows: list[dict], currency: str) -> None:
        total = sum((Decimal(str(r["amount"])) for r in rows), Decimal(0))
        rows = [r for r in rows if Decimal(str(r["amount"])) != 0]
        self.usage_rows = len(rows)
        self.usage_ready = True
        self.usage_total = amount(total, currency)
        self.usage_chart = usage_figure(rows, currency)

    def _usage(self, actor: Actor) -> None:
        if self.usage_period == self.estimate.get("period"):
            self._show_usage(self._usage_now, self._currency)
            return
        usage = reports.usage_breakdown(actor, self.usage_period)
        self._show_usage(
            [
                {"cluster": u.cluster_name, "component": u.component, "amount": u.amount}
                for u in usage
            ],
            self._currency,
        )

    def _invoices(self, actor: Actor) -> None:
        page = invoices.list_invoices(actor, page=self.page, per_page=PER_PAGE)
        self.invoices = [invoice_row(v) for v in self._paged(page)]

    def _show_history(self, months: list) -> None:
        self.history_ready = True
        if all(m.amount == 0 for m in months):
            months = []
        currency = months[-1].currency if months else "CHF"
        self.history = [
            {"period": m.period, "amount": amount(m.amount, m.currency), "status": m.status}
            for m in months
        ]
        self.history_chart = history_figure(
            [{"period": m.period, "amount": m.amount, "status": m.status} for m in months],
            currency,
            periods=recent_periods(utcnow())[::-1],
        )

    def _prices(self, actor: Actor) -> None:
        plist = price_admin.price_list(actor)
        current, upcoming = plist.get("current"), plist.get("next")
        cur = plist.get("currency", "")

        def price(item: dict) -> str:
            return f"{item['price']} %" if item["unit"] == "percent" else f"{item['price']} {cur}"

        nxt = {}
        if upcoming:
            nxt = {(i["group"], i["key"], i["unit"]): price(i) for i in upcoming["items"]}
            start = datetime.fromisoformat(upcoming["effective_from"]).astimezone(UTC)
            self.next_price_header = f"From {start:%d %b %Y}"
            self.price_note = (
                f"New prices (version {upcoming['version']}) apply from "
                f"{start:%d %B %Y %H:%M} UTC; they never change past usage."
            )
        else:
            self.next_price_header = ""
            self.price_note = ""
        self.prices = [
            {
                "label": i["label"],
                "unit": i["unit"],
                "price": price(i),
                "next": nxt.get((i["group"], i["key"], i["unit"]), ""),
            }
            for i in (current["items"] if current else [])
        ]

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Read a page of invoices and the price list, and go live.

        The live refresh (`watch`) rates this month and reads the history in a thread, off
        the state lock, so the invoices show at once and the charts follow.
        """
        now = utcnow()
        periods = recent_periods(now)
        key = f"{actor.org_id}:{periods[0]}"
        if key != self.live_key:
            # Another organisation (or month) than what this tab showed: forget it all.
            self.estimate, self.estimate_clusters, self._usage_now = {}, [], []
            self.history, self.usage_rows = [], 0
            self.invoice, self.invoice_lines, self.invoice_credits = {}, [], []
        self.period_options = [{"value": p, "label": month_name(p)} for p in periods]
        if self.usage_period not in periods:
            self.usage_period = periods[0]
        if self.usage_period != periods[0]:
            self._usage(actor)
        elif not self.estimate or self.estimate.get("period") != periods[0]:
            self.usage_ready = False
        self.first_invoice = next_first(now)
        self._invoices(actor)
        self._prices(actor)
        self._history_key = ""
        self.history_ready = bool(self.history)
        self.live_key = key
        return BillingState.watch

    @rx.event
    @authed
    def choose_period(self, actor: Actor, period: str) -> None:
        """Show the usage of another month (one of the last twelve)."""
        if period not in [o["value"] for o in self.period_options]:
            return
        self.usage_period = period
        self._usage(actor)

    @rx.event
    @authed
    def open_invoice(self, actor: Actor, invoice_id: str) -> None:
        """Show one invoice with its lines and credits."""
        detail = invoices.get_invoice(actor, str(invoice_id))
        cur = detail.invoice.currency
        self.invoice = invoice_row(detail.invoice)
        self.invoice_lines = [
            {
                "cluster": ln.cluster_name,
                "component": ln.component,
                "description": ln.description,
                "quantity": f"{ln.quantity.normalize():f} {ln.unit}".strip(),
                "unit_price": amount(ln.unit_price),
                "amount": amount(ln.amount, cur),
                "version": str(ln.price_version),
            }
            for ln in detail.lines
        ]
        self.invoice_credits = [credit_row(c) for c in detail.credits]

    @rx.event
    def close_invoice(self) -> None:
        """Back to the invoice list."""
        self.invoice, self.invoice_lines, self.invoice_credits = {}, [], []

    @rx.event
    @authed
    def download_invoice(self, actor: Actor, invoice_id: str):  # noqa: ANN201
        """Download an invoice as an HTML document."""
        name, html = documents.invoice_document(actor, str(invoice_id))
        return rx.download(data=html, filename=name)
