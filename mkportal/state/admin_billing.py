"""State of /admin/billing: revenue, unpaid invoices, credits and billing runs (operators)."""

from __future__ import annotations

import plotly.graph_objects as go
import reflex as rx

from mkportal import routes
from mkportal.components.charts import revenue_figure
from mkportal.models.base import utcnow
from mkportal.services import org_directory
from mkportal.services.actor import Actor
from mkportal.services.billing import credits, delivery, invoices, jobs, reports
from mkportal.services.billing.money import previous_period
from mkportal.state.billing import credit_row, invoice_row, month_name, recent_periods
from mkportal.state.cost import amount
from mkportal.state.guard import authed
from mkportal.state.paging import PagedMixin
from mkportal.state.session import SessionState

INVOICE_FILTERS = ["unpaid", "all", "draft", "finalized", "sent", "paid", "payment_failed", "void"]
PER_PAGE = 20
NO_CLUSTER = "none"


class AdminBillingState(PagedMixin, SessionState):
    """Revenue, the invoices to follow up, and billing runs."""

    revenue: list[dict[str, str]] = []
    revenue_chart: go.Figure = go.Figure()
    period_options: list[dict[str, str]] = []
    org_period: str = ""
    org_revenue: list[dict[str, str]] = []
    invoice_filter: str = "unpaid"
    invoices: list[dict[str, str]] = []
    void_target: str = ""
    void_number: str = ""
    void_reason: str = ""
    run_period: str = ""
    field_errors: dict[str, str] = {}

    def _revenue(self, actor: Actor) -> None:
        rows = reports.revenue_by_month(actor, months=12)
        self.revenue = [
            {
                "period": r.period,
                "month": month_name(r.period),
                "invoiced": amount(r.invoiced, r.currency),
                "paid": amount(r.paid, r.currency),
                "outstanding": amount(r.outstanding, r.currency),
                "credits": amount(r.credits, r.currency),
            }
            for r in rows
            if r.invoiced or r.credits
        ]
        # The chart shows the main currency; the table lists every currency's rows.
        currency = rows[-1].currency if rows else "CHF"
        self.revenue_chart = revenue_figure(
            [
                {
                    "period": r.period,
                    "paid": r.paid,
                    "outstanding": r.outstanding,
                    "credits": r.credits,
                }
                for r in rows
                if r.currency == currency
            ],
            currency,
        )

    def _org_revenue(self, actor: Actor) -> None:
        self.org_revenue = [
            {
                "org_id": r.org_id,
                "org_name": r.org_name,
                "invoiced": amount(r.invoiced),
                "paid": amount(r.paid),
                "outstanding": amount(r.outstanding),
            }
            for r in reports.revenue_by_org(actor, self.org_period)
        ]

    def _invoices(self, actor: Actor) -> None:
        actor.require_operator()
        page = invoices.list_invoices(
            actor,
            all_orgs=True,
            status="" if self.invoice_filter == "all" else self.invoice_filter,
            page=self.page,
            per_page=PER_PAGE,
        )
        self.invoices = [invoice_row(v) for v in self._paged(page)]

    @rx.event
    @authed
    def load(self, actor: Actor):  # noqa: ANN201
        """Read revenue, invoices to follow up and credits (operators only)."""
        actor.require_operator()
        now = utcnow()
        self.period_options = [
            {"value": p, "label": month_name(p)} for p in recent_periods(now, 24)
        ]
        if not self.org_period:
            self.org_period = previous_period(now)
        if not self.run_period:
            self.run_period = previous_period(now)
        self._revenue(actor)
        self._org_revenue(actor)
        self._invoices(actor)
        return AdminCreditsState.load

    @rx.event
    @authed
    def choose_org_period(self, actor: Actor, period: str) -> None:
        """Show the revenue per organisation of another month."""
        actor.require_operator()
        if period in [o["value"] for o in self.period_options]:
            self.org_period = period
            self._org_revenue(actor)

    @rx.event
    @authed
    def set_invoice_filter(self, actor: Actor, value: str) -> None:
        """Filter the invoices by status (``unpaid``: finalized, sent or payment failed)."""
        if value in INVOICE_FILTERS:
            self.invoice_filter, self.page = value, 1
            self._invoices(actor)

    @rx.event
    @authed
    def mark_paid(self, actor: Actor, invoice_id: str):  # noqa: ANN201
        """Record an invoice as paid outside Stripe (e.g. a bank transfer)."""
        view = invoices.mark_paid(actor, str(invoice_id))
        self._invoices(actor)
        self._revenue(actor)
        self._org_revenue(actor)
        return rx.toast.success(f"Invoice {view.number} is marked paid.")

    @rx.event
    def ask_void(self, invoice_id: str, number: str) -> None:
        """Open the void confirmation for one invoice."""
        self.void_target, self.void_number = str(invoice_id)[:32], str(number)[:32]
        self.void_reason = ""
        self.field_errors = {}

    @rx.event
    def set_void_reason(self, value: str) -> None:
        """Remember the reason typed in the void confirmation."""
        self.void_reason = str(value)[:500]

    @rx.event
    def close_void(self, open_: bool = False) -> None:
        """Close the void confirmation (when the dialog is dismissed)."""
        if not open_:
            self.void_target = ""

    @rx.event
    @authed
    def void_invoice(self, actor: Actor):  # noqa: ANN201
        """Void the invoice of the open confirmation, with the typed reason."""
        self.field_errors = {}
        view = invoices.void(actor, self.void_target, self.void_reason)
        self.void_target = ""
        self._invoices(actor)
        self._revenue(actor)
        self._org_revenue(actor)
        return rx.toast.success(f"Invoice {view.number} is void.")

    @rx.event
    @authed
    def resend(self, actor: Actor, invoice_id: str):  # noqa: ANN201
        """Email an invoice again to its organisation's billing contacts."""
        to = delivery.resend(actor, str(invoice_id))
        self._invoices(actor)
        return rx.toast.success(f"Invoice sent to {', '.join(to) or 'nobody'}.")

    @rx.event
    def set_run_period(self, value: str) -> None:
        """Remember the month typed in the billing-run form."""
        self.run_period = str(value).strip()[:7]
        self.field_errors = {k: v for k, v in self.field_errors.items() if k != "period"}

    @rx.event
    @authed
    def run_billing(self, actor: Actor):  # noqa: ANN201
        """Request a durable billing run of the chosen month and follow it on its page."""
        self.field_errors = {}
        op = jobs.request_run(actor, self.run_period)
        return [
            rx.toast.success(f"Billing {self.run_period}: follow the run on its page."),
            rx.redirect(routes.operation(op.id)),
        ]


class AdminCreditsState(PagedMixin, SessionState):
    """Credits of every organisation, and the form to add one by hand."""

    credits: list[dict[str, str]] = []
    org_options: list[dict[str, str]] = []
    cluster_options: list[dict[str, str]] = []
    credit_org: str = ""
    credit_cluster: str = NO_CLUSTER
    credit_period: str = ""
    field_errors: dict[str, str] = {}

    def _clusters(self, actor: Actor) -> None:
        self.cluster_options = [{"value": NO_CLUSTER, "label": "No particular cluster"}] + [
            {"value": c.id, "label": c.name}
            for c in (org_directory.org_clusters(actor, self.credit_org) if self.credit_org else [])
        ]
        self.credit_cluster = NO_CLUSTER

    @rx.event
    @authed
    def load(self, actor: Actor) -> None:
        """Read a page of credits and the organisations to credit (operators only)."""
        actor.require_operator()
        page = credits.list_credits(actor, page=self.page, per_page=PER_PAGE)
        self.credits = [credit_row(c) for c in self._paged(page)]
        self.org_options = [
            {"value": o.id, "label": o.name} for o in org_directory.organisations(actor)
        ]
        if self.credit_org not in [o["value"] for o in self.org_options]:
            self.credit_org = ""
        if not self.credit_period:
            self.credit_period = utcnow().strftime("%Y-%m")
        self._clusters(actor)

    @rx.event
    @authed
    def choose_org(self, actor: Actor, org_id: str) -> None:
        """Pick the organisation to credit (and offer its clusters)."""
        if org_id in [o["value"] for o in self.org_options]:
            self.credit_org = org_id
            self.field_errors = {k: v for k, v in self.field_errors.items() if k != "org_id"}
            self._clusters(actor)

    @rx.event
    def choose_cluster(self, cluster_id: str) -> None:
        """Pick the cluster the credit is for (or none)."""
        if cluster_id in [o["value"] for o in self.cluster_options]:
            self.credit_cluster = cluster_id

    @rx.event
    @authed
    def add_credit(self, actor: Actor, form: dict):  # noqa: ANN201
        """Add a manual credit with a reason; errors are shown beside the fields."""
        self.field_errors = {}
        self.credit_period = str(form.get("period", "")).strip()[:7]
        view = credits.add_credit(
            actor,
            org_id=self.credit_org,
            period=self.credit_period,
            amount=str(form.get("amount", "")).strip()[:32],
            reason=str(form.get("reason", ""))[:500],
            cluster_id="" if self.credit_cluster == NO_CLUSTER else self.credit_cluster,
        )
        self.page = 1
        page = credits.list_credits(actor, page=1, per_page=PER_PAGE)
        self.credits = [credit_row(c) for c in self._paged(page)]
        return [
            rx.set_value("credit-amount", ""),
            rx.set_value("credit-reason", ""),
            rx.toast.success(
                f"Credit of {amount(view.amount)} for {view.org_name} ({view.period}) added."
            ),
        ]
