"""Exporting a log query's whole result: every matching line, as text or JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC
from typing import Any

from mkportal.services.actor import Actor
from mkportal.services.logs.query import LogFilters, search_logs
from mkportal.services.logs.store import LogRecord

PAGE = 1000
FORMATS = ("text", "jsonl")


def record_dict(r: LogRecord) -> dict[str, Any]:
    """Return a line as a JSON-ready dict."""
    return {
        "ts": r.ts.astimezone(UTC).isoformat(),
        "cluster_id": r.cluster_id,
        "stream": r.stream,
        "level": r.level,
        "namespace": r.namespace,
        "pod": r.pod,
        "container": r.container,
        "component": r.component,
        "message": r.message,
        "attrs": r.attrs,
    }


def text_line(r: dict[str, Any]) -> str:
    """Render one line (a `record_dict`) as ``ts LEVEL source message``."""
    source = r["component"] or "/".join(p for p in (r["namespace"], r["pod"], r["container"]) if p)
    return f"{r['ts']} {r['level'].upper():5} {source} {r['message']}\n"


def json_line(r: dict[str, Any]) -> str:
    """Render one line (a `record_dict`) as a JSON line."""
    return json.dumps(r, ensure_ascii=False) + "\n"


def as_text(records: list[dict]) -> str:
    """Render lines given newest first as plain text, oldest first."""
    return "".join(text_line(r) for r in reversed(records))


def as_json_lines(records: list[dict]) -> str:
    """Render lines given newest first as JSON lines, oldest first."""
    return "".join(json_line(r) for r in reversed(records))


def export_records(
    actor: Actor, cluster_id: str, filters: LogFilters, max_lines: int
) -> Iterator[dict[str, Any]]:
    """Yield every line matching `filters`, newest first, up to `max_lines`.

    Pages through the store with keyset cursors (each page authorized like a search), so
    memory stays bounded whatever the result's size.

    Raises:
        NotFound: Another organisation's cluster.
        Forbidden: Control-plane logs without the operator's grant.
        Invalid: Bad filters.

    """
    cursor, sent = filters.cursor, 0
    while sent < max_lines:
        page = search_logs(
            actor,
            cluster_id,
            replace(filters, cursor=cursor, direction="older", limit=min(PAGE, max_lines - sent)),
        )
        for r in page.items:
            yield record_dict(r)
        sent += len(page.items)
        if page.older is None or not page.items:
            return
        cursor = page.older.encode()
