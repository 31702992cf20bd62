"""The production log store: PostgreSQL, ``log_line`` partitioned by day of expiry.

Each partition ``log_line_pYYYYMMDD`` holds the lines that expire on that day, so
retention is a matter of dropping whole partitions. Partitions are created on demand as a
separate table and attached (SHARE UPDATE EXCLUSIVE: readers and writers are not blocked),
serialised across processes by an advisory lock.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection

from mkportal.services.logs.store import LogQuery, NewLine, SqlStore, search_terms

log = logging.getLogger(__name__)

COPY = (
    "COPY log_line (org_id, cluster_id, ts, stream, namespace, pod, container, component, "
    "level, message, attrs, expires_on) FROM STDIN"
)
PARTITION = re.compile(r"^log_line_p(\d{8})$")
MAX_RETENTION_DAYS = 90
_KNOWN: dict[str, set[date]] = {}
# The indexed document: the 'simple' parser keeps paths, URLs and hosts as one token, so
# their separators become spaces (as on SQLite, where FTS5 splits on punctuation).
FTS_DOC = "to_tsvector('simple', translate(message, '/.@:=', '     '))"
FTS_QUERY = "plainto_tsquery('simple', translate(:tsq, '/.@:=', '     '))"


def partition_name(day: date) -> str:
    """Return the name of the partition holding lines that expire on `day`."""
    return f"log_line_p{day:%Y%m%d}"


class PgLogStore(SqlStore):
    """Log lines in a day-partitioned PostgreSQL table with a GIN full-text index."""

    @property
    def _known(self) -> set[date]:
        return _KNOWN.setdefault(str(self.engine.url), set())

    def _text_clause(self, query: LogQuery, params: dict) -> str:
        if search_terms(query.text):
            params["tsq"] = query.text
            return f"{FTS_DOC} @@ {FTS_QUERY}"
        params["literal"] = query.text.strip().lower()
        return "strpos(lower(message), :literal) > 0"

    def _extra_clauses(self, query: LogQuery, params: dict) -> list[str]:
        # expires_on lies in (ts date, ts date + 90 days]: lets the planner prune partitions.
        clauses = []
        if query.start is not None:
            params["exp_min"] = query.start.date()
            clauses.append("expires_on > :exp_min")
        if query.end is not None:
            params["exp_max"] = query.end.date() + timedelta(days=MAX_RETENTION_DAYS + 1)
            clauses.append("expires_on <= :exp_max")
        return clauses

    def ensure_partitions(self, days: set[date]) -> None:
        """Create the partitions for `days` that do not exist yet (safe under concurrency)."""
        for day in sorted(days - self._known):
            name = partition_name(day)
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})
                if conn.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar() is None:
                    conn.execute(
                        text(
                            f"CREATE TABLE {name} (LIKE log_line INCLUDING DEFAULTS "
                            "INCLUDING CONSTRAINTS)"
                        )
                    )
                    conn.execute(
                        text(
                            f"ALTER TABLE log_line ATTACH PARTITION {name} FOR VALUES "
                            f"FROM ('{day.isoformat()}') TO ('{(day + timedelta(days=1)).isoformat()}')"
                        )
                    )
            self._known.add(day)

    def insert(self, lines: list[NewLine], conn: Connection | None = None) -> int:
        """COPY `lines` into their day partitions (in `conn`'s transaction when given)."""
        if not lines:
            return 0
        self.ensure_partitions({ln.expires_on for ln in lines})
        if conn is not None:
            self._copy(conn, lines)
        else:
            with self.engine.begin() as own:
                self._copy(own, lines)
        return len(lines)

    @staticmethod
    def _copy(conn: Connection, lines: list[NewLine]) -> None:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(COPY) as copy:
            for ln in lines:
                copy.write_row(
                    (
                        ln.org_id,
                        ln.cluster_id,
                        ln.ts,
                        ln.stream,
                        ln.namespace,
                        ln.pod,
                        ln.container,
                        ln.component,
                        ln.level,
                        ln.message,
                        json.dumps(ln.attrs, separators=(",", ":")),
                        ln.expires_on,
                    )
                )

    def partitions(self) -> list[date]:
        """Return the expiry days of the existing partitions, oldest first."""
        with self.engine.connect() as conn:
            names = conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'log_line'"
                )
            ).scalars()
            days = [
                datetime.strptime(m.group(1), "%Y%m%d").date()
                for m in (PARTITION.match(n) for n in names)
                if m
            ]
        return sorted(days)

    def enforce_retention(self, today: date) -> int:
        """Drop the partitions whose expiry day is before `today`.

        Returns:
            The number of partitions dropped.

        """
        dropped = 0
        for day in self.partitions():
            if day >= today:
                break
            name = partition_name(day)
            with self.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                conn.execute(text("SET lock_timeout = '30s'"))
                conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
            self._known.discard(day)
            dropped += 1
        return dropped
