"""Alarms: validation, confinement, the state machine on a controlled clock, channels, dedupe."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from mkportal.db import session_scope
from mkportal.models.audit import AuditEvent
from mkportal.models.cluster import Cluster
from mkportal.models.metrics import Alarm, AlarmEvent, Notification
from mkportal.services import mail, notifications
from mkportal.services.errors import Forbidden, Invalid, NotFound
from mkportal.services.metrics import alarm_eval, alarm_input, alarms, prom
from tests.fakes.server import serving

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _cluster(org_id: str, name: str) -> str:
    with session_scope() as s:
        row = Cluster(org_id=org_id, name=name, provider="sandbox", region="r", version="1.35")
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def orgs(two_orgs) -> dict:
    acme, globex = two_orgs["acme_owner"].org_id, two_orgs["globex_owner"].org_id
    return {
        **two_orgs,
        "acme_web": _cluster(acme, "web"),
        "acme_db": _cluster(acme, "db"),
        "globex_web": _cluster(globex, "web"),
    }


class FakeProm:
    """Stands in for prom.query: returns `values` as samples and records the queries."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.error: Exception | None = None
        self.queries: list[str] = []

    def __call__(self, promql: str, at: datetime | None = None) -> list[prom.Sample]:
        self.queries.append(promql)
        if self.error:
            raise self.error
        return [prom.Sample({"cluster": "x"}, v) for v in self.values]


@pytest.fixture
def fake_prom(monkeypatch) -> FakeProm:
    fake = FakeProm()
    monkeypatch.setattr(prom, "query", fake)
    return fake


def _make(actor, **over) -> alarms.AlarmView:
    data = {
        "name": "High errors",
        "query": "sum(rate(http_requests_total[5m]))",
        "comparator": ">",
        "threshold": 5,
        "for_seconds": 60,
        "channels": ["in_app"],
    }
    data.update(over)
    return alarms.create(actor, data)


def _events(alarm_id: str) -> list[str]:
    with session_scope() as s:
        rows = s.exec(
            select(AlarmEvent).where(AlarmEvent.alarm_id == alarm_id).order_by(AlarmEvent.id)
        )
        return [e.kind for e in rows]


def _state(alarm_id: str) -> str:
    with session_scope() as s:
        return s.get(Alarm, alarm_id).state


def test_create_defaults_audits_and_lists(orgs):
    made = _make(orgs["acme_member"], channels=["email", "in_app"])
    assert made.state == "ok" and made.enabled and made.emails == ["member@acme.test"]
    assert made.webhook_secret == alarms.webhook_secret(made.id)
    assert [a.id for a in alarms.list_alarms(orgs["acme_viewer"]).items] == [made.id]
    assert alarms.list_alarms(orgs["globex_owner"]).items == []
    with session_scope() as s:
        actions = s.exec(select(AuditEvent.action).where(AuditEvent.target_id == made.id)).all()
    assert actions == ["alarm.created"]


@pytest.mark.parametrize(
    ("field", "over"),
    [
        ("name", {"name": "  "}),
        ("comparator", {"comparator": "=~"}),
        ("threshold", {"threshold": "lots"}),
        ("threshold", {"threshold": float("nan")}),
        ("for_seconds", {"for_seconds": 86401}),
        ("for_seconds", {"for_seconds": -1}),
        ("severity", {"severity": "panic"}),
        ("channels", {"channels": []}),
        ("channels", {"channels": ["sms"]}),
        ("emails.0", {"emails": ["not-an-address"]}),
        ("webhook_url", {"channels": ["webhook"], "webhook_url": "ftp://x.test/hook"}),
        ("webhook_url", {"channels": ["webhook"], "webhook_url": ""}),
        ("query", {"query": ""}),
        ("query", {"query": "sum(rate(x[5m]"}),
        ("query", {"query": "no_such_function(up)"}),
        ("cluster_id", {"cluster_id": "0" * 32}),
    ],
    ids=[
        "blank-name", "bad-comparator", "text-threshold", "nan-threshold", "for-too-long",
        "for-negative", "bad-severity", "no-channel", "unknown-channel", "bad-email",
        "ftp-webhook", "webhook-without-url", "empty-query", "unparsable-query",
        "unknown-function", "unknown-cluster",
    ],
)  # fmt: skip
def test_validation(orgs, field, over):
    with pytest.raises(Invalid) as err:
        _make(orgs["acme_member"], **over)
    assert field in err.value.errors


def test_other_orgs_cluster_is_invalid_and_alarms_are_404(orgs):
    with pytest.raises(Invalid) as err:
        _make(orgs["acme_member"], cluster_id=orgs["globex_web"])
    assert "cluster_id" in err.value.errors
    made = _make(orgs["acme_member"], cluster_id=orgs["acme_web"])
    globex = orgs["globex_owner"]
    for call in (
        lambda: alarms.get(globex, made.id),
        lambda: alarms.update(globex, made.id, {"threshold": 1}),
        lambda: alarms.set_enabled(globex, made.id, False),
        lambda: alarms.remove(globex, made.id),
        lambda: alarms.history(globex, made.id),
    ):
        with pytest.raises(NotFound):
            call()
    assert alarms.get(orgs["operator"], made.id).id == made.id


def test_viewer_reads_but_cannot_write(orgs):
    made = _make(orgs["acme_member"])
    viewer = orgs["acme_viewer"]
    assert alarms.get(viewer, made.id).name == "High errors"
    with pytest.raises(Forbidden):
        _make(viewer)
    with pytest.raises(Forbidden):
        alarms.update(viewer, made.id, {"threshold": 1})
    with pytest.raises(Forbidden):
        alarms.remove(viewer, made.id)


def test_query_is_confined_to_the_org_and_cluster(orgs, fake_prom):
    acme = orgs["acme_member"]
    _make(acme, name="all clusters")
    _make(acme, name="one cluster", cluster_id=orgs["acme_db"])
    alarm_eval.evaluate_all(now=T0, pool_size=2)
    assert len(fake_prom.queries) == 2
    for q in fake_prom.queries:
        assert f'org="{acme.org_id}"' in q
        assert orgs["globex_web"] not in q
    one = [q for q in fake_prom.queries if orgs["acme_web"] not in q]
    assert len(one) == 1 and orgs["acme_db"] in one[0]


def test_alarms_sharing_a_query_and_scope_query_once(orgs, fake_prom):
    _make(orgs["acme_member"], name="a", threshold=1)
    _make(orgs["acme_owner"], name="b", threshold=100)
    fake_prom.values = [50.0]
    counts = alarm_eval.evaluate_all(now=T0, pool_size=2)
    assert len(fake_prom.queries) == 1 and counts["evaluated"] == 2
    assert counts.get("pending") == 1


def test_state_machine_pending_firing_resolved_notifies_once(orgs, fake_prom):
    made = _make(orgs["acme_member"], for_seconds=60)
    fake_prom.values = [7.0, 1.0]
    assert alarm_eval.evaluate_all(now=T0).get("pending") == 1
    assert _state(made.id) == "pending"
    alarm_eval.evaluate_all(now=T0 + timedelta(seconds=30))
    assert _state(made.id) == "pending"
    assert alarm_eval.evaluate_all(now=T0 + timedelta(seconds=60)).get("firing") == 1
    alarm_eval.evaluate_all(now=T0 + timedelta(seconds=90))
    assert _state(made.id) == "firing"
    with session_scope() as s:
        assert s.get(Alarm, made.id).last_value == 7.0
    fake_prom.values = [1.0]
    assert alarm_eval.evaluate_all(now=T0 + timedelta(seconds=120)).get("resolved") == 1
    assert _state(made.id) == "ok"
    assert _events(made.id) == ["pending", "firing", "resolved"]
    with session_scope() as s:
        notes = s.exec(select(Notification).order_by(Notification.created_at)).all()
    kinds = sorted({n.kind for n in notes})
    assert kinds == ["alarm.firing", "alarm.resolved"]
    members = len(notifications.org_members(orgs["acme_member"].org_id))
    assert len(notes) == 2 * members
    assert all(n.org_id == orgs["acme_member"].org_id for n in notes)


def test_pending_that_clears_goes_back_to_ok_without_notice(orgs, fake_prom):
    made = _make(orgs["acme_member"], for_seconds=300)
    fake_prom.values = [9.0]
    alarm_eval.evaluate_all(now=T0)
    fake_prom.values = []
    alarm_eval.evaluate_all(now=T0 + timedelta(seconds=30))
    assert _state(made.id) == "ok" and _events(made.id) == ["pending", "ok"]
    with session_scope() as s:
        assert s.exec(select(Notification)).all() == []


@pytest.mark.parametrize(
    ("comparator", "threshold", "values", "breach", "value"),
    [
        (">", 5, [1, 6, 9], True, 9),
        (">=", 6, [6], True, 6),
        ("<", 2, [5, 1, 0.5], True, 0.5),
        ("<=", 1, [3], False, 3),
        ("==", 0, [0], True, 0),
        ("!=", 0, [0], False, 0),
        (">", 0, [], False, None),
    ],
    ids=["gt-worst", "ge", "lt-worst", "le-no", "eq", "ne-no", "empty"],
)
def test_outcome(comparator, threshold, values, breach, value):
    alarm = Alarm(org_id="o", name="n", query="up", comparator=comparator, threshold=threshold)
    got = alarm_eval.outcome(alarm, [prom.Sample({}, v) for v in values])
    assert (got.breach, got.value) == (breach, value)


def test_error_state_and_recovery(orgs, fake_prom):
    made = _make(orgs["acme_member"], for_seconds=0)
    fake_prom.error = prom.MetricsUnavailable("Prometheus does not answer.")
    alarm_eval.evaluate_all(now=T0)
    alarm_eval.evaluate_all(now=T0 + timedelta(seconds=30))
    with session_scope() as s:
        row = s.get(Alarm, made.id)
        assert row.state == "error" and "does not answer" in row.last_error
    fake_prom.error, fake_prom.values = None, [10.0]
    alarm_eval.evaluate_all(now=T0 + timedelta(seconds=60))
    assert _state(made.id) == "firing"
    assert _events(made.id) == ["error", "firing"]


def test_a_failed_query_while_firing_neither_refires_nor_loses_the_resolve(orgs, fake_prom):
    made = _make(orgs["acme_member"], for_seconds=0)
    fake_prom.values = [10.0]
    alarm_eval.evaluate_all(now=T0)
    fake_prom.error = prom.MetricsUnavailable("Prometheus does not answer.")
    alarm_eval.evaluate_all(now=T0 + timedelta(seconds=30))
    with session_scope() as s:
        row = s.get(Alarm, made.id)
        assert row.state == "firing" and "does not answer" in row.last_error
    fake_prom.error = None
    alarm_eval.evaluate_all(now=T0 + timedelta(seconds=60))
    assert _state(made.id) == "firing"
    fake_prom.values = [0.0]
    alarm_eval.evaluate_all(now=T0 + timedelta(seconds=90))
    assert _state(made.id) == "ok"
    assert _events(made.id) == ["firing", "resolved"]


def test_transition_is_applied_once_by_competing_evaluators(orgs, fake_prom):
    made = _make(orgs["acme_member"], for_seconds=0)
    with session_scope() as s:
        stale = s.get(Alarm, made.id)
        s.expunge(stale)
    result = alarm_eval.Outcome(True, 10.0)
    assert alarm_eval.apply(stale, result, T0) == "firing"
    assert alarm_eval.apply(stale, result, T0) == ""
    assert _events(made.id) == ["firing"]
    with session_scope() as s:
        notes = s.exec(select(Notification.user_id)).all()
    assert len(notes) == len(set(notes)) == len(notifications.org_members(made_org(made)))


def made_org(view: alarms.AlarmView) -> str:
    with session_scope() as s:
        return s.get(Alarm, view.id).org_id


def test_disabled_and_edited_alarms(orgs, fake_prom):
    made = _make(orgs["acme_member"], for_seconds=0)
    alarms.set_enabled(orgs["acme_member"], made.id, False)
    fake_prom.values = [10.0]
    assert alarm_eval.evaluate_all(now=T0) == {"evaluated": 0}
    changed = alarms.update(orgs["acme_owner"], made.id, {"enabled": True, "threshold": 50})
    assert changed.threshold == 50 and changed.enabled
    alarm_eval.evaluate_all(now=T0)
    assert _state(made.id) == "ok"


def test_email_and_signed_webhook_channels(orgs, fake_prom, monkeypatch):
    received: list[tuple[dict, bytes]] = []

    async def hook(scope, receive, send):
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        received.append(({k.decode(): v.decode() for k, v in scope["headers"]}, body))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    monkeypatch.setattr(alarm_input, "PUBLIC_WEBHOOKS_ONLY", False)
    sent: list[tuple[str, str]] = []
    monkeypatch.setattr(mail, "send", lambda to, subject, body, **kw: sent.append((to, subject)))
    with serving(hook) as url:
        made = _make(
            orgs["acme_member"],
            for_seconds=0,
            channels=["email", "webhook"],
            emails=["oncall@acme.test", "Dev@Acme.test"],
            webhook_url=f"{url}/hook",
        )
        fake_prom.values = [10.0]
        alarm_eval.evaluate_all(now=T0)
        fake_prom.values = [0.0]
        alarm_eval.evaluate_all(now=T0 + timedelta(seconds=30))
    assert sent == [
        ("dev@acme.test, oncall@acme.test", "[warning] High errors is firing"),
        ("dev@acme.test, oncall@acme.test", "[warning] High errors is resolved"),
    ]
    assert [json.loads(b)["status"] for _h, b in received] == ["firing", "resolved"]
    headers, body = received[0]
    key = alarms.webhook_secret(made.id).encode()
    want = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-mkportal-signature"], want)
    assert json.loads(body)["value"] == 10.0
    with session_scope() as s:
        assert s.exec(select(Notification)).all() == []


def test_failed_webhook_is_recorded(orgs, fake_prom, monkeypatch):
    monkeypatch.setattr(alarm_input, "PUBLIC_WEBHOOKS_ONLY", False)
    made = _make(
        orgs["acme_member"],
        for_seconds=0,
        channels=["webhook"],
        webhook_url="http://127.0.0.1:9/nothing-listens",
    )
    fake_prom.values = [10.0]
    alarm_eval.evaluate_all(now=T0)
    assert _events(made.id) == ["firing", "delivery"]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/hook", "http://10.0.0.1/", "http://localhost:8080/", "http://[::1]/",
     "http://169.254.169.254/latest/meta-data", "http://192.168.1.1/"],
    ids=["loopback", "private-10", "localhost", "ipv6-loopback", "link-local", "private-192"],
)  # fmt: skip
def test_webhooks_to_private_addresses_are_refused(orgs, url):
    with pytest.raises(Invalid) as err:
        _make(orgs["acme_member"], channels=["webhook"], webhook_url=url)
    assert "public address" in err.value.errors["webhook_url"]


def test_webhook_names_resolving_privately_are_not_called(orgs, fake_prom, monkeypatch):
    made = _make(
        orgs["acme_member"], for_seconds=0, channels=["webhook"],
        webhook_url="https://hooks.example.com/alarm",
    )  # fmt: skip
    monkeypatch.setattr(
        alarm_input.socket,
        "getaddrinfo",
        lambda *a, **kw: [(2, 1, 6, "", ("10.1.2.3", 443))],
    )
    fake_prom.values = [10.0]
    alarm_eval.evaluate_all(now=T0)
    history = alarms.history(orgs["acme_member"], made.id).items
    assert [e.kind for e in history] == ["delivery", "firing"]
    assert "not a public address" in history[0].message


def test_history_and_delete(orgs, fake_prom):
    made = _make(orgs["acme_member"], for_seconds=0)
    fake_prom.values = [10.0]
    alarm_eval.evaluate_all(now=T0)
    page = alarms.history(orgs["acme_viewer"], made.id)
    assert [e.kind for e in page.items] == ["firing"] and page.total == 1
    alarms.remove(orgs["acme_owner"], made.id)
    with pytest.raises(NotFound):
        alarms.get(orgs["acme_owner"], made.id)
    with session_scope() as s:
        assert s.exec(select(AlarmEvent)).all() == []


def test_tick_is_spaced_by_the_alarm_interval(orgs, fake_prom, monkeypatch):
    monkeypatch.setenv("ALARM_INTERVAL", "3600")
    from mkportal.settings import get_settings

    get_settings.cache_clear()
    _make(orgs["acme_member"])
    alarm_eval.tick()
    alarm_eval.tick()
    assert len(fake_prom.queries) == 1
