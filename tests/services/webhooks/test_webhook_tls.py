"""The POST connects to the checked address but speaks TLS to the URL's host name (pinning).

A real TLS server on 127.0.0.1 presents a certificate for ``hooks.integrator.test`` issued by a CA
made here; no name is ever looked up: the target carries the address the guard had checked.
"""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from agentflow.net import WebhookTarget
from agentflow.stages.deliver import post
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "hooks.integrator.test"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for ``HOST``; return (ca.pem, server.pem, server.key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test CA"))
        .issuer_name(_name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(HOST))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


class TlsReceiver:
    """An HTTPS server on 127.0.0.1 recording the SNI name and Host header of each request."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.requests: list[dict[str, Any]] = []
        self.sni: list[str | None] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)

        def remember(sock: Any, name: str | None, ctx: ssl.SSLContext) -> None:
            self.sni.append(name)

        context.sni_callback = remember
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.requests.append({"host": self.headers.get("host"), "body": body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def tls(tmp_path: Path) -> Iterator[tuple[TlsReceiver, ssl.SSLContext]]:
    ca, cert, key = make_pki(tmp_path)
    receiver = TlsReceiver(cert, key)
    trust = ssl.create_default_context(cafile=str(ca))
    yield receiver, trust
    receiver.close()


def target(port: int, host: str = HOST) -> WebhookTarget:
    """What the guard returns for https://{host}:{port}/hook when the name resolved to 127.0.0.1."""
    return WebhookTarget(f"https://{host}:{port}/hook?x=1", "https", host, port, ("127.0.0.1",))


def test_post_connects_to_the_checked_address_with_the_host_name_for_tls(
    tls: tuple[TlsReceiver, ssl.SSLContext],
) -> None:
    receiver, trust = tls
    # GIVEN a vetted target whose name resolved to the receiver's address
    # WHEN posted to
    result = post(
        target(receiver.port), b'{"a":1}', {"content-type": "application/json"}, timeout=5, verify=trust
    )
    # THEN the TLS handshake named the host (SNI), the certificate matched it, and Host carried it
    assert result.status_code == 204 and result.error is None, result
    assert receiver.sni == [HOST]
    assert receiver.requests == [{"host": f"{HOST}:{receiver.port}", "body": b'{"a":1}'}]


def test_post_refuses_a_certificate_for_another_name(tls: tuple[TlsReceiver, ssl.SSLContext]) -> None:
    receiver, trust = tls
    # GIVEN a target whose name is not the one on the server's certificate
    result = post(target(receiver.port, host="other.integrator.test"), b"{}", {}, timeout=5, verify=trust)
    # THEN no request is made and the attempt says why
    assert result.status_code is None
    assert result.error is not None and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert receiver.requests == []
