"""TLS for the sandbox clusters' Kubernetes API: a local CA and a server certificate.

kubectl sends credentials only over TLS, so the sandbox API listens on HTTPS with a
certificate from a CA generated once into the var dir; kubeconfigs carry that CA.
"""

from __future__ import annotations

import base64
import fcntl
import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mkportal.settings import get_settings


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the CA certificate and the server certificate and key."""

    ca: Path
    cert: Path
    key: Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _issue(subject: str, key, issuer_key, issuer: str, sans: list, ca: bool) -> x509.Certificate:  # noqa: ANN001
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650 if ca else 825))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _sans(host: str) -> list:
    names = {"localhost", "127.0.0.1", host}
    out = []
    for n in sorted(names):
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            out.append(x509.DNSName(n))
    return out


def tls_files() -> TlsFiles:
    """Return the CA and server certificate files, creating them on first use."""
    settings = get_settings()
    folder = settings.var_dir / "sandbox-tls"
    folder.mkdir(parents=True, exist_ok=True)
    host = urlparse(settings.sandbox_api_url).hostname or "127.0.0.1"
    files = TlsFiles(
        folder / "ca.pem", folder / f"server-{host}.pem", folder / f"server-{host}.key"
    )
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not files.ca.exists():
            ca_key = ec.generate_private_key(ec.SECP256R1())
            ca = _issue("mkportal sandbox CA", ca_key, ca_key, "mkportal sandbox CA", [], ca=True)
            (folder / "ca.key").write_bytes(_pem_key(ca_key))
            files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        if not files.cert.exists():
            ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _issue(host, key, ca_key, "mkportal sandbox CA", _sans(host), ca=False)
            files.key.write_bytes(_pem_key(key))
            files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


def ca_data() -> str:
    """Return the CA certificate, base64-encoded as kubeconfigs carry it."""
    return base64.b64encode(tls_files().ca.read_bytes()).decode()
