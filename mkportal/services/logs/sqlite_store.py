"""The embedded log store: a plain SQLite table with an FTS5 external-content index."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import text
from sqlalchemy.engine import Connection

from mkportal.services.logs.store import LogQuery, NewLine, SqlStore, search_terms

INSERT = text(
    "INSERT INTO log_line (org_id, cluster_id, ts, stream, namespace, pod, container, "
    "component, level, message, attrs, expires_on) VALUES (:org_id, :cluster_id, :ts, "
    ":stream, :namespace, :pod, :container, :component, :level, :message, :attrs, :expires_on)"
)
RETENTION_BATCH = 5000


def fts_match(terms: list[str]) -> str:
    """Return an FTS5 MATCH expression that ANDs `terms`, each quoted as a plain string."""
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


class SqliteLogStore(SqlStore):
    """Log lines in SQLite; the FTS5 index is kept in sync by triggers (same transaction)."""

    def _text_clause(self, query: LogQuery, params: dict) -> str:
        terms = search_terms(query.text)
        if terms:
            params["fts"] = fts_match(terms)
            return "id IN (SELECT rowid FROM log_line_fts WHERE log_line_fts MATCH :fts)"
        params["literal"] = query.text.strip().lower()
        return "instr(lower(message), :literal) > 0"

    def insert(self, lines: list[NewLine], conn: Connection | None = None) -> int:
        """Insert `lines` in one statement batch (in `conn`'s transaction when given)."""
        if not lines:
            return 0
        rows = [
            {
                "org_id": ln.org_id,
                "cluster_id": ln.cluster_id,
                "ts": ln.ts,
                "stream": ln.stream,
                "namespace": ln.namespace,
                "pod": ln.pod,
                "container": ln.container,
                "component": ln.component,
                "level": ln.level,
                "message": ln.message,
                "attrs": json.dumps(ln.attrs, separators=(",", ":")),
                "expires_on": ln.expires_on.isoformat(),
            }
            for ln in lines
        ]
        if conn is not None:
            conn.execute(INSERT, rows)
        else:
            with self.engine.begin() as own:
                own.execute(INSERT, rows)
        return len(rows)

    def enforce_retention(self, today: date) -> int:
        """Delete expired lines in batches of 5,000 (one short transaction each)."""
        removed = 0
        while True:
            with self.engine.begin() as conn:
                n = conn.execute(
                    text(
                        "DELETE FROM log_line WHERE id IN (SELECT id FROM log_line "
                        "WHERE expires_on < :today LIMIT :batch)"
                    ),
                    {"today": today.isoformat(), "batch": RETENTION_BATCH},
                ).rowcount
            removed += n
            if n < RETENTION_BATCH:
                return removed
