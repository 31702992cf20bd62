"""Receiving the metrics agents' remote-write batches and forwarding them to Prometheus.

An agent in a customer's cluster cannot be trusted with its own labels (the customer
controls its configuration), and the portal's embedded Prometheus only listens on
loopback. So agents send Prometheus remote-write requests (snappy-compressed protobuf
`WriteRequest`) to the portal with their cluster's ingest token; the portal replaces the
`org` and `cluster` labels of every series with the token's cluster, drops metadata, and
forwards the batch to Prometheus' remote-write receiver.

The snappy block format and the few protobuf messages involved are handled here in pure
Python (decoding all of snappy; encoding with literals only, which every decoder accepts).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from mkportal.services.errors import Invalid
from mkportal.services.logs.tokens import IngestIdentity, authenticate_ingest
from mkportal.services.metrics import prom

WRITE_PATH = "/api/v1/write"
MAX_UNCOMPRESSED = 64 * 1024 * 1024
FORCED = ("cluster", "org")
HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


@dataclass
class WriteResult:
    """What one forwarded batch held."""

    series: int
    samples: int


def _bad(message: str) -> Invalid:
    return Invalid({"body": message})


def _varint(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise _bad("Truncated or malformed varint.")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _put_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def snappy_decompress(data: bytes) -> bytes:
    """Decode a snappy block (the remote-write body encoding).

    Raises:
        Invalid: The block is malformed or decodes to more than 64 MiB.

    """
    size, pos = _varint(data, 0)
    if size > MAX_UNCOMPRESSED:
        raise _bad("The batch is larger than 64 MiB uncompressed.")
    out = bytearray()
    n = len(data)
    while pos < n:
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(data[pos : pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > n:
                raise _bad("Truncated snappy literal.")
            out += data[pos : pos + length]
            pos += length
            continue
        if kind == 1:
            length = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            length = 1 + (tag >> 2)
            offset = int.from_bytes(data[pos : pos + width], "little")
            pos += width
        if offset == 0 or offset > len(out):
            raise _bad("Malformed snappy copy.")
        start = len(out) - offset
        if offset >= length:
            out += out[start : start + length]
        else:
            for i in range(length):
                out.append(out[start + i])
        if len(out) > size:
            raise _bad("The snappy block is longer than it says.")
    if len(out) != size:
        raise _bad("The snappy block is shorter than it says.")
    return bytes(out)


def snappy_compress(data: bytes) -> bytes:
    """Encode `data` as a valid snappy block made of literals (no compression)."""
    out = bytearray(_put_varint(len(data)))
    for start in range(0, len(data), 65536):
        chunk = data[start : start + 65536]
        size = len(chunk) - 1
        if size < 60:
            out.append(size << 2)
        else:
            out.append(61 << 2)
            out += size.to_bytes(2, "little")
        out += chunk
    return bytes(out)


def _fields(data: bytes):  # noqa: ANN202
    """Yield (field number, wire type, value or payload bytes, raw bytes) of a message."""
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise _bad(f"Unsupported protobuf wire type {wire}.")
        if pos > len(data):
            raise _bad("Truncated protobuf field.")
        yield number, wire, value, data[start:pos]


def _len_field(number: int, payload: bytes) -> bytes:
    return _put_varint(number << 3 | 2) + _put_varint(len(payload)) + payload


def _label(name: str, value: str) -> bytes:
    return _len_field(1, name.encode()) + _len_field(2, value.encode())


def _series(data: bytes, forced: dict[str, str]) -> tuple[bytes, int]:
    labels: dict[str, str] = {}
    rest = bytearray()
    samples = 0
    for number, wire, value, raw in _fields(data):
        if number == 1 and wire == 2:
            name = value_ = ""
            for n, w, v, _r in _fields(value):
                if n == 1 and w == 2:
                    name = bytes(v).decode("utf-8", "replace")
                elif n == 2 and w == 2:
                    value_ = bytes(v).decode("utf-8", "replace")
            if name and name not in forced:
                labels[name] = value_
            continue
        samples += number == 2
        rest += raw
    labels.update(forced)
    out = b"".join(_len_field(1, _label(k, labels[k])) for k in sorted(labels))
    return out + bytes(rest), samples


def relabel(write_request: bytes, org_id: str, cluster_id: str) -> tuple[bytes, WriteResult]:
    """Force `org`/`cluster` on every series of a WriteRequest and drop its metadata.

    Returns:
        The rewritten WriteRequest (uncompressed) and its series and sample counts.

    Raises:
        Invalid: The message is not a WriteRequest.

    """
    forced = {"org": org_id, "cluster": cluster_id}
    out = bytearray()
    result = WriteResult(0, 0)
    for number, wire, value, _raw in _fields(write_request):
        if number != 1 or wire != 2:
            continue
        series, samples = _series(bytes(value), forced)
        out += _len_field(1, series)
        result.series += 1
        result.samples += samples
    return bytes(out), result


def forward(identity: IngestIdentity, body: bytes) -> WriteResult:
    """Relabel one agent batch for the identity's cluster and write it to Prometheus.

    Raises:
        Invalid: The body is not a snappy-compressed WriteRequest.
        MetricsUnavailable: No Prometheus, or it refused the batch for a server error.

    """
    rewritten, result = relabel(snappy_decompress(body), identity.org_id, identity.cluster_id)
    if not result.series:
        return result
    url = prom.prometheus_url()
    if not url:
        raise prom.MetricsUnavailable(prom.INSTALL_HINT)
    try:
        r = requests.post(
            url + WRITE_PATH, data=snappy_compress(rewritten), headers=HEADERS, timeout=prom.TIMEOUT
        )
    except requests.RequestException as exc:
        raise prom.MetricsUnavailable(
            f"Prometheus does not answer ({exc.__class__.__name__})."
        ) from exc
    if r.status_code >= 500:
        raise prom.MetricsUnavailable(f"Prometheus answered {r.status_code} to the batch.")
    if r.status_code >= 400:
        raise _bad(f"Prometheus refused the batch: {r.text.strip()[:300]}")
    return result


def ingest(token: str | None, body: bytes) -> WriteResult:
    """Authenticate an agent's ingest token and forward its batch (see `forward`).

    Raises:
        Unauthenticated: Missing, unknown or revoked token.
        Invalid: Malformed body.
        MetricsUnavailable: No Prometheus.

    """
    return forward(authenticate_ingest(token), body)
