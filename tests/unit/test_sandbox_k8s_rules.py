"""Rules of the sandbox Kubernetes API: patches, selectors, paths, discovery documents."""

from __future__ import annotations

import pytest

from mkportal.api.sandbox_k8s import openapi
from mkportal.api.sandbox_k8s.kinds import BUILTIN, crd_kinds, find, groups
from mkportal.api.sandbox_k8s.objects import matches_fields, matches_labels
from mkportal.api.sandbox_k8s.patch import json_patch, merge_patch, strategic_merge
from mkportal.api.sandbox_k8s.routes import _locate


def test_merge_patch_follows_rfc_7386():
    target = {"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2]}
    assert merge_patch(target, {"b": {"c": None, "e": 4}, "l": [3]}) == {
        "a": 1,
        "b": {"d": 3, "e": 4},
        "l": [3],
    }


def test_strategic_merge_merges_containers_by_name_and_honours_delete():
    target = {
        "spec": {
            "containers": [
                {"name": "app", "image": "app:1", "env": [{"name": "A", "value": "1"}]},
                {"name": "sidecar", "image": "proxy:1"},
            ]
        }
    }
    patch = {
        "$setElementOrder/containers": [{"name": "app"}],
        "spec": {
            "containers": [
                {"name": "app", "image": "app:2", "env": [{"name": "B", "value": "2"}]},
                {"name": "sidecar", "$patch": "delete"},
            ]
        },
    }
    merged = strategic_merge(target, patch)
    assert merged["spec"]["containers"] == [
        {
            "name": "app",
            "image": "app:2",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        }
    ]


def test_json_patch_add_replace_remove_and_test():
    doc = {"metadata": {"labels": {"a": "1"}}, "spec": {"ports": [{"port": 80}]}}
    out = json_patch(
        doc,
        [
            {"op": "add", "path": "/metadata/labels/b", "value": "2"},
            {"op": "replace", "path": "/spec/ports/0/port", "value": 8080},
            {"op": "add", "path": "/spec/ports/-", "value": {"port": 443}},
            {"op": "remove", "path": "/metadata/labels/a"},
        ],
    )
    assert out == {
        "metadata": {"labels": {"b": "2"}},
        "spec": {"ports": [{"port": 8080}, {"port": 443}]},
    }
    assert doc["metadata"]["labels"] == {"a": "1"}
    with pytest.raises(ValueError):
        json_patch(doc, [{"op": "test", "path": "/metadata/labels/a", "value": "x"}])


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", True),
        ("app==web,tier!=db", True),
        ("app in (web, api)", True),
        ("app notin (web)", False),
        ("tier", False),
        ("!tier", True),
        ("app=web,env in (prod,stage)", False),
        ("", True),
    ],
)
def test_label_selectors(selector, expected):
    assert matches_labels({"app": "web", "version": "2"}, selector) is expected


def test_field_selectors():
    pod = {"metadata": {"name": "web-1", "namespace": "shop"}, "spec": {"nodeName": "n1"}}
    assert matches_fields(pod, "metadata.name=web-1,spec.nodeName=n1")
    assert not matches_fields(pod, "metadata.namespace!=shop")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("api/v1/nodes", ("", "v1", "", "nodes", "", "")),
        ("api/v1/namespaces", ("", "v1", "", "namespaces", "", "")),
        ("api/v1/namespaces/shop", ("", "v1", "", "namespaces", "shop", "")),
        ("api/v1/namespaces/shop/pods/web-1/log", ("", "v1", "shop", "pods", "web-1", "log")),
        (
            "apis/apps/v1/namespaces/default/deployments/web",
            ("apps", "v1", "default", "deployments", "web", ""),
        ),
        ("apis/apps/v1/deployments", ("apps", "v1", "", "deployments", "", "")),
        ("version", None),
    ],
)
def test_resource_paths(path, expected):
    assert _locate(path.split("/")) == expected


def test_crds_become_servable_kinds_with_discovery_and_openapi():
    crd = {
        "spec": {
            "group": "cert-manager.io",
            "scope": "Namespaced",
            "names": {"kind": "Certificate", "plural": "certificates", "shortNames": ["cert"]},
            "versions": [{"name": "v1", "served": True}],
        }
    }
    kinds = [*BUILTIN, *crd_kinds([crd])]
    cert = find(kinds, "cert-manager.io", "v1", "certificates")
    assert cert is not None and cert.namespaced and cert.api_version == "cert-manager.io/v1"
    assert groups(kinds)["cert-manager.io"] == ["v1"]
    root = openapi.document(kinds, "")
    assert "apis/cert-manager.io/v1" in root["paths"]
    doc = openapi.document(kinds, "apis/apps/v1")
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
    assert patch["parameters"][0]["name"] == "fieldValidation"
    assert openapi.document(kinds, "apis/nope/v1") is None
