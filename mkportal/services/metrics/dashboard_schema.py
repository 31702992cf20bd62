"""Validation of custom dashboards: names and panels (see services/metrics/dashboards.py)."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from mkportal.models.cluster import Cluster
from mkportal.services.errors import Invalid
from mkportal.services.metrics import promql

CHARTS = ("line", "area", "bar", "stat")
MAX_PANELS = 30
MAX_THRESHOLDS = 5
COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "gray")
COLOR_RE = re.compile(r"^(#[0-9a-fA-F]{6}|red|orange|yellow|green|blue|purple|gray)$")


def _text(errors: dict[str, str], key: str, value: object, limit: int, *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else None
    if text is None and value is not None:
        errors[key] = "Must be text."
        return ""
    text = text or ""
    if required and not text:
        errors[key] = "Required."
    elif len(text) > limit:
        errors[key] = f"At most {limit} characters."
    return text


def validate_panel(s: Session, org_id: str, raw: object, prefix: str = "panel") -> dict[str, Any]:
    """Return a clean panel from user input.

    Raises:
        Invalid: With field paths such as ``panel.query`` or ``panels.2.thresholds``.
    """
    if not isinstance(raw, dict):
        raise Invalid({prefix: "Must be an object."})
    errors: dict[str, str] = {}
    title = _text(errors, f"{prefix}.title", raw.get("title"), 100, required=True)
    query = _text(errors, f"{prefix}.query", raw.get("query"), promql.MAX_LENGTH, required=True)
    if f"{prefix}.query" not in errors:
        try:
            promql.validate(query)
        except Invalid as exc:
            errors[f"{prefix}.query"] = exc.errors["query"]
    chart = raw.get("chart") or "line"
    if chart not in CHARTS:
        errors[f"{prefix}.chart"] = f"Choose one of {', '.join(CHARTS)}."
    unit = _text(errors, f"{prefix}.unit", raw.get("unit"), 20, required=False)
    cluster_id = raw.get("cluster_id") or ""
    if cluster_id:
        row = s.get(Cluster, cluster_id) if isinstance(cluster_id, str) else None
        if row is None or row.org_id != org_id:
            errors[f"{prefix}.cluster_id"] = "No such cluster in this organisation."
    thresholds = _thresholds(errors, f"{prefix}.thresholds", raw.get("thresholds") or [])
    if errors:
        raise Invalid(errors)
    return {
        "title": title,
        "query": query,
        "chart": chart,
        "unit": unit,
        "thresholds": thresholds,
        "cluster_id": cluster_id,
    }


def _thresholds(errors: dict[str, str], key: str, raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or len(raw) > MAX_THRESHOLDS:
        errors[key] = f"A list of at most {MAX_THRESHOLDS} thresholds."
        return []
    out = []
    for item in raw:
        value = item.get("value") if isinstance(item, dict) else None
        color = item.get("color", "red") if isinstance(item, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors[key] = "Each threshold needs a numeric value."
        elif not isinstance(color, str) or not COLOR_RE.match(color):
            errors[key] = "Colours are a named colour (red, orange, ...) or #rrggbb."
        else:
            out.append({"value": float(value), "color": color})
    return sorted(out, key=lambda t: t["value"])


def clean_panels(s: Session, org_id: str, raw: object) -> list[dict[str, Any]]:
    """Return clean panels (field paths ``panels.<i>.*`` in errors).

    Raises:
        Invalid: Not a list, too many panels, or a bad panel.
    """
    if not isinstance(raw, list):
        raise Invalid({"panels": "Must be a list."})
    if len(raw) > MAX_PANELS:
        raise Invalid({"panels": f"At most {MAX_PANELS} panels."})
    return [validate_panel(s, org_id, p, f"panels.{i}") for i, p in enumerate(raw)]


def clean_name(name: object, description: object) -> tuple[str, str]:
    """Return a clean dashboard name and description.

    Raises:
        Invalid: Missing or too long (fields ``name``, ``description``).
    """
    errors: dict[str, str] = {}
    clean = _text(errors, "name", name, 100, required=True)
    desc = _text(errors, "description", description, 1000, required=False)
    if errors:
        raise Invalid(errors)
    return clean, desc
