"""Fakes of Google Cloud Logging (entries:list) and Azure Log Analytics (query).

Both follow the published REST shapes. Cloud Logging: ``POST /v2/entries:list`` with
``resourceNames``, ``filter`` (the subset the portal sends: ``field="value"``,
``field:"substring"``, ``timestamp>="..."``, AND/OR with parentheses), ``orderBy``,
``pageSize`` and ``pageToken``; it answers ``{"entries": [LogEntry], "nextPageToken"}``.
Log Analytics: ``POST /v1/workspaces/{id}/query`` with a KQL ``query`` (the subset the
portal sends: ``where Category in (...)``, ``where ResourceId =~ "..."``,
``where TimeGenerated >= datetime(...)``, ``order by TimeGenerated asc``, ``take N``,
``project ...``); it answers ``{"tables": [{"name", "columns", "rows"}]}``.
"""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00")))


def _field(entry: dict, path: str) -> str:
    value: object = entry
    for part in path.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return str(value)


class _Filter:
    """A tiny evaluator for the Logging query language subset the portal sends."""

    TOKEN = re.compile(r'\(|\)|AND|OR|[\w.]+\s*(?:>=|<=|=|:)\s*"[^"]*"')

    def __init__(self, text: str) -> None:
        self.tokens = self.TOKEN.findall(text)
        self.pos = 0

    def matches(self, entry: dict) -> bool:
        self.pos = 0
        return self._or(entry)

    def _or(self, entry: dict) -> bool:
        result = self._and(entry)
        while self.pos < len(self.tokens) and self.tokens[self.pos] == "OR":
            self.pos += 1
            result = self._and(entry) or result
        return result

    def _and(self, entry: dict) -> bool:
        result = self._atom(entry)
        while self.pos < len(self.tokens) and self.tokens[self.pos] == "AND":
            self.pos += 1
            result = self._atom(entry) and result
        return result

    def _atom(self, entry: dict) -> bool:
        token = self.tokens[self.pos]
        self.pos += 1
        if token == "(":
            result = self._or(entry)
            self.pos += 1
            return result
        name, op, value = re.match(r'([\w.]+)\s*(>=|<=|=|:)\s*"([^"]*)"', token).groups()
        actual = _field(entry, name)
        if name == "timestamp":
            return (
                op == ">=" and _ts(actual) >= _ts(value) or op == "<=" and _ts(actual) <= _ts(value)
            )
        return actual == value if op == "=" else value in actual


class FakeCloudLogging:
    """In-memory Cloud Logging: `entries` are LogEntry dicts of any project."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.requests: list[dict] = []
        self.app = FastAPI()
        self.app.add_api_route("/v2/entries:list", self._list, methods=["POST"])

    async def _list(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        projects = {r.split("/")[1] for r in body.get("resourceNames", [])}
        found = [
            e
            for e in self.entries
            if e["logName"].split("/")[1] in projects and _Filter(body.get("filter", "")).matches(e)
        ]
        found.sort(key=lambda e: _ts(e["timestamp"]), reverse="desc" in body.get("orderBy", ""))
        start = int(body.get("pageToken") or 0)
        size = int(body.get("pageSize") or 50)
        page = found[start : start + size]
        answer: dict = {"entries": page}
        if start + size < len(found):
            answer["nextPageToken"] = str(start + size)
        return JSONResponse(answer)


class FakeLogAnalytics:
    """In-memory Log Analytics: `rows[workspace]` are AzureDiagnostics records (dicts)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict]] = {}
        self.queries: list[str] = []
        self.app = FastAPI()
        self.app.add_api_route("/v1/workspaces/{workspace}/query", self._query, methods=["POST"])

    async def _query(self, workspace: str, request: Request) -> JSONResponse:
        query = (await request.json())["query"]
        self.queries.append(query)
        if workspace not in self.rows:
            return JSONResponse(
                {"error": {"code": "WorkspaceNotFoundError", "message": "no workspace"}}, 404
            )
        rows = list(self.rows[workspace])
        columns = ["TimeGenerated", "Category", "ResourceId", "log_s"]
        for step in [p.strip() for p in query.split("|")[1:]]:
            if m := re.match(r"where Category in \((.*)\)$", step):
                wanted = set(re.findall(r'"([^"]*)"', m.group(1)))
                rows = [r for r in rows if r["Category"] in wanted]
            elif m := re.match(r'where ResourceId =~ "(.*)"$', step):
                rows = [r for r in rows if r["ResourceId"].lower() == m.group(1).lower()]
            elif m := re.match(r"where TimeGenerated >= datetime\((.*)\)$", step):
                rows = [r for r in rows if _ts(r["TimeGenerated"]) >= _ts(m.group(1))]
            elif step == "order by TimeGenerated asc":
                rows.sort(key=lambda r: _ts(r["TimeGenerated"]))
            elif m := re.match(r"take (\d+)$", step):
                rows = rows[: int(m.group(1))]
            elif m := re.match(r"project (.*)$", step):
                columns = [c.strip() for c in m.group(1).split(",")]
            else:
                return JSONResponse(
                    {"error": {"code": "BadArgumentError", "message": f"unsupported: {step}"}}, 400
                )
        table = {
            "name": "PrimaryResult",
            "columns": [
                {"name": c, "type": "datetime" if c == "TimeGenerated" else "string"}
                for c in columns
            ],
            "rows": [[r.get(c, "") for c in columns] for r in rows],
        }
        return JSONResponse({"tables": [table]})
