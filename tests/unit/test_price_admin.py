"""Price versions, operator side: never retroactive, no overlaps, known machine types,
and the estimate follows the version in force."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.billing import PriceModel
from mkportal.services.billing import price_admin, prices
from mkportal.services.billing import service_levels as sl
from mkportal.services.billing.price_admin import PriceVersionIn
from mkportal.services.catalog import catalog_json
from mkportal.services.clusters.pricing import estimate, quote
from mkportal.services.clusters.spec import parse
from mkportal.services.errors import Conflict, Invalid, NotFound
from mkportal.services.providers.sandbox import CATALOG
from mkportal.settings import get_settings

NOW = datetime(2026, 11, 24, 22, 41, tzinfo=UTC)
TOMORROW = datetime(2026, 11, 25, tzinfo=UTC)


def _components(**over) -> dict:
    c = prices.version_at(NOW).components.as_json()
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(c.get(key), dict):
            c[key] = {**c[key], **value}
        else:
            c[key] = value
    return c


def _body(effective_from=TOMORROW, **over) -> PriceVersionIn:
    body = {"effective_from": effective_from, "components": _components(), "note": "test"}
    body.update(over)
    return PriceVersionIn.model_validate(body)


def _errors(fn, *args, **kwargs) -> dict:
    with pytest.raises(Invalid) as exc:
        fn(*args, **kwargs)
    return exc.value.errors


def _versions() -> list[int]:
    return [v.version for v in prices.all_versions()]


def _audit(prefix: str) -> list[str]:
    with session_scope() as s:
        return [
            e.action
            for e in s.exec(select(AuditEvent).where(AuditEvent.action.startswith(prefix))).all()
        ]


def test_seeded_version_is_in_force(db):
    v = prices.version_at(NOW)
    assert (v.version, v.currency) == (1, "CHF")
    assert v.components.node_hour["sandbox/s-2"] == Decimal("0.045")


def test_create_schedules_the_next_number_and_audits(two_orgs):
    op = two_orgs["operator"]
    v = price_admin.create_version(op, _body(), now=NOW)
    assert (v.version, v.effective_from, v.currency, v.note) == (2, TOMORROW, "CHF", "test")
    assert v.created_by == "ops@vshn.test"
    v3 = price_admin.create_version(op, _body(TOMORROW + timedelta(days=1)), now=NOW)
    assert v3.version == 3
    assert _audit("price_model.") == ["price_model.created", "price_model.created"]
    assert prices.version_at(NOW).version == 1


def test_customers_cannot_create_list_or_delete(two_orgs):
    for who in ("acme_owner", "globex_owner", "acme_viewer"):
        actor = two_orgs[who]
        with pytest.raises(NotFound):
            price_admin.create_version(actor, _body(), now=NOW)
        with pytest.raises(NotFound):
            price_admin.list_versions(actor)
        with pytest.raises(NotFound):
            price_admin.delete_version(actor, "seedpricemodel000000000000000001")
    assert _versions() == [1]
    assert _audit("price_model.") == []


@pytest.mark.parametrize(
    "when",
    [NOW - timedelta(days=1), NOW.replace(minute=0), NOW, datetime(2000, 1, 1, tzinfo=UTC)],
)
def test_a_change_is_never_retroactive(two_orgs, when):
    errors = _errors(price_admin.create_version, two_orgs["operator"], _body(when), now=NOW)
    assert "never retroactively" in errors["effective_from"]
    assert _versions() == [1]


def test_effective_from_must_be_a_whole_hour(two_orgs):
    errors = _errors(
        price_admin.create_version,
        two_orgs["operator"],
        _body(TOMORROW + timedelta(minutes=30)),
        now=NOW,
    )
    assert "whole hour" in errors["effective_from"]


def test_effective_from_accepts_dates_and_converts_to_utc(two_orgs):
    assert _body("2026-12-01").effective_from == datetime(2026, 12, 1, tzinfo=UTC)
    assert _body("2026-12-01T10:00").effective_from == datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert _body("2026-12-01T10:00+02:00").effective_from == datetime(2026, 12, 1, 8, tzinfo=UTC)
    from datetime import date

    assert _body(date(2026, 12, 2)).effective_from == datetime(2026, 12, 2, tzinfo=UTC)
    assert "effective_from" in _errors(
        parse, PriceVersionIn, {"effective_from": "soon", "components": {}}
    )


def test_same_effective_time_overlaps(two_orgs):
    op = two_orgs["operator"]
    price_admin.create_version(op, _body(), now=NOW)
    errors = _errors(price_admin.create_version, op, _body("2026-11-25T01:00+01:00"), now=NOW)
    assert "Overlaps version 2" in errors["effective_from"]
    assert _versions() == [1, 2]


def test_currency_default_format_and_changes(two_orgs, monkeypatch):
    op = two_orgs["operator"]
    assert _body().currency == "CHF"
    monkeypatch.setenv("BILLING_CURRENCY", "EUR")
    get_settings.cache_clear()
    assert _body().currency == "EUR"
    for bad in ("chf", "CH", "EURO", "C1F"):
        errors = _errors(
            parse,
            PriceVersionIn,
            {"effective_from": "2026-12-01", "currency": bad, "components": {}},
        )
        assert "ISO 4217" in errors["currency"]
    errors = _errors(price_admin.create_version, op, _body(currency="EUR"), now=NOW)
    assert "start of a month" in errors["currency"]
    v = price_admin.create_version(op, _body("2026-12-01", currency="EUR"), now=NOW)
    assert (v.version, v.currency) == (2, "EUR")
    # between CHF (v1) and EUR (v2): either currency needs a month start, and v2 starts one
    assert price_admin.create_version(op, _body(currency="CHF"), now=NOW).currency == "CHF"


@pytest.mark.parametrize(
    ("node_hour", "path", "message"),
    [
        ({"sandbox/x-99": "0.1"}, "components.node_hour.sandbox/x-99", "Unknown machine type"),
        ({"nocloud/s-2": "0.1"}, "components.node_hour.nocloud/s-2", "Unknown machine type"),
        ({"s-2": "0.1"}, "components.node_hour.s-2", "Unknown machine type"),
        ({"sandbox/s-2": "0"}, "components.node_hour.sandbox/s-2", "more than 0"),
        ({"eks/m6i.large": "0"}, "components.node_hour.eks/m6i.large", "more than 0"),
    ],
)
def test_node_hour_keys_and_prices(two_orgs, node_hour, path, message):
    body = _body(components=_components(node_hour=node_hour))
    errors = _errors(price_admin.create_version, two_orgs["operator"], body, now=NOW)
    assert message in errors[path]
    assert _versions() == [1]


def test_negative_prices_are_refused_by_the_model(db):
    for key, value in (
        ("node_hour", {"sandbox/s-2": "-1"}),
        ("vcpu_hour", "-0.01"),
        ("feature_hour", {"log-agent": "-1"}),
        ("level_base_monthly", {"standard": "-5"}),
        ("storage_gib_month", "-1"),
        ("load_balancer_hour", "NaN"),
    ):
        errors = _errors(
            parse,
            PriceVersionIn,
            {"effective_from": "2026-12-01", "components": _components(**{key: value})},
        )
        assert any(p.startswith(f"components.{key}") for p in errors), errors
    errors = _errors(
        parse,
        PriceVersionIn,
        {
            "effective_from": "2026-12-01",
            "components": _components(level_percent={"premium": "-101"}),
        },
    )
    assert "between -100 and 1000" in str(errors)


def test_disabled_providers_machine_types_can_be_priced(two_orgs):
    v = price_admin.create_version(
        two_orgs["operator"],
        _body(components=_components(node_hour={"gke/e2-standard-2": "0.09"})),
        now=NOW,
    )
    assert v.components.node_hour["gke/e2-standard-2"] == Decimal("0.09")


def test_unknown_features_and_levels(two_orgs):
    op = two_orgs["operator"]
    body = _body(
        components=_components(
            feature_hour={"teleport": "0.1"},
            level_base_monthly={"gold": "10"},
            level_percent={"silver": "5"},
        )
    )
    errors = _errors(price_admin.create_version, op, body, now=NOW)
    assert "Unknown feature 'teleport'" in errors["components.feature_hour.teleport"]
    assert errors["components.level_base_monthly.gold"] == "No service level 'gold'."
    assert errors["components.level_percent.silver"] == "No service level 'silver'."
    sl.retire_level(op, "zero")  # a retired level still exists and can be priced
    price_admin.create_version(
        op, _body(components=_components(level_base_monthly={"zero": "1"})), now=NOW
    )


def test_every_offered_machine_type_needs_a_price(two_orgs, monkeypatch):
    op = two_orgs["operator"]
    c = _components(vcpu_hour="0", gib_hour="0")
    del c["node_hour"]["sandbox/m-8"]
    errors = _errors(price_admin.create_version, op, _body(components=c), now=NOW)
    assert list(errors) == ["components.node_hour.sandbox/m-8"]
    assert "No price for machine type sandbox/m-8" in errors["components.node_hour.sandbox/m-8"]
    c["gib_hour"] = "0.001"  # the fallback prices it
    v = price_admin.create_version(op, _body(components=c), now=NOW)
    assert v.components.node_price("sandbox", "m-8") == Decimal("0.032")
    monkeypatch.setenv("PROVIDERS", '["sandbox", "aks"]')
    get_settings.cache_clear()
    c = _components(vcpu_hour="0", gib_hour="0")
    c["node_hour"] = {k: v for k, v in c["node_hour"].items() if not k.startswith("aks/")}
    errors = _errors(
        price_admin.create_version, op, _body(TOMORROW + timedelta(days=3), components=c), now=NOW
    )
    assert len(errors) == 5 and all(k.startswith("components.node_hour.aks/") for k in errors)


def test_all_errors_are_reported_together(two_orgs):
    body = _body(
        NOW - timedelta(hours=1),
        components=_components(node_hour={"sandbox/s-2": "0"}, feature_hour={"x": "1"}),
    )
    errors = _errors(price_admin.create_version, two_orgs["operator"], body, now=NOW)
    assert {
        "effective_from",
        "components.node_hour.sandbox/s-2",
        "components.feature_hour.x",
    } <= set(errors)


def test_statuses_and_history(two_orgs):
    op = two_orgs["operator"]
    past = NOW - timedelta(days=30)
    price_admin.create_version(op, _body(past.replace(minute=0)), now=past - timedelta(days=1))
    price_admin.create_version(op, _body(), now=NOW)
    price_admin.create_version(op, _body(TOMORROW + timedelta(days=7)), now=NOW)
    views = price_admin.list_versions(op, now=NOW)
    assert [(v.version, v.status) for v in views] == [
        (4, "scheduled"),
        (3, "scheduled"),
        (2, "in force"),
        (1, "superseded"),
    ]
    assert views[2].effective_until == TOMORROW and views[0].effective_until is None
    assert views[1].components["node_hour"]["sandbox/s-2"] == "0.045"
    later = price_admin.list_versions(op, now=TOMORROW + timedelta(hours=1))
    assert [v.status for v in later] == ["scheduled", "in force", "superseded", "superseded"]


def test_delete_only_a_scheduled_version(two_orgs):
    op = two_orgs["operator"]
    v = price_admin.create_version(op, _body(), now=NOW)
    with pytest.raises(Conflict, match="never retroactive"):
        price_admin.delete_version(op, v.id, now=TOMORROW)
    with pytest.raises(Conflict, match="never retroactive"):
        price_admin.delete_version(op, "seedpricemodel000000000000000001", now=NOW)
    with pytest.raises(NotFound):
        price_admin.delete_version(op, "nope", now=NOW)
    price_admin.delete_version(op, v.id, now=NOW)
    assert _versions() == [1]
    assert _audit("price_model.") == ["price_model.created", "price_model.deleted"]
    assert price_admin.create_version(op, _body(), now=NOW).version == 2


def test_price_list_shows_current_and_next_to_everyone(two_orgs):
    op = two_orgs["operator"]
    price_admin.create_version(
        op, _body(components=_components(node_hour={"sandbox/s-2": "0.05"})), now=NOW
    )
    price_admin.create_version(op, _body(TOMORROW + timedelta(days=9)), now=NOW)
    pl = price_admin.price_list(two_orgs["acme_viewer"], now=NOW)
    assert pl["currency"] == "CHF"
    assert (pl["current"]["version"], pl["next"]["version"]) == (1, 2)
    assert pl["next"]["effective_from"] == "2026-11-25T00:00:00+00:00"
    items = {(i["group"], i["key"], i["unit"]): i["price"] for i in pl["current"]["items"]}
    assert items[("node", "sandbox/s-2", "node-hour")] == "0.045"
    assert items[("service_level", "premium", "cluster-month")] == "400"
    assert items[("service_level", "premium", "percent")] == "25"
    assert items[("feature", "ingress-controller", "cluster-hour")] == "0.020"
    assert items[("other", "storage", "GiB-month")] == "0.10"
    assert ("node", "eks/m6i.large", "node-hour") not in items  # eks is not enabled
    assert {i["group"] for i in pl["next"]["items"]} == {
        "service_level",
        "node",
        "feature",
        "other",
    }
    assert price_admin.price_list(now=TOMORROW)["next"]["version"] == 3
    assert price_admin.price_list(now=TOMORROW + timedelta(days=30))["next"] is None


def test_estimate_follows_the_version_in_force(two_orgs):
    base = estimate(CATALOG, [("s-2", 2)], ["ingress-controller"], "professional")
    # (2 x 0.045 + 0.020) CHF/h x 730 h = 80.30; + 150 base fee + 10 % of 80.30 = 238.33
    assert (str(base.monthly_total), base.currency, str(base.hourly_total)) == (
        "238.33",
        "CHF",
        "0.1210",
    )
    assert base.lines[-1] == ("Service level professional (+10%)", Decimal("8.03"))
    op = two_orgs["operator"]
    c = _components(
        node_hour={"sandbox/s-2": "0.10"},
        feature_hour={"ingress-controller": "0.05"},
        level_base_monthly={"professional": "200"},
        level_percent={"professional": "20"},
    )
    future = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    price_admin.create_version(op, _body(future, components=c))
    # a scheduled version does not change today's estimate or the catalog
    assert estimate(CATALOG, [("s-2", 2)], ["ingress-controller"], "professional") == base
    assert catalog_json()["features"][0]["hourly_price"] == "0.020"
    later = estimate(
        CATALOG,
        [("s-2", 2)],
        ["ingress-controller"],
        "professional",
        at=future + timedelta(hours=1),
    )
    # (2 x 0.10 + 0.05) x 730 = 182.50; + 200 + 20 % of 182.50 = 419.00
    assert str(later.monthly_total) == "419.00"
    # a version created earlier with a date now passed is in force now
    past = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    price_admin.create_version(
        op,
        _body(past, currency="CHF", components=_components(node_hour={"sandbox/s-2": "0.50"})),
        now=past - timedelta(days=1),
    )
    now_est = estimate(CATALOG, [("s-2", 1)], [], "zero")
    assert str(now_est.monthly_total) == "365.00"
    cat = catalog_json()
    s2 = next(m for m in cat["providers"][0]["machine_types"] if m["name"] == "s-2")
    assert (s2["hourly_price"], cat["currency"]) == ("0.50", "CHF")


def test_estimate_uses_the_fallback_and_the_versions_currency(two_orgs):
    op = two_orgs["operator"]
    c = _components(vcpu_hour="0.01", gib_hour="0.001")
    del c["node_hour"]["sandbox/m-4"]
    start = datetime(2026, 12, 1, tzinfo=UTC)
    price_admin.create_version(op, _body(start, currency="EUR", components=c), now=NOW)
    est = estimate(CATALOG, [("m-4", 1), ("nope", 3), ("s-2", 0)], ["teleport"], "zero", at=start)
    # m-4: 4 vCPU x 0.01 + 16 GiB x 0.001 = 0.056/h x 730 = 40.88
    assert (est.currency, str(est.monthly_total), est.lines) == (
        "EUR",
        "40.88",
        [("1 x m-4 nodes", Decimal("40.88"))],
    )
    assert quote("nocloud", [("s-2", 1)], [], "zero").monthly_total == Decimal(0)
    assert quote("sandbox", [("s-2", 1)], [], "standard").monthly_total == Decimal("82.85")


def test_no_version_means_no_charge(db):
    with session_scope() as s:
        for row in s.exec(select(PriceModel)).all():
            s.delete(row)
    est = estimate(CATALOG, [("s-2", 2)], ["log-agent"], "premium")
    assert (est.monthly_total, est.lines) == (Decimal(0), [])
    assert price_admin.price_list()["current"] is None
    assert catalog_json()["features"][0]["hourly_price"] == "0"
