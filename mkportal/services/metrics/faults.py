"""Injected metric faults of sandbox clusters (operators only) and their timeline.

`SandboxCluster.faults` holds the current faults plus `history`, one entry
`[unix time, api_down, error_ratio, latency_seconds]` per change, so the simulated
counters can be integrated piecewise and stay monotonic across fault changes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from mkportal.db import session_scope
from mkportal.models.cluster import Cluster
from mkportal.models.sandbox import SandboxCluster
from mkportal.services import audit
from mkportal.services.actor import Actor
from mkportal.services.errors import Invalid, NotFound

BASE_ERROR_RATIO = 0.001
MAX_ERROR_RATIO = 0.95
MAX_LATENCY = 60.0
FIELDS = (
    "api_down",
    "error_ratio",
    "latency_seconds",
    "nodes_not_ready",
    "cert_expiry_days",
    "backup_stale",
)


@dataclass(frozen=True)
class Segment:
    """A period with constant API faults; `end` None means it is still going on."""

    start: float
    end: float | None
    down: bool
    error_ratio: float
    latency_seconds: float


def timeline(faults: dict, origin: float) -> list[Segment]:
    """Return the fault segments from `origin` (the cluster's start) on."""
    state = (False, BASE_ERROR_RATIO, 0.0)
    starts: list[tuple[float, tuple[bool, float, float]]] = [(origin, state)]
    for at, down, ratio, latency in faults.get("history", []):
        entry = (bool(down), max(BASE_ERROR_RATIO, float(ratio)), float(latency))
        if at <= origin:
            starts = [(origin, entry)]
        else:
            starts.append((float(at), entry))
    segments = []
    for i, (start, (down, ratio, latency)) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else None
        segments.append(Segment(start, end, down, ratio, latency))
    return segments


def public(faults: dict) -> dict:
    """Return the faults as shown to operators (without the history)."""
    return {
        "api_down": bool(faults.get("api_down", False)),
        "error_ratio": float(faults.get("error_ratio", 0.0)),
        "latency_seconds": float(faults.get("latency_seconds", 0.0)),
        "nodes_not_ready": int(faults.get("nodes_not_ready", 0)),
        "cert_expiry_days": faults.get("cert_expiry_days"),
        "backup_stale": bool(faults.get("backup_stale", False)),
    }


def _number(raw: object, key: str, low: float, high: float, errors: dict) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        errors[key] = "Enter a number."
        return low
    if not math.isfinite(value) or not low <= value <= high:
        errors[key] = f"Enter a number from {low:g} to {high:g}."
    return value


def validate(raw: dict) -> dict:
    """Return clean faults from user input.

    Raises:
        Invalid: Unknown fields or values out of range (per field).
    """
    errors: dict[str, str] = {}
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        errors["faults"] = f"Unknown faults: {', '.join(unknown)}."
    clean = {
        "api_down": bool(raw.get("api_down", False)),
        "backup_stale": bool(raw.get("backup_stale", False)),
        "error_ratio": _number(
            raw.get("error_ratio", 0), "error_ratio", 0, MAX_ERROR_RATIO, errors
        ),
        "latency_seconds": _number(
            raw.get("latency_seconds", 0), "latency_seconds", 0, MAX_LATENCY, errors
        ),
        "nodes_not_ready": int(
            _number(raw.get("nodes_not_ready", 0), "nodes_not_ready", 0, 1000, errors)
        ),
        "cert_expiry_days": None,
    }
    if raw.get("cert_expiry_days") not in (None, ""):
        clean["cert_expiry_days"] = _number(
            raw["cert_expiry_days"], "cert_expiry_days", 0, 3650, errors
        )
    if errors:
        raise Invalid(errors)
    return clean


def _sandbox_of(s, actor: Actor, cluster_id: str) -> tuple[Cluster, SandboxCluster]:  # noqa: ANN001
    actor.require_operator()
    cluster = s.get(Cluster, cluster_id)
    if cluster is None or cluster.deleted_at is not None:
        raise NotFound("Not found.")
    sb = s.get(SandboxCluster, cluster.provider_ref) if cluster.provider == "sandbox" else None
    if sb is None:
        raise Invalid({"cluster": "Faults can only be injected into sandbox clusters."})
    return cluster, sb


def get_faults(actor: Actor, cluster_id: str) -> dict:
    """Return a sandbox cluster's current faults (operators only; 404 for others)."""
    with session_scope() as s:
        return public(_sandbox_of(s, actor, cluster_id)[1].faults or {})


def set_faults(actor: Actor, cluster_id: str, faults: dict, now: float | None = None) -> dict:
    """Replace a sandbox cluster's injected metric faults (operators only, audited).

    Args:
        actor: Must be an operator (others get NotFound).
        cluster_id: A sandbox cluster's portal id.
        faults: Any of api_down (bool), error_ratio (0..0.95), latency_seconds (0..60,
            0 = normal), nodes_not_ready (count), cert_expiry_days (days from now, or None),
            backup_stale (bool).
        now: Unix time of the change (tests); default the current time.

    Returns:
        The faults now in force.

    Raises:
        NotFound: Not an operator, or no such cluster.
        Invalid: Not a sandbox cluster, or bad values.
    """
    clean = validate(faults)
    at = time.time() if now is None else now
    with session_scope() as s:
        cluster, sb = _sandbox_of(s, actor, cluster_id)
        old = dict(sb.faults or {})
        history = list(old.get("history", []))
        api = (clean["api_down"], clean["error_ratio"], clean["latency_seconds"])
        last = tuple(history[-1][1:]) if history else (False, 0.0, 0.0)
        if api != last:
            history.append([at, *api])
        stored = {**clean, "history": history}
        days = clean["cert_expiry_days"]
        if days is not None:
            same = old.get("cert_expiry_days") == days and old.get("cert_expiry_at")
            stored["cert_expiry_at"] = old["cert_expiry_at"] if same else at + days * 86400
        if clean["backup_stale"]:
            stored["backup_frozen_at"] = old.get("backup_frozen_at") or at - 3 * 86400
        sb.faults = stored
        s.add(sb)
        audit.record(
            s,
            actor,
            "metrics.faults_set",
            target_type="cluster",
            target_id=cluster.id,
            org_id=cluster.org_id,
            detail=public(stored),
        )
        return public(stored)
