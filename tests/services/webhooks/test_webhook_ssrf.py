"""The SSRF guard (agentflow.net) outside local mode, and again at delivery time after DNS.

No test here sends a DNS query: names are answered by a fake ``socket.getaddrinfo`` that refuses
anything it was not told about, and IP literals resolve without the network (AI_NUMERICHOST).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from agentflow.errors import ValidationError
from agentflow.net import UnresolvableHostError, check_webhook_url, is_public, vet_webhook_url
from agentflow.services.sessions import session_key
from agentflow.settings import get_settings

from tests.services.webhooks.support import Receiver, World, final

REAL_GETADDRINFO = socket.getaddrinfo


def fake_dns(answers: dict[str, list[str]]) -> Callable[..., Any]:
    """A getaddrinfo that knows ``answers`` and IP literals, and nothing else (never the network)."""

    def getaddrinfo(
        host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in answers:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in answers[name]
            ]
        return REAL_GETADDRINFO(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    return getaddrinfo


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, list[str]]], None]:
    def install(answers: dict[str, list[str]]) -> None:
        monkeypatch.setattr(socket, "getaddrinfo", fake_dns(answers))

    install({})
    return install


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",  # metadata, and not https
        "https://169.254.169.254/latest/meta-data/",  # metadata over https: link-local
        "https://10.0.0.1/",  # private
        "https://localhost/",  # loopback by name
        "https://LOCALHOST./hook",  # the same, upper case with the root dot
        "https://api.localhost/",  # *.localhost is loopback by definition
        "https://127.1/",  # loopback, short form
        "https://2130706433/",  # loopback, one decimal number
        "https://0x7f000001/",  # loopback, hexadecimal
        "https://[::1]/",  # IPv6 loopback
        "https://[::ffff:127.0.0.1]/",  # IPv4-mapped loopback
        "https://[fd00:ec2::254]/",  # the IPv6 metadata address (unique local)
        "https://0.0.0.0/",  # unspecified
        "https://100.64.0.1/",  # carrier-grade NAT
        "https://192.168.1.10:8443/hook",  # private with a port
        "https://metadata.google.internal/",  # a metadata name
        "ftp://example.com/",  # not http(s)
        "https://user:pass@example.com/",  # credentials in the URL
        "hooks.example.com/path",  # not absolute
    ],
)
def test_guard_rejects_non_public_targets(url: str, dns: Callable[[dict[str, list[str]]], None]) -> None:
    # GIVEN a URL aimed at something internal WHEN checked outside local mode THEN it is refused
    with pytest.raises(ValidationError):
        check_webhook_url(url, local_mode=False)


def test_guard_rejects_a_name_that_resolves_to_loopback(dns: Callable[[dict[str, list[str]]], None]) -> None:
    # GIVEN a public-looking name whose DNS answer is 127.0.0.1 (a fake resolver, no network)
    dns({"hooks.integrator.test": ["127.0.0.1"], "mixed.integrator.test": ["93.184.216.34", "10.1.2.3"]})
    # WHEN checked outside local mode THEN it is refused, naming the address
    with pytest.raises(ValidationError, match=r"127\.0\.0\.1"):
        check_webhook_url("https://hooks.integrator.test/hook", local_mode=False)
    # AND one private address among public ones is enough to refuse
    with pytest.raises(ValidationError, match=r"10\.1\.2\.3"):
        check_webhook_url("https://mixed.integrator.test/hook", local_mode=False)


def test_guard_accepts_public_https_and_returns_the_checked_addresses(
    dns: Callable[[dict[str, list[str]]], None],
) -> None:
    # GIVEN a name resolving to public addresses (IPv4 and IPv6)
    dns({"hooks.integrator.test": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]})
    # WHEN vetted THEN the target carries those addresses, the host and the port to connect to
    target = vet_webhook_url("https://Hooks.Integrator.test.:8443/in?x=1", local_mode=False)
    assert target.addresses == ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946")
    assert (target.scheme, target.host, target.port) == ("https", "hooks.integrator.test", 8443)
    # AND a public IP literal passes without any lookup
    assert vet_webhook_url("https://93.184.216.34/", local_mode=False).addresses == ("93.184.216.34",)


def test_unresolvable_host_is_its_own_error(dns: Callable[[dict[str, list[str]]], None]) -> None:
    # GIVEN a name the resolver does not know THEN the error says so (the delivery stage retries it)
    with pytest.raises(UnresolvableHostError):
        vet_webhook_url("https://nowhere.integrator.test/", local_mode=False)


def test_local_mode_allows_loopback_only(dns: Callable[[dict[str, list[str]]], None]) -> None:
    # GIVEN local mode (and localhost answering as it does on any machine)
    dns({"localhost": ["127.0.0.1", "::1"]})
    # THEN http://127.0.0.1, localhost and [::1] are accepted
    for url in ("http://127.0.0.1:8080/hook", "http://localhost:9/hook", "http://[::1]:9/"):
        check_webhook_url(url, local_mode=True)
    # AND other private addresses are still refused
    for url in ("http://10.0.0.1/", "https://10.0.0.1/", "https://169.254.169.254/"):
        with pytest.raises(ValidationError):
            check_webhook_url(url, local_mode=True)
    # AND "localhost" that does not resolve to loopback is refused
    dns({"localhost": ["10.0.0.5"]})
    with pytest.raises(ValidationError, match="loopback"):
        check_webhook_url("http://localhost:9/hook", local_mode=True)


def test_is_public_sees_through_embedded_ipv4() -> None:
    assert is_public("93.184.216.34")
    assert not is_public("::ffff:10.0.0.1")
    assert not is_public("2002:a00:1::1")  # 6to4 around 10.0.0.1
    assert not is_public("fe80::1%eth0")


def test_delivery_time_guard_blocks_a_name_that_now_resolves_to_loopback(
    world: World,
    receiver: Receiver,
    dns: Callable[[dict[str, list[str]]], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a session whose https URL was accepted when its name was public ...
    session = world.session(None)
    url = f"https://hooks.integrator.test:{receiver.port}/hook"
    world.table.update_item(
        Key=dict(zip(("pk", "sk"), session_key(world.tenant.tenant_id, session["session_id"]), strict=True)),
        UpdateExpression="SET webhook_url = :u",
        ExpressionAttributeValues={":u": url},
    )
    session["webhook_url"] = url
    # ... and now resolves to 127.0.0.1, where the receiver listens; the stack runs outside local mode
    dns({"hooks.integrator.test": ["127.0.0.1"]})
    monkeypatch.setenv("LOCAL_MODE", "false")
    get_settings.cache_clear()
    try:
        # WHEN an event is delivered by the real poller
        world.emit(session)
        delivery = world.wait_delivery(session["session_id"], final)
    finally:
        monkeypatch.delenv("LOCAL_MODE")
        monkeypatch.setenv("LOCAL_MODE", "true")
        get_settings.cache_clear()
    # THEN the attempt is blocked after DNS, recorded, and the delivery fails without a retry
    assert delivery["status"] == "FAILED"
    [attempt] = delivery["attempts"]
    assert attempt["status"] == "blocked" and attempt["response_code"] is None
    assert "127.0.0.1" in attempt["error"]
    # AND nothing reached the receiver
    time.sleep(0.5)
    assert receiver.requests == []
