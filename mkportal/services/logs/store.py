"""The narrow log-store interface, its value types, and the backend chosen by DATABASE_URL.

The store knows nothing about users or roles: callers (``query.py``, ``ingest.py``)
authorize first and pass a fully scoped `LogQuery`. A Loki/LogQL backend can replace the
SQL stores by implementing `LogStore`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection

STREAMS = ("app", "control-plane")
LEVELS = ("debug", "info", "warn", "error", "fatal", "unknown")
COMPONENTS = ("kube-apiserver", "kube-scheduler", "kube-controller-manager", "audit")
MAX_LIMIT = 1000
COLUMNS = (
    "id, org_id, cluster_id, ts, stream, namespace, pod, container, component, level, "
    "message, attrs, expires_on"
)
_TERM = re.compile(r"\w+", re.UNICODE)


def to_micros(ts: datetime) -> int:
    """Return `ts` as integer microseconds since the epoch (naive datetimes are UTC)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(us: int) -> datetime:
    """Return the UTC datetime of `us` microseconds since the epoch."""
    return datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)


def search_terms(text_query: str) -> list[str]:
    """Split a search text into the lower-case words that are matched and highlighted."""
    return [t.lower() for t in _TERM.findall(text_query or "")]


@dataclass(frozen=True)
class NewLine:
    """A validated line to insert (the ingest path builds these)."""

    org_id: str
    cluster_id: str
    ts: int
    stream: str
    level: str
    message: str
    expires_on: date
    namespace: str = ""
    pod: str = ""
    container: str = ""
    component: str = ""
    attrs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the (ts, id) of a line."""

    ts: int
    id: int

    def encode(self) -> str:
        """Return the opaque string form used in APIs."""
        return f"{self.ts}.{self.id}"

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Parse `encode()`'s output.

        Raises:
            ValueError: Not a cursor.

        """
        ts, _, line_id = value.partition(".")
        return cls(int(ts), int(line_id))


@dataclass
class LogQuery:
    """What to read. The caller has already authorized org_id, cluster_id and stream.

    Attributes:
        org_id: The organisation whose lines are read (always applied).
        cluster_id: One cluster, or None for all of the org's clusters.
        stream: "app" or "control-plane".
        start: Inclusive lower bound of ts (UTC), or None.
        end: Exclusive upper bound of ts (UTC), or None.
        namespace: Exact namespace filter ("" = any).
        pod: Exact pod filter.
        container: Exact container filter.
        levels: Keep only these levels (empty = any).
        component: Exact component filter (control-plane).
        text: Full-text search; words are matched (AND); never interpreted as syntax.
        cursor: Keyset position to continue from.
        direction: "older" (the default, newest first) or "newer" than the cursor.
        limit: Page size, 1..1000.

    """

    org_id: str | None
    cluster_id: str | None = None
    stream: str = "app"
    start: datetime | None = None
    end: datetime | None = None
    namespace: str = ""
    pod: str = ""
    container: str = ""
    levels: tuple[str, ...] = ()
    component: str = ""
    text: str = ""
    cursor: Cursor | None = None
    direction: str = "older"
    limit: int = 100


@dataclass
class LogRecord:
    """A stored line as read back; `highlights` are [start, end) character offsets."""

    id: int
    org_id: str
    cluster_id: str
    ts: datetime
    stream: str
    namespace: str
    pod: str
    container: str
    component: str
    level: str
    message: str
    attrs: dict
    highlights: list[tuple[int, int]] = field(default_factory=list)

    @property
    def cursor(self) -> Cursor:
        """Return the keyset position of the line."""
        return Cursor(to_micros(self.ts), self.id)


@dataclass
class LogPage:
    """A page of lines, newest first, with cursors to the older and newer neighbours."""

    items: list[LogRecord]
    older: Cursor | None
    newer: Cursor | None


@dataclass
class Bucket:
    """One histogram bucket: [start, start + width) with counts per level."""

    start: datetime
    count: int
    levels: dict[str, int]


class LogStore(Protocol):
    """The storage backend of historic logs."""

    def insert(self, lines: list[NewLine], conn: Connection | None = None) -> int:
        """Insert lines (in `conn`'s transaction when given); return how many."""

    def search(self, query: LogQuery) -> LogPage:
        """Return one page of lines matching `query`, newest first."""

    def histogram(self, query: LogQuery, buckets: int) -> list[Bucket]:
        """Count matching lines in `buckets` equal slices of [query.start, query.end)."""

    def context(self, query: LogQuery, line_id: int, before: int, after: int) -> list[LogRecord]:
        """Return a line and its neighbours of the same pod/container (or component)."""

    def tail(self, query: LogQuery, after: Cursor | None) -> list[LogRecord]:
        """Return lines newer than `after`, oldest first (the last `limit` when None)."""

    def enforce_retention(self, today: date) -> int:
        """Remove lines with expires_on < today; return the lines (or partitions) removed."""


def highlight(message: str, terms: list[str], literal: str = "") -> list[tuple[int, int]]:
    """Return the sorted [start, end) offsets of `terms` (whole words) or `literal` in `message`."""
    spans: list[tuple[int, int]] = []
    lower = message.lower()
    if terms:
        wanted = set(terms)
        for m in _TERM.finditer(lower):
            if m.group(0) in wanted:
                spans.append((m.start(), m.end()))
    elif literal:
        needle = literal.lower()
        start = lower.find(needle)
        while start >= 0 and len(spans) < 100:
            spans.append((start, start + len(needle)))
            start = lower.find(needle, start + len(needle))
    return spans


def row_record(row, terms: list[str], literal: str) -> LogRecord:  # noqa: ANN001
    """Build a LogRecord from a row selected with COLUMNS."""
    attrs = row.attrs
    if isinstance(attrs, str):
        attrs = json.loads(attrs)
    return LogRecord(
        id=row.id,
        org_id=row.org_id,
        cluster_id=row.cluster_id,
        ts=from_micros(row.ts),
        stream=row.stream,
        namespace=row.namespace,
        pod=row.pod,
        container=row.container,
        component=row.component,
        level=row.level,
        message=row.message,
        attrs=attrs or {},
        highlights=highlight(row.message, terms, literal),
    )


class SqlStore:
    """The SQL shared by the SQLite and PostgreSQL stores; subclasses add text search."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        """Use `engine` for every read and write."""
        self.engine = engine

    def _text_clause(self, query: LogQuery, params: dict) -> str:
        raise NotImplementedError

    def _where(self, query: LogQuery, params: dict) -> list[str]:
        clauses = ["stream = :stream"]
        params["stream"] = query.stream
        if query.org_id is not None:
            clauses.append("org_id = :org_id")
            params["org_id"] = query.org_id
        if query.cluster_id:
            clauses.append("cluster_id = :cluster_id")
            params["cluster_id"] = query.cluster_id
        if query.start is not None:
            clauses.append("ts >= :start")
            params["start"] = to_micros(query.start)
        if query.end is not None:
            clauses.append("ts < :end")
            params["end"] = to_micros(query.end)
        for name in ("namespace", "pod", "container", "component"):
            value = getattr(query, name)
            if value:
                clauses.append(f"{name} = :{name}")
                params[name] = value
        if query.levels:
            names = []
            for i, level in enumerate(query.levels):
                params[f"level{i}"] = level
                names.append(f":level{i}")
            clauses.append(f"level IN ({', '.join(names)})")
        if query.text.strip():
            clauses.append(self._text_clause(query, params))
        clauses.extend(self._extra_clauses(query, params))
        return clauses

    def _extra_clauses(self, query: LogQuery, params: dict) -> list[str]:
        return []

    @staticmethod
    def _literal(query: LogQuery) -> str:
        return "" if search_terms(query.text) else query.text.strip()

    def _select(
        self,
        conn: Connection,
        query: LogQuery,
        clauses: list[str],
        params: dict,
        order: str,
        limit: int,
    ) -> list[LogRecord]:
        where = " AND ".join(clauses)
        sql = f"SELECT {COLUMNS} FROM log_line WHERE {where} ORDER BY {order} LIMIT :limit"
        rows = conn.execute(text(sql), {**params, "limit": limit}).all()
        terms = search_terms(query.text)
        literal = self._literal(query)
        return [row_record(r, terms, literal) for r in rows]

    def search(self, query: LogQuery) -> LogPage:
        """Return one page of lines matching `query`, newest first (keyset both ways)."""
        limit = max(1, min(MAX_LIMIT, query.limit))
        params: dict = {}
        clauses = self._where(query, params)
        newer = query.cursor is not None and query.direction == "newer"
        if query.cursor is not None:
            cmp = ">" if newer else "<"
            clauses.append(f"(ts {cmp} :cts OR (ts = :cts AND id {cmp} :cid))")
            params["cts"], params["cid"] = query.cursor.ts, query.cursor.id
        order = "ts ASC, id ASC" if newer else "ts DESC, id DESC"
        with self.engine.connect() as conn:
            rows = self._select(conn, query, clauses, params, order, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        if newer:
            rows.reverse()
            older = rows[-1].cursor if rows else query.cursor
            newer_cursor = rows[0].cursor if rows and more else None
            return LogPage(rows, older, newer_cursor)
        older = rows[-1].cursor if rows and more else None
        newer_cursor = rows[0].cursor if rows and query.cursor is not None else None
        return LogPage(rows, older, newer_cursor)

    def tail(self, query: LogQuery, after: Cursor | None) -> list[LogRecord]:
        """Return lines newer than `after`, oldest first (the newest `limit` when None)."""
        if after is None:
            page = self.search(LogQuery(**{**query.__dict__, "cursor": None}))
            return list(reversed(page.items))
        page = self.search(LogQuery(**{**query.__dict__, "cursor": after, "direction": "newer"}))
        return list(reversed(page.items))

    def histogram(self, query: LogQuery, buckets: int) -> list[Bucket]:
        """Count matching lines per level in `buckets` equal slices of [start, end)."""
        if query.start is None or query.end is None or query.end <= query.start:
            raise ValueError("A histogram needs a time range with start < end.")
        buckets = max(1, min(500, buckets))
        start, end = to_micros(query.start), to_micros(query.end)
        width = max(1, -(-(end - start) // buckets))
        params: dict = {"hstart": start, "width": width}
        clauses = self._where(query, params)
        sql = (
            f"SELECT (ts - :hstart) / :width AS b, level, count(*) AS n FROM log_line "
            f"WHERE {' AND '.join(clauses)} GROUP BY 1, 2"
        )
        out = [Bucket(from_micros(start + i * width), 0, {}) for i in range(buckets)]
        with self.engine.connect() as conn:
            for b, level, n in conn.execute(text(sql), params).all():
                if 0 <= b < buckets:
                    out[b].count += n
                    out[b].levels[level] = out[b].levels.get(level, 0) + n
        return out

    def context(self, query: LogQuery, line_id: int, before: int, after: int) -> list[LogRecord]:
        """Return up to `before` lines before and `after` lines after a line, oldest first.

        The neighbours share the line's cluster, stream, namespace, pod, container and
        component. `query` scopes the lookup (org, cluster, stream); a line outside it
        gives an empty list.
        """
        before, after = max(0, min(MAX_LIMIT, before)), max(0, min(MAX_LIMIT, after))
        with self.engine.connect() as conn:
            params: dict = {"line_id": line_id}
            scope = LogQuery(query.org_id, query.cluster_id, query.stream)
            clauses = [*self._where(scope, params), "id = :line_id"]
            found = self._select(conn, scope, clauses, params, "id", 1)
            if not found:
                return []
            line = found[0]
            same = LogQuery(
                line.org_id,
                line.cluster_id,
                line.stream,
                namespace=line.namespace,
                pod=line.pod,
                container=line.container,
                component=line.component,
            )
            params = {"cts": to_micros(line.ts), "cid": line.id}
            clauses = self._where(same, params)
            older = self._select(
                conn,
                same,
                [*clauses, "(ts < :cts OR (ts = :cts AND id < :cid))"],
                params,
                "ts DESC, id DESC",
                before,
            )
            newer = self._select(
                conn,
                same,
                [*clauses, "(ts > :cts OR (ts = :cts AND id > :cid))"],
                params,
                "ts ASC, id ASC",
                after,
            )
        return [*reversed(older), line, *newer]


def get_store() -> LogStore:
    """Return the store for the portal database (SQLite FTS5 or partitioned PostgreSQL)."""
    from mkportal.db import get_engine

    engine = get_engine()
    if engine.dialect.name == "postgresql":
        from mkportal.services.logs.pg_store import PgLogStore

        return PgLogStore(engine)
    from mkportal.services.logs.sqlite_store import SqliteLogStore

    return SqliteLogStore(engine)
