"""The metrics agents' remote-write endpoint: snappy, WriteRequest relabelling, auth."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mkportal.api.app import create_api
from mkportal.services.errors import Invalid
from mkportal.services.logs.tokens import create_ingest_token, revoke_ingest_token
from mkportal.services.metrics import remote_write as rw
from tests.unit.test_alarms import _cluster


def _series(labels: dict[str, str], value_bytes: bytes = b"\x09" + b"\x00" * 8) -> bytes:
    body = b"".join(rw._len_field(1, rw._label(k, v)) for k, v in labels.items())
    return body + rw._len_field(2, value_bytes)


def _labels(series: bytes) -> dict[str, str]:
    out = {}
    for number, _w, value, _r in rw._fields(series):
        if number == 1:
            fields = {n: bytes(v).decode() for n, _w2, v, _r2 in rw._fields(value)}
            out[fields[1]] = fields[2]
    return out


def test_snappy_literals_and_overlapping_copies():
    assert rw.snappy_decompress(b"\x09\x08abc\x09\x03") == b"abcabcabc"
    for size in (0, 1, 59, 60, 61, 300, 70_000):
        data = bytes(i % 251 for i in range(size))
        assert rw.snappy_decompress(rw.snappy_compress(data)) == data


@pytest.mark.parametrize(
    "body",
    [b"", b"\x05\x08ab", b"\x09\x08abc\x09\x07", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"],
    ids=["empty", "short-literal", "copy-before-start", "huge-preamble"],
)
def test_malformed_snappy_is_invalid(body):
    with pytest.raises(Invalid):
        rw.snappy_decompress(body)


def test_relabel_forces_org_and_cluster_sorts_labels_and_drops_metadata():
    request = (
        rw._len_field(1, _series({"__name__": "up", "org": "evil", "cluster": "x", "job": "a"}))
        + rw._len_field(1, _series({"__name__": "http_requests_total", "code": "200"}))
        + rw._len_field(3, b"\x08\x01")  # metadata
    )
    out, result = rw.relabel(request, "acme", "c1")
    assert (result.series, result.samples) == (2, 2)
    series = [bytes(v) for n, _w, v, _r in rw._fields(out)]
    assert [n for n, *_ in rw._fields(out)] == [1, 1]
    first = _labels(series[0])
    assert first == {"__name__": "up", "cluster": "c1", "job": "a", "org": "acme"}
    assert list(first) == sorted(first)
    assert _labels(series[1])["org"] == "acme"


def test_endpoint_needs_a_live_ingest_token(two_orgs, monkeypatch):
    member = two_orgs["acme_member"]
    cluster = _cluster(member.org_id, "web")
    plain, token = create_ingest_token(member, cluster, "metrics-agent")
    seen = []
    monkeypatch.setattr(
        rw, "forward", lambda ident, body: seen.append(ident) or rw.WriteResult(0, 0)
    )
    api = TestClient(create_api(), raise_server_exceptions=False)
    url = "/api/v1/ingest/metrics"
    assert api.post(url, content=b"x").status_code == 401
    assert (
        api.post(url, content=b"x", headers={"Authorization": "Bearer mkl_nope"}).status_code == 401
    )
    ok = api.post(url, content=b"x", headers={"Authorization": f"Bearer {plain}"})
    assert ok.status_code == 204 and seen[0].cluster_id == cluster
    revoke_ingest_token(member, cluster, token.id)
    assert (
        api.post(url, content=b"x", headers={"Authorization": f"Bearer {plain}"}).status_code == 401
    )


def test_malformed_body_is_422_and_no_backend_is_503(two_orgs, monkeypatch):
    member = two_orgs["acme_member"]
    plain, _ = create_ingest_token(member, _cluster(member.org_id, "web"), "metrics-agent")
    api = TestClient(create_api(), raise_server_exceptions=False)
    headers = {"Authorization": f"Bearer {plain}"}
    assert (
        api.post("/api/v1/ingest/metrics", content=b"\x05\x08ab", headers=headers).status_code
        == 422
    )
    monkeypatch.setenv("PROMETHEUS_URL", "")
    monkeypatch.setenv("METRICS_EMBEDDED", "false")
    from mkportal.settings import get_settings

    get_settings.cache_clear()
    body = rw.snappy_compress(rw._len_field(1, _series({"__name__": "up"})))
    assert api.post("/api/v1/ingest/metrics", content=body, headers=headers).status_code == 503
