"""Billing: price models, metering, rating, invoices, Stripe and invoice emails."""
