"""Service levels, operator side: validation, retire instead of delete, audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.billing import UsageRecord
from mkportal.models.cluster import Cluster
from mkportal.services.billing import service_levels as sl
from mkportal.services.billing.service_levels import ServiceLevelIn, ServiceLevelPatch
from mkportal.services.catalog import catalog_json, service_levels
from mkportal.services.clusters import actions
from mkportal.services.clusters.spec import ClusterIn, ClusterPatch, check_service_level
from mkportal.services.errors import Conflict, Invalid, NotFound

POLICY = [
    {"missed_by_up_to": 0.5, "credit_percent": 10},
    {"missed_by_up_to": 2, "credit_percent": 25},
]


def _gold(**over) -> ServiceLevelIn:
    body = {
        "slug": "gold",
        "name": "Gold",
        "availability_target": 99.95,
        "maintenance_mode": "attended",
        "monitoring_during_maintenance": True,
        "support_hours": "24x7",
        "credit_policy": POLICY,
        "description": "For the crown jewels.",
    }
    body.update(over)
    return ServiceLevelIn.model_validate(body)


def _errors(fn, *args) -> dict:
    with pytest.raises(Invalid) as exc:
        fn(*args)
    return exc.value.errors


def _actions(prefix: str) -> list[tuple[str, str]]:
    with session_scope() as s:
        rows = s.exec(select(AuditEvent).where(AuditEvent.action.startswith(prefix))).all()
        return [(r.action, r.target_id) for r in rows]


def _cluster(actor, name: str = "web", level: str = "standard") -> str:
    req = ClusterIn.model_validate(
        {
            "name": name,
            "region": "ch-gva-2",
            "version": "1.35",
            "service_level": level,
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
        }
    )
    cluster, _op, _ = actions.create_cluster(actor, req)
    return cluster.id


def test_seeded_levels_are_listed_with_their_usage(two_orgs):
    _cluster(two_orgs["acme_member"], "a", "premium")
    _cluster(two_orgs["globex_owner"], "b", "premium")
    levels = {lv.slug: lv for lv in sl.list_levels(two_orgs["operator"])}
    assert list(levels) == ["zero", "standard", "professional", "premium"]
    assert levels["premium"].clusters == 2 and levels["standard"].clusters == 0
    assert levels["standard"].availability_target == 99.0
    assert levels["premium"].maintenance_mode == "attended"
    assert levels["premium"].credit_policy[0] == {"missed_by_up_to": 0.5, "credit_percent": 10}
    assert sl.get_level(two_orgs["operator"], "zero").availability_target is None


def test_customers_cannot_see_or_change_levels(two_orgs):
    for who in ("acme_owner", "acme_viewer", "globex_owner"):
        actor = two_orgs[who]
        for call in (
            lambda a=actor: sl.list_levels(a),
            lambda a=actor: sl.get_level(a, "standard"),
            lambda a=actor: sl.create_level(a, _gold()),
            lambda a=actor: sl.update_level(a, "standard", ServiceLevelPatch(name="Cheap")),
            lambda a=actor: sl.retire_level(a, "standard"),
            lambda a=actor: sl.unretire_level(a, "standard"),
            lambda a=actor: sl.delete_level(a, "zero"),
        ):
            with pytest.raises(NotFound):
                call()
    assert [lv.slug for lv in service_levels()] == ["zero", "standard", "professional", "premium"]
    assert sl.get_level(two_orgs["operator"], "standard").name == "Standard"
    assert _actions("service_level.") == []


def test_create_offers_the_level_and_audits(two_orgs):
    op = two_orgs["operator"]
    view = sl.create_level(op, _gold())
    assert (view.slug, view.name, view.availability_target, view.sort_order) == (
        "gold",
        "Gold",
        99.95,
        4,
    )
    assert view.credit_policy == [
        {"missed_by_up_to": 0.5, "credit_percent": 10},
        {"missed_by_up_to": 2, "credit_percent": 25},
    ]
    assert check_service_level("gold") == "gold"
    assert "gold" in [lv["slug"] for lv in catalog_json()["service_levels"]]
    assert _actions("service_level.") == [("service_level.created", "gold")]
    with pytest.raises(Conflict, match="exists already"):
        sl.create_level(op, _gold(name="Gold again"))


@pytest.mark.parametrize(
    ("over", "path"),
    [
        ({"slug": "G"}, "slug"),
        ({"slug": "g"}, "slug"),
        ({"slug": "9gold"}, "slug"),
        ({"slug": "gold_1"}, "slug"),
        ({"slug": "g" * 33}, "slug"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"availability_target": 0}, "availability_target"),
        ({"availability_target": 100}, "availability_target"),
        ({"availability_target": -1}, "availability_target"),
        ({"availability_target": 120.5}, "availability_target"),
        ({"maintenance_mode": "sometimes"}, "maintenance_mode"),
        ({"support_hours": "x" * 65}, "support_hours"),
        ({"description": "x" * 501}, "description"),
        ({"sort_order": -1}, "sort_order"),
        (
            {"credit_policy": [{"missed_by_up_to": 0, "credit_percent": 10}]},
            "credit_policy.0.missed_by_up_to",
        ),
        (
            {"credit_policy": [{"missed_by_up_to": -1, "credit_percent": 10}]},
            "credit_policy.0.missed_by_up_to",
        ),
        (
            {"credit_policy": [{"missed_by_up_to": 1, "credit_percent": 101}]},
            "credit_policy.0.credit_percent",
        ),
        (
            {"credit_policy": [{"missed_by_up_to": 1, "credit_percent": -5}]},
            "credit_policy.0.credit_percent",
        ),
        (
            {
                "credit_policy": [
                    {"missed_by_up_to": 2, "credit_percent": 10},
                    {"missed_by_up_to": 2, "credit_percent": 20},
                ]
            },
            "credit_policy.1.missed_by_up_to",
        ),
        (
            {
                "credit_policy": [
                    {"missed_by_up_to": 2, "credit_percent": 10},
                    {"missed_by_up_to": 1, "credit_percent": 20},
                ]
            },
            "credit_policy.1.missed_by_up_to",
        ),
        (
            {
                "credit_policy": [
                    {"missed_by_up_to": 1, "credit_percent": 50},
                    {"missed_by_up_to": 2, "credit_percent": 25},
                ]
            },
            "credit_policy.1.credit_percent",
        ),
        ({"credit_policy": [{"missed_by_up_to": 1, "credit_percent": 5}] * 11}, "credit_policy"),
        ({"availability_target": None}, "credit_policy"),
    ],
)
def test_create_rejects_bad_fields_with_their_path(two_orgs, over, path):
    errors = _errors(sl.create_level, two_orgs["operator"], _gold(**over))
    assert path in errors, errors
    assert errors[path]
    assert "gold" not in [lv.slug for lv in sl.list_levels(two_orgs["operator"])]
    assert _actions("service_level.") == []


def test_equal_credit_percent_is_allowed_and_best_effort_needs_no_policy(two_orgs):
    op = two_orgs["operator"]
    flat = [
        {"missed_by_up_to": 1, "credit_percent": 25},
        {"missed_by_up_to": 3, "credit_percent": 25},
    ]
    assert sl.create_level(op, _gold(credit_policy=flat)).credit_policy[1]["credit_percent"] == 25
    free = sl.create_level(op, _gold(slug="free", availability_target=None, credit_policy=[]))
    assert free.availability_target is None and free.credit_policy == []


def test_update_changes_only_given_fields_and_audits_the_difference(two_orgs):
    op = two_orgs["operator"]
    view = sl.update_level(
        op,
        "standard",
        ServiceLevelPatch(availability_target=99.2, support_hours="business hours"),
    )
    assert (view.availability_target, view.support_hours, view.name) == (
        99.2,
        "business hours",
        "Standard",
    )
    with session_scope() as s:
        ev = s.exec(select(AuditEvent).where(AuditEvent.action == "service_level.updated")).one()
        assert ev.detail["changes"]["availability_target"] == {"from": 99.0, "to": 99.2}
        assert set(ev.detail["changes"]) == {"availability_target", "support_hours"}
    errors = _errors(
        sl.update_level,
        op,
        "standard",
        ServiceLevelPatch(
            credit_policy=[
                {"missed_by_up_to": 3, "credit_percent": 5},
                {"missed_by_up_to": 1, "credit_percent": 9},
            ]
        ),
    )
    assert "credit_policy.1.missed_by_up_to" in errors
    assert "credit_policy" in _errors(
        sl.update_level,
        op,
        "standard",
        ServiceLevelPatch.model_validate({"availability_target": None}),
    )
    assert sl.get_level(op, "standard").availability_target == 99.2
    with pytest.raises(NotFound):
        sl.update_level(op, "nope", ServiceLevelPatch(name="x"))
    sl.update_level(op, "standard", ServiceLevelPatch(name="Standard"))
    assert len(_actions("service_level.updated")) == 1


def test_retired_level_is_not_offered_but_clusters_keep_it(two_orgs):
    op, member = two_orgs["operator"], two_orgs["acme_member"]
    cid = _cluster(member, "keep", "professional")
    view = sl.retire_level(op, "professional")
    assert view.retired and view.retired_at is not None and view.clusters == 1
    assert "professional" not in [lv.slug for lv in service_levels()]
    assert "professional" not in [lv["slug"] for lv in catalog_json()["service_levels"]]
    assert "professional" in [lv.slug for lv in service_levels(include_retired=True)]
    assert "service_level" in _errors(check_service_level, "professional")
    req = ClusterIn.model_validate(
        {
            "name": "new",
            "region": "ch-gva-2",
            "version": "1.35",
            "service_level": "professional",
            "node_pools": [{"name": "default", "machine_type": "s-2", "count": 1}],
        }
    )
    assert "service_level" in _errors(actions.create_cluster, member, req)
    assert actions.get_cluster(member, cid).service_level == "professional"
    sl.retire_level(op, "professional")  # a repeat changes nothing
    assert _actions("service_level.") == [("service_level.retired", "professional")]
    sl.unretire_level(op, "professional")
    assert "professional" in [lv.slug for lv in service_levels()]
    assert _actions("service_level.unretired") == [("service_level.unretired", "professional")]


def test_changing_a_cluster_to_a_retired_level_is_refused(two_orgs):
    from mkportal.models.operation import Operation

    op, member = two_orgs["operator"], two_orgs["acme_member"]
    cid = _cluster(member, "web", "standard")
    with session_scope() as s:
        for o in s.exec(select(Operation).where(Operation.cluster_id == cid)).all():
            o.status = "succeeded"
            s.add(o)
        row = s.get(Cluster, cid)
        row.status = "running"
        s.add(row)
    sl.retire_level(op, "premium")
    errors = _errors(actions.update_cluster, member, cid, ClusterPatch(service_level="premium"))
    assert "service_level" in errors and "premium" not in errors["service_level"]
    assert actions.get_cluster(member, cid).service_level == "standard"


def test_the_last_offered_level_cannot_be_retired(two_orgs):
    op = two_orgs["operator"]
    for slug in ("zero", "standard", "professional"):
        sl.retire_level(op, slug)
    with pytest.raises(Conflict, match="last level"):
        sl.retire_level(op, "premium")
    assert [lv.slug for lv in service_levels()] == ["premium"]


def test_unused_level_can_be_deleted(two_orgs):
    op = two_orgs["operator"]
    sl.create_level(op, _gold())
    sl.delete_level(op, "gold")
    with pytest.raises(NotFound):
        sl.get_level(op, "gold")
    assert _actions("service_level.deleted") == [("service_level.deleted", "gold")]
    with pytest.raises(NotFound):
        sl.delete_level(op, "gold")


def test_level_used_by_a_cluster_even_deleted_cannot_be_deleted(two_orgs):
    op = two_orgs["operator"]
    sl.create_level(op, _gold())
    cid = _cluster(two_orgs["acme_member"], "gone", "gold")
    with pytest.raises(Conflict, match="used by 1 cluster.*retire it instead"):
        sl.delete_level(op, "gold")
    with session_scope() as s:
        row = s.get(Cluster, cid)
        row.status, row.deleted_at = "deleted", datetime.now(UTC)
        s.add(row)
    assert sl.get_level(op, "gold").clusters == 0
    with pytest.raises(Conflict, match=r"1 cluster \(1 of them deleted\)"):
        sl.delete_level(op, "gold")
    assert sl.get_level(op, "gold").clusters_ever == 1
    assert _actions("service_level.deleted") == []


def test_level_with_usage_records_cannot_be_deleted(two_orgs):
    op = two_orgs["operator"]
    sl.create_level(op, _gold())
    with session_scope() as s:
        s.add(
            UsageRecord(
                org_id=two_orgs["acme_owner"].org_id,
                cluster_id="c" * 32,
                hour=datetime(2026, 11, 1, tzinfo=UTC),
                service_level="gold",
                component="cluster",
                sku="gold",
                quantity=1,
            )
        )
    with pytest.raises(Conflict, match="usage records"):
        sl.delete_level(op, "gold")


def test_credit_policy_short_form():
    steps = sl.parse_credit_policy("0.5:10, 2:25 ,100:100%")
    assert [(s.missed_by_up_to, s.credit_percent) for s in steps] == [
        (0.5, 10),
        (2, 25),
        (100, 100),
    ]
    assert sl.parse_credit_policy("  ") == []
    assert sl.format_credit_policy(sl.check_credit_policy(steps)) == "0.5:10, 2:25, 100:100"
    for bad in ("0.5-10", "a:b", "1:2, 3", "1:2:3"):
        with pytest.raises(Invalid) as exc:
            sl.parse_credit_policy(bad)
        assert "0.5:10, 2:25, 100:100" in exc.value.errors["credit_policy"]
