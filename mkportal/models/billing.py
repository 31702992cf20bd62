"""Billing: price models, hourly usage, invoices, credits, SLO reports and Stripe bookkeeping.

Money is stored exactly: `Money` is NUMERIC on PostgreSQL and text on SQLite (whose
NUMERIC would go through a float), and is always a `Decimal` in Python.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from mkportal.models.base import new_id, utcnow


class Money(TypeDecorator):
    """An exact decimal: NUMERIC(18, 6) on PostgreSQL, TEXT on SQLite."""

    impl = sa.Numeric(18, 6)
    cache_ok = True

    def load_dialect_impl(self, dialect):  # noqa: ANN001, ANN201, D102
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(18, 6))

    def process_bind_param(self, value, dialect):  # noqa: ANN001, ANN201, D102
        if value is None:
            return None
        value = Decimal(value)
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # noqa: ANN001, ANN201, D102
        return None if value is None else Decimal(str(value))


def money_column(**kwargs) -> Column:  # noqa: ANN003
    """Return a NOT NULL `Money` column defaulting to 0."""
    return Column(Money(), nullable=False, default=Decimal(0), **kwargs)


BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class PriceModel(SQLModel, table=True):
    """One version of the price model, in force from `effective_from` until the next one.

    `components` holds the prices as decimal strings (validated by
    `mkportal.services.billing.prices.PriceComponents`).
    """

    __tablename__ = "price_model"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    version: int = Field(unique=True)
    effective_from: datetime = Field(unique=True, index=True)
    currency: str = Field(default="CHF", max_length=3)
    components: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=500)
    created_by: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow)


class UsageRecord(SQLModel, table=True):
    """What one cluster used in one hour, per component (idempotent on the unique key).

    Components: ``cluster`` (sku = service level, quantity 1), ``node`` (sku =
    ``provider/machine_type``, pool = pool name, quantity = nodes), ``feature`` (sku =
    feature slug, quantity 1), ``load_balancer`` (quantity = LoadBalancer services) and
    ``storage`` (quantity = GiB of bound volumes).
    """

    __tablename__ = "usage_record"
    __table_args__ = (
        UniqueConstraint("cluster_id", "hour", "component", "sku", "pool", name="uq_usage_key"),
        Index("ix_usage_org_hour", "org_id", "hour"),
        Index("ix_usage_hour", "hour"),
    )

    id: int | None = Field(default=None, sa_column=Column(BIGINT_PK, primary_key=True))
    org_id: str = Field(max_length=32)
    cluster_id: str = Field(max_length=32)
    hour: datetime
    service_level: str = Field(max_length=32)
    component: str = Field(max_length=16)
    sku: str = Field(default="", max_length=100)
    pool: str = Field(default="", max_length=40)
    quantity: int = 0


class MeterCursor(SQLModel, table=True):
    """The first hour not metered yet (metering backfills from here after downtime)."""

    __tablename__ = "meter_cursor"

    name: str = Field(primary_key=True, max_length=32)
    next_hour: datetime


class BillingAccount(SQLModel, table=True):
    """An organisation's billing details and its Stripe customer."""

    __tablename__ = "billing_account"

    org_id: str = Field(foreign_key="organization.id", primary_key=True, max_length=32)
    billing_email: str = Field(default="", max_length=254)
    stripe_customer_id: str = Field(default="", max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class InvoiceStatus:
    """The invoice life cycle: draft -> finalized -> sent -> paid | payment_failed | void."""

    draft = "draft"
    finalized = "finalized"
    sent = "sent"
    paid = "paid"
    payment_failed = "payment_failed"
    void = "void"


class Invoice(SQLModel, table=True):
    """One organisation's invoice for one month."""

    __table_args__ = (UniqueConstraint("org_id", "period", name="uq_invoice_org_period"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    period: str = Field(index=True, max_length=7)
    number: str = Field(unique=True, max_length=32)
    currency: str = Field(default="CHF", max_length=3)
    status: str = Field(default=InvoiceStatus.draft, index=True, max_length=16)
    subtotal: Decimal = Field(default=Decimal(0), sa_column=money_column())
    credit_total: Decimal = Field(default=Decimal(0), sa_column=money_column())
    total: Decimal = Field(default=Decimal(0), sa_column=money_column())
    price_versions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    stripe_invoice_id: str = Field(default="", max_length=64)
    stripe_url: str = Field(default="", max_length=500)
    failure_reason: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    finalized_at: datetime | None = None
    sent_at: datetime | None = None
    emailed_at: datetime | None = None
    paid_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class InvoiceLine(SQLModel, table=True):
    """One line of an invoice: a cluster's component, rated under one price version."""

    __tablename__ = "invoice_line"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    invoice_id: str = Field(foreign_key="invoice.id", index=True, max_length=32)
    position: int = 0
    cluster_id: str = Field(default="", max_length=32)
    cluster_name: str = Field(default="", max_length=40)
    component: str = Field(max_length=16)
    sku: str = Field(default="", max_length=100)
    description: str = Field(max_length=300)
    quantity: Decimal = Field(default=Decimal(0), sa_column=money_column())
    unit: str = Field(default="", max_length=16)
    unit_price: Decimal = Field(default=Decimal(0), sa_column=money_column())
    amount: Decimal = Field(default=Decimal(0), sa_column=money_column())
    price_version: int = 0
    stripe_item_id: str = Field(default="", max_length=64)


class Credit(SQLModel, table=True):
    """A service credit deducted from an organisation's invoice of `period`.

    `source` is ``slo`` (computed from an SLO report and the level's credit policy) or
    ``manual`` (added by an operator with a reason).
    """

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    period: str = Field(index=True, max_length=7)
    cluster_id: str = Field(default="", max_length=32)
    amount: Decimal = Field(default=Decimal(0), sa_column=money_column())
    reason: str = Field(max_length=500)
    source: str = Field(default="manual", max_length=16)
    created_by: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow)


class SloReport(SQLModel, table=True):
    """A cluster's measured availability for a month (consumed by billing for credits).

    Availability, target and error budget used are percentages. `source` says where the
    downtime came from ("prometheus", "incidents" or "manual"); `final` is false while
    the month is still running.
    """

    __tablename__ = "slo_report"
    __table_args__ = (UniqueConstraint("cluster_id", "period", name="uq_slo_cluster_period"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    org_id: str = Field(foreign_key="organization.id", index=True, max_length=32)
    cluster_id: str = Field(max_length=32)
    period: str = Field(index=True, max_length=7)
    service_level: str = Field(max_length=32)
    availability: Decimal = Field(sa_column=money_column())
    target: Decimal = Field(sa_column=money_column())
    downtime_minutes: int = 0
    observed_minutes: int = 0
    error_budget_used: Decimal = Field(default=Decimal(0), sa_column=money_column())
    incidents: int = 0
    source: str = Field(default="manual", max_length=16)
    final: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class StripeEvent(SQLModel, table=True):
    """A Stripe webhook event already processed (replays are ignored)."""

    __tablename__ = "stripe_event"

    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=100)
    received_at: datetime = Field(default_factory=utcnow)
