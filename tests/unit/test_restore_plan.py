"""The dry-run diff of restores: scope, modes, blocked APIs and version warnings."""

from __future__ import annotations

import pytest

from mkportal.services.backup import restore_config
from mkportal.services.backup.restore_plan import compute, in_scope, kind_matches, minor_of

CORE = {("", "v1", k) for k in ("Namespace", "ConfigMap", "Secret", "Service")}
SERVED = CORE | {
    ("apps", "v1", "Deployment"),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
}


def _obj(kind: str, name: str, ns: str = "", api: str = "v1", **body) -> dict:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": api, "kind": kind, "metadata": meta, **body}


NS_SHOP = _obj("Namespace", "shop")
NS_BLOG = _obj("Namespace", "blog")
CM = _obj("ConfigMap", "settings", "shop", data={"theme": "dark"})
DEPLOY = _obj("Deployment", "web", "shop", "apps/v1", spec={"replicas": 2})
BLOG_CM = _obj("ConfigMap", "wp", "blog", data={"a": "b"})
CRD = _obj(
    "CustomResourceDefinition",
    "widgets.example.com",
    api="apiextensions.k8s.io/v1",
    spec={"group": "example.com", "names": {"kind": "Widget"}, "versions": [{"name": "v1"}]},
)
WIDGET = _obj("Widget", "gizmo", "shop", "example.com/v1", spec={"size": 3})
BACKUP = [NS_SHOP, NS_BLOG, CM, DEPLOY, BLOG_CM, CRD, WIDGET]


def _actions(diff) -> dict:
    return {(c.kind, c.name): c.action for c in diff.changes}


def test_merge_creates_updates_and_leaves_unchanged():
    live = [NS_SHOP, {**CM, "data": {"theme": "light"}}, _obj("ConfigMap", "extra", "shop")]
    diff = compute(BACKUP, live, mode="merge", served=SERVED)
    acts = _actions(diff)
    assert acts[("Namespace", "shop")] == "unchanged"
    assert acts[("ConfigMap", "settings")] == "update"
    assert acts[("Deployment", "web")] == "create"
    assert acts[("Widget", "gizmo")] == "create"  # its CRD comes with the restore
    assert ("ConfigMap", "extra") not in acts  # merge never deletes
    assert diff.counts == {"create": 5, "update": 1, "delete": 0, "unchanged": 1, "blocked": 0}
    update = next(c for c in diff.changes if c.action == "update")
    assert update.fields == ["data"]
    order = [c.kind for c in diff.changes]
    assert (
        order.index("Namespace") < order.index("CustomResourceDefinition") < order.index("Widget")
    )


def test_replace_deletes_only_within_the_scope_and_never_system_objects():
    live = [
        NS_SHOP,
        CM,
        _obj("ConfigMap", "extra", "shop"),
        _obj("ConfigMap", "other-ns", "blog"),
        _obj("ConfigMap", "coredns", "kube-system"),
        _obj("Namespace", "default"),
    ]
    diff = compute(BACKUP, live, mode="replace", namespaces=["shop"], served=SERVED)
    deletes = {(c.namespace, c.name) for c in diff.changes if c.action == "delete"}
    assert deletes == {("shop", "extra")}
    everything = compute(BACKUP, live, mode="replace", served=SERVED)
    deletes = {(c.namespace, c.name) for c in everything.changes if c.action == "delete"}
    assert deletes == {("shop", "extra"), ("blog", "other-ns")}


def test_kind_scope_adds_missing_namespaces_and_blocks_unserved_apis():
    diff = compute(BACKUP, [], mode="merge", kinds=["Widget", "core/ConfigMap"], served=SERVED)
    acts = _actions(diff)
    assert acts == {
        ("Namespace", "shop"): "create",
        ("Namespace", "blog"): "create",
        ("ConfigMap", "settings"): "create",
        ("ConfigMap", "wp"): "create",
        ("Widget", "gizmo"): "blocked",
    }
    blocked = next(c for c in diff.changes if c.action == "blocked")
    assert "does not serve example.com/v1 Widget" in blocked.reason
    assert any("example.com/v1 Widget" in w for w in diff.warnings)


@pytest.mark.parametrize(
    ("backup_version", "target_version", "warned"),
    [("v1.35.0", "1.34", True), ("v1.35.0", "1.35", False), ("1.34", "v1.36.2", False)],
    ids=["older-target", "same-minor", "newer-target"],
)
def test_older_target_minor_is_warned(backup_version, target_version, warned):
    diff = compute(
        [CM],
        [],
        mode="merge",
        served=SERVED,
        backup_version=backup_version,
        target_version=target_version,
    )
    assert any("older than the backup's" in w for w in diff.warnings) is warned


def test_scope_helpers():
    assert minor_of("v1.35.0") == (1, 35) and minor_of("1.34") == (1, 34) and minor_of("x") is None
    assert kind_matches(DEPLOY, ["apps/Deployment"]) and kind_matches(DEPLOY, ["deployment"])
    assert kind_matches(CM, ["core/ConfigMap"]) and not kind_matches(CM, ["apps/ConfigMap"])
    assert in_scope(NS_SHOP, ["shop"], []) and not in_scope(CRD, ["shop"], [])
    assert not in_scope(BLOG_CM, ["shop"], []) and in_scope(BLOG_CM, [], [])


def test_configuration_changes_and_clone_request():
    config = {
        "provider": "sandbox",
        "region": "ch-gva-2",
        "version": "1.35",
        "service_level": "standard",
        "features": ["ingress-controller"],
        "node_pools": [
            {
                "name": "default",
                "machine_type": "s-2",
                "count": 2,
                "autoscaling": {"enabled": False, "min": 0, "max": 0},
            }
        ],
    }
    request = restore_config.clone_request(config, "copy")
    assert request.name == "copy" and request.node_pools[0].count == 2
    drill = restore_config.drill_request(config, "drill-1")
    assert (
        drill.provider == "sandbox" and drill.version == "1.35" and drill.node_pools[0].count == 1
    )
