"""Checking the fields of an alarm (all but its query, which alarms.py confines)."""

from __future__ import annotations

import ipaddress
import math
import socket
from typing import Any
from urllib.parse import urlparse

from mkportal.services.errors import Invalid
from mkportal.services.validation import clean_email, clean_name

COMPARATORS = (">", ">=", "<", "<=", "==", "!=")
SEVERITIES = ("info", "warning", "critical")
CHANNELS = ("email", "webhook", "in_app")
MAX_FOR_SECONDS = 24 * 3600
MAX_EMAILS = 10
PUBLIC_WEBHOOKS_ONLY = True  # tests post to loopback receivers and turn this off


def clean_fields(data: dict, default_email: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Check an alarm's fields except the query.

    Args:
        data: name, cluster_id, comparator, threshold, for_seconds, severity, channels,
            emails, webhook_url, enabled.
        default_email: The address used when no emails are given (the creator).

    Returns:
        The cleaned values, and error messages per field path (empty when all is well).

    """
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def check(field: str, fn) -> None:  # noqa: ANN001
        try:
            out[field] = fn()
        except Invalid as exc:
            errors.update(exc.errors)

    check("name", lambda: clean_name(data.get("name", ""), "name"))
    check("cluster_id", lambda: (data.get("cluster_id") or "").strip())
    check("comparator", lambda: _choice(data.get("comparator", ">"), COMPARATORS, "comparator"))
    check("threshold", lambda: _number(data.get("threshold", 0), "threshold"))
    check("for_seconds", lambda: _for_seconds(data.get("for_seconds", 0)))
    check("severity", lambda: _choice(data.get("severity", "warning"), SEVERITIES, "severity"))
    check("channels", lambda: _channels(data.get("channels") or []))
    check("emails", lambda: _emails(data.get("emails") or [], default_email))
    check("webhook_url", lambda: _webhook(data.get("webhook_url") or ""))
    out["enabled"] = bool(data.get("enabled", True))
    if "webhook" in out.get("channels", []) and not out.get("webhook_url") and not errors:
        errors["webhook_url"] = "Enter the URL the webhook channel posts to."
    return out, errors


def _number(value: Any, field: str) -> float:  # noqa: ANN401
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid({field: "Enter a number."}) from None
    if not math.isfinite(number):
        raise Invalid({field: "Enter a finite number."})
    return number


def _choice(value: Any, allowed: tuple[str, ...], field: str) -> str:  # noqa: ANN401
    if value not in allowed:
        raise Invalid({field: f"Choose one of {', '.join(allowed)}."})
    return value


def _for_seconds(value: Any) -> int:  # noqa: ANN401
    seconds = _number(value, "for_seconds")
    if seconds < 0 or seconds > MAX_FOR_SECONDS or seconds != int(seconds):
        raise Invalid({"for_seconds": "Enter whole seconds between 0 and 86400 (24 h)."})
    return int(seconds)


def _channels(values: list) -> list[str]:
    chosen = sorted({str(v) for v in values})
    unknown = [c for c in chosen if c not in CHANNELS]
    if unknown:
        raise Invalid({"channels": f"Unknown channel {unknown[0]}; use email, webhook, in_app."})
    if not chosen:
        raise Invalid({"channels": "Choose at least one channel."})
    return chosen


def _emails(values: list, default: str) -> list[str]:
    cleaned = [v.strip() for v in values if isinstance(v, str) and v.strip()]
    if len(cleaned) > MAX_EMAILS:
        raise Invalid({"emails": f"Enter at most {MAX_EMAILS} addresses."})
    out = [clean_email(e, f"emails.{i}") for i, e in enumerate(cleaned)]
    return sorted(set(out)) or ([default] if default and "@" in default else [])


def _webhook(url: str) -> str:
    url = url.strip()
    if not url:
        return ""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or len(url) > 500:
        raise Invalid({"webhook_url": "Enter an http:// or https:// URL (at most 500 chars)."})
    if PUBLIC_WEBHOOKS_ONLY and _literal_private(parsed.hostname):
        raise Invalid({"webhook_url": "Use a public address (not loopback or a private network)."})
    return url


def _literal_private(host: str) -> bool:
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_global
    except ValueError:
        return host.lower() == "localhost" or host.lower().endswith(".localhost")


def webhook_address_error(url: str) -> str:
    """Return why the portal must not post to `url` now ("" when its host is public).

    Every address the host name resolves to must be global (not loopback, private,
    link-local or reserved), so alarms cannot reach services inside the portal's network.
    """
    if not PUBLIC_WEBHOOKS_ONLY:
        return ""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parsed.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return f"cannot resolve {host}"
    if not infos or any(not ipaddress.ip_address(i[4][0]).is_global for i in infos):
        return f"{host} is not a public address"
    return ""
