"""The quote API: the monthly cost of a change or a new cluster, before it is made."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services import tokens
from mkportal.services.clusters import actions, quotes
from mkportal.services.clusters.pricing import quote
from mkportal.services.clusters.spec import ClusterIn, ClusterPatch

BODY = {
    "name": "web",
    "region": "ch-gva-2",
    "version": "1.35",
    "service_level": "standard",
    "node_pools": [{"name": "default", "machine_type": "s-2", "count": 2}],
}


@pytest.fixture
def api(two_orgs) -> TestClient:
    return TestClient(create_api(), raise_server_exceptions=False)


def _auth(actor) -> dict:
    plain, _ = tokens.create_token(actor, "test")
    return {"Authorization": f"Bearer {plain}"}


def _cluster(actor, **over) -> str:
    cluster, _op, _ = actions.create_cluster(actor, ClusterIn.model_validate({**BODY, **over}))
    return cluster.id


def _monthly(pools, features=(), level="standard") -> Decimal:
    return quote("sandbox", list(pools), list(features), level).monthly_total


def test_scaling_up_costs_more_and_down_saves(api, two_orgs):
    cluster_id = _cluster(two_orgs["acme_member"])
    headers = _auth(two_orgs["acme_viewer"])
    up = api.post(
        f"/api/v1/clusters/{cluster_id}/quote",
        json={"node_pools": [{"name": "default", "machine_type": "s-2", "count": 5}]},
        headers=headers,
    )
    assert up.status_code == 200, up.text
    body = up.json()
    now, after = _monthly([("s-2", 2)]), _monthly([("s-2", 5)])
    assert after > now
    assert body["currency"] == "CHF"
    assert Decimal(body["current"]) == now
    assert Decimal(body["proposed"]) == after
    assert Decimal(body["difference"]) == after - now > 0
    changed = [line for line in body["lines"] if Decimal(line["difference"]) != 0]
    assert [line["label"] for line in changed] == ["s-2 nodes: 2 -> 5"]
    assert body["range"] is None

    down = api.post(
        f"/api/v1/clusters/{cluster_id}/quote",
        json={"node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}]},
        headers=headers,
    ).json()
    assert Decimal(down["difference"]) == _monthly([("s-2", 1)]) - now < 0
    assert down["difference"].startswith("-")
    # Nothing was changed by asking.
    view = actions.get_cluster(two_orgs["acme_member"], cluster_id)
    assert view.node_pools[0].count == 2 and view.status == "provisioning"


def test_machine_type_features_and_service_level_are_priced(api, two_orgs):
    cluster_id = _cluster(two_orgs["acme_member"])
    headers = _auth(two_orgs["acme_member"])
    bigger = api.post(
        f"/api/v1/clusters/{cluster_id}/quote",
        json={"node_pools": [{"name": "default", "machine_type": "m-8", "count": 2}]},
        headers=headers,
    ).json()
    assert Decimal(bigger["proposed"]) == _monthly([("m-8", 2)])
    features = api.post(
        f"/api/v1/clusters/{cluster_id}/quote",
        json={"features": ["cert-manager", "ingress-controller"]},
        headers=headers,
    ).json()
    expected = _monthly([("s-2", 2)], ["cert-manager", "ingress-controller"])
    assert Decimal(features["proposed"]) == expected
    assert Decimal(features["difference"]) > 0
    level = api.post(
        f"/api/v1/clusters/{cluster_id}/quote", json={"service_level": "premium"}, headers=headers
    ).json()
    assert Decimal(level["proposed"]) == _monthly([("s-2", 2)], level="premium")
    assert Decimal(level["difference"]) == Decimal(level["proposed"]) - Decimal(level["current"])
    same = api.post(f"/api/v1/clusters/{cluster_id}/quote", json={}, headers=headers).json()
    assert Decimal(same["difference"]) == 0


def test_autoscaling_adds_the_autoscaler_and_a_range(api, two_orgs):
    cluster_id = _cluster(two_orgs["acme_member"])
    pool = {
        "name": "default",
        "machine_type": "s-2",
        "count": 2,
        "autoscaling": {"enabled": True, "min": 1, "max": 6},
    }
    r = api.post(
        f"/api/v1/clusters/{cluster_id}/quote",
        json={"node_pools": [pool]},
        headers=_auth(two_orgs["acme_member"]),
    ).json()
    assert Decimal(r["proposed"]) == _monthly([("s-2", 2)], ["cluster-autoscaler"])
    assert Decimal(r["range"]["min"]) == _monthly([("s-2", 1)], ["cluster-autoscaler"])
    assert Decimal(r["range"]["max"]) == _monthly([("s-2", 6)], ["cluster-autoscaler"])


def test_autoscaling_pools_are_priced_at_the_nodes_running_now(db):
    current = quotes.Draft(
        "sandbox", (quotes.DraftPool("w", "s-2", 1, True, 1, 5),), ("cluster-autoscaler",), "zero"
    )
    impact = quotes.compare(current, current, {"w": 4})
    assert (
        impact.current == impact.proposed == _monthly([("s-2", 4)], ["cluster-autoscaler"], "zero")
    )
    narrower = quotes.Draft(
        "sandbox", (quotes.DraftPool("w", "s-2", 1, True, 1, 3),), ("cluster-autoscaler",), "zero"
    )
    assert quotes.compare(current, narrower, {"w": 4}).proposed == _monthly(
        [("s-2", 3)], ["cluster-autoscaler"], "zero"
    )


def test_another_orgs_cluster_is_not_found(api, two_orgs):
    cluster_id = _cluster(two_orgs["acme_member"])
    r = api.post(
        f"/api/v1/clusters/{cluster_id}/quote",
        json={"service_level": "premium"},
        headers=_auth(two_orgs["globex_owner"]),
    )
    assert r.status_code == 404
    assert "secret" not in r.text and cluster_id not in r.text
    assert (
        api.post(
            "/api/v1/clusters/nope/quote", json={}, headers=_auth(two_orgs["acme_owner"])
        ).status_code
        == 404
    )
    assert api.post(f"/api/v1/clusters/{cluster_id}/quote", json={}).status_code == 401


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"node_pools": [{"name": "default", "machine_type": "s-2", "count": "lots"}]},
            "node_pools.0.count",
        ),
        (
            {"node_pools": [{"name": "default", "machine_type": "x-99", "count": 1}]},
            "node_pools.0.machine_type",
        ),
        (
            {"node_pools": [{"name": "default", "machine_type": "s-2", "count": 1000}]},
            "node_pools.0.count",
        ),
        ({"service_level": "gold"}, "service_level"),
        ({"features": ["bitcoin-miner"]}, "features.0"),
        ({"features": ["cert-manager"]}, "features"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_change_bodies_are_422_with_field_paths(api, two_orgs, body, loc):
    cluster_id = _cluster(two_orgs["acme_member"])
    r = api.post(
        f"/api/v1/clusters/{cluster_id}/quote", json=body, headers=_auth(two_orgs["acme_member"])
    )
    assert r.status_code == 422, r.text
    assert any(e["loc"].endswith(loc) for e in r.json()["errors"]), r.json()


def test_a_new_cluster_is_priced_without_creating_it(api, two_orgs):
    headers = _auth(two_orgs["acme_viewer"])
    r = api.post(
        "/api/v1/quote",
        json={**BODY, "features": ["cert-manager", "ingress-controller"]},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert Decimal(body["monthly"]) == _monthly(
        [("s-2", 2)], ["cert-manager", "ingress-controller"]
    )
    assert body["currency"] == "CHF" and body["lines"]
    assert sum(Decimal(line["amount"]) for line in body["lines"]) == Decimal(body["monthly"])
    assert actions.list_clusters(two_orgs["operator"], all_orgs=True).total == 0
    bad = api.post("/api/v1/quote", json={**BODY, "region": "mars-1"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "region"
    missing = api.post("/api/v1/quote", json={"name": "x"}, headers=headers)
    assert missing.status_code == 422
    assert api.post("/api/v1/quote", json=BODY).status_code == 401


def test_cluster_quote_service_checks_the_organisation(two_orgs):
    from mkportal.services.errors import NotFound

    cluster_id = _cluster(two_orgs["acme_member"])
    with pytest.raises(NotFound):
        quotes.cluster_quote(two_orgs["globex_owner"], cluster_id, ClusterPatch())
    assert quotes.cluster_quote(two_orgs["operator"], cluster_id, ClusterPatch()).difference == 0
