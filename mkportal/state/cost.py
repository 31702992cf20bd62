"""Money as the UI shows it: amounts, signed differences and cost-impact summaries."""

from __future__ import annotations

from decimal import Decimal

from mkportal.services.clusters.quotes import CostImpact


def amount(value: Decimal, currency: str = "") -> str:
    """Format money with two decimals and thousands separators: ``1,234.50 CHF``."""
    text = f"{value:,.2f}"
    return f"{text} {currency}" if currency else text


def signed(value: Decimal, currency: str = "") -> str:
    """Format a difference with its sign: ``+12.40 CHF``, ``-3.00 CHF``, ``±0.00 CHF``."""
    sign = "+" if value > 0 else "-" if value < 0 else "±"
    return f"{sign}{amount(abs(value), currency)}"


def impact_summary(impact: CostImpact, changed: bool) -> dict[str, str]:
    """Return what a cost-impact box shows (all strings, for the Reflex state).

    Keys: ``now``, ``after``, ``difference`` (per month), ``tone`` (``up``, ``down`` or
    ``same``), ``changed`` (``yes``/``no``: whether the form differs from the cluster)
    and ``range`` (a sentence when autoscaling makes the cost vary, else empty).
    """
    cur = impact.currency
    diff = impact.difference
    rng = ""
    if impact.low is not None and impact.high is not None and impact.low != impact.high:
        rng = (
            f"With autoscaling: between {amount(impact.low, cur)} and "
            f"{amount(impact.high, cur)} per month, depending on the load."
        )
    return {
        "now": f"{amount(impact.current, cur)}/month",
        "after": f"{amount(impact.proposed, cur)}/month",
        "difference": f"{signed(diff, cur)}/month",
        "tone": "up" if diff > 0 else "down" if diff < 0 else "same",
        "changed": "yes" if changed else "no",
        "range": rng,
    }


def impact_lines(impact: CostImpact) -> list[dict[str, str]]:
    """Return the lines whose amount changes, as display strings."""
    return [
        {
            "label": line.label,
            "now": amount(line.current),
            "after": amount(line.proposed),
            "difference": signed(line.difference),
        }
        for line in impact.lines
        if line.difference != 0
    ]
