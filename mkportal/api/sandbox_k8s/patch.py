"""The PATCH flavours Kubernetes clients send: JSON merge, strategic merge, JSON patch."""

from __future__ import annotations

import copy
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:  # noqa: ANN401 - JSON values
    """Apply an RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _merge_lists(target: list, patch: list) -> list:
    """Merge lists of named objects by name (containers, ports, env), else replace."""
    if not (
        patch
        and all(isinstance(i, dict) and "name" in i for i in patch)
        and all(isinstance(i, dict) and "name" in i for i in target)
    ):
        return [strategic_merge({}, i) if isinstance(i, dict) else i for i in patch]
    out = [dict(i) for i in target]
    index = {i["name"]: n for n, i in enumerate(out)}
    for item in patch:
        if item.get("$patch") == "delete":
            out = [i for i in out if i["name"] != item["name"]]
            index = {i["name"]: n for n, i in enumerate(out)}
        elif item["name"] in index:
            out[index[item["name"]]] = strategic_merge(out[index[item["name"]]], item)
        else:
            out.append(strategic_merge({}, item))
            index[item["name"]] = len(out) - 1
    return out


def strategic_merge(target: Any, patch: Any) -> Any:  # noqa: ANN401 - JSON values
    """Apply a strategic merge patch (lists of named objects merge by name)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if key.startswith("$setElementOrder/") or key.startswith("$deleteFromPrimitiveList/"):
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = _merge_lists(out[key], value)
        else:
            out[key] = strategic_merge(out.get(key), value)
    return out


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def json_patch(target: dict, ops: list[dict]) -> dict:
    """Apply an RFC 6902 JSON patch (add, replace, remove, test)."""
    doc = copy.deepcopy(target)
    for op in ops:
        *parents, last = _pointer(op["path"])
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        kind = op["op"]
        if isinstance(node, list):
            at = len(node) if last == "-" else int(last)
            if kind == "add":
                node.insert(at, op["value"])
            elif kind == "replace":
                node[at] = op["value"]
            elif kind == "remove":
                node.pop(at)
        elif kind in ("add", "replace"):
            node[last] = op["value"]
        elif kind == "remove":
            node.pop(last, None)
        elif kind == "test" and node.get(last) != op.get("value"):
            raise ValueError(f"test failed at {op['path']}")
    return doc
