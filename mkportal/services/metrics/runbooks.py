"""Runbooks: the Markdown files in `mkportal/runbooks/`, one per predefined alert.

Operators list, search and read them (/admin/runbooks); every alert's `runbook_url`
annotation and every incident links to `/admin/runbooks/<slug>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from mkportal.services.actor import Actor
from mkportal.services.errors import NotFound
from mkportal.services.metrics import catalog

RUNBOOK_DIR = Path(__file__).resolve().parents[2] / "runbooks"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
MAX_QUERY = 200


@dataclass(frozen=True)
class RunbookSummary:
    """A runbook in the list: its slug, title, alert, severity and first paragraph."""

    slug: str
    title: str
    alertname: str
    severity: str
    summary: str


@dataclass(frozen=True)
class Runbook:
    """A runbook with its Markdown text."""

    slug: str
    title: str
    alertname: str
    severity: str
    summary: str
    markdown: str


def _title(text: str, slug: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return slug


@lru_cache(maxsize=1)
def _load() -> dict[str, Runbook]:
    books: dict[str, Runbook] = {}
    for path in sorted(RUNBOOK_DIR.glob("*.md")):
        slug = path.stem
        if not SLUG_RE.match(slug):
            continue
        text = path.read_text(encoding="utf-8")
        spec = catalog.ALERTS_BY_RUNBOOK.get(slug)
        books[slug] = Runbook(
            slug=slug,
            title=_title(text, slug),
            alertname=spec.name if spec else "",
            severity=spec.severity if spec else "",
            summary=spec.summary if spec else "",
            markdown=text,
        )
    return books


def _summary(book: Runbook) -> RunbookSummary:
    return RunbookSummary(book.slug, book.title, book.alertname, book.severity, book.summary)


def list_runbooks(actor: Actor, query: str = "") -> list[RunbookSummary]:
    """List runbooks by title; with `query`, those whose every word occurs in them.

    The search is case-insensitive over the title, the alert name and the whole text;
    matches in the title or alert name come first.
    """
    actor.require_operator()
    words = [w for w in query.lower()[:MAX_QUERY].split() if w]
    hits: list[tuple[int, str, Runbook]] = []
    for book in _load().values():
        head = f"{book.title} {book.alertname} {book.slug}".lower()
        body = book.markdown.lower()
        if all(w in head or w in body for w in words):
            rank = 0 if words and all(w in head for w in words) else 1
            hits.append((rank, book.title.lower(), book))
    return [_summary(b) for _, _, b in sorted(hits, key=lambda h: (h[0], h[1]))]


def get(actor: Actor, slug: str) -> Runbook:
    """Return one runbook by slug (operators only; 404 when there is none)."""
    actor.require_operator()
    book = _load().get(slug) if SLUG_RE.match(slug or "") else None
    if book is None:
        raise NotFound("No such runbook.")
    return book
