"""Outbound URL policy: the SSRF guard for webhook targets.

Outside local mode a webhook URL must be https and every address its host resolves to must be
public. The check runs when a session is created and again right before each delivery (DNS can
change between the two).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from agentflow.errors import ValidationError

_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise ValidationError(f"webhook host {host!r} does not resolve", field="webhook_url") from exc
    return sorted({str(info[4][0]) for info in infos})


def check_webhook_url(url: str, *, local_mode: bool) -> None:
    """Raise ``ValidationError`` unless ``url`` is an acceptable webhook target.

    Local mode also accepts http://127.0.0.1 and http://localhost, for tests and demos.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host or parts.scheme not in ("http", "https"):
        raise ValidationError("webhook_url must be an absolute http(s) URL", field="webhook_url")
    if parts.username or parts.password:
        raise ValidationError("webhook_url must not carry credentials", field="webhook_url")
    if local_mode and host in ("127.0.0.1", "localhost", "::1"):
        return
    if parts.scheme != "https":
        raise ValidationError("webhook_url must use https", field="webhook_url")
    if host in _METADATA_HOSTS or host == "localhost" or host.endswith(".localhost"):
        raise ValidationError(f"webhook host {host!r} is not allowed", field="webhook_url")
    for address in resolve(host, parts.port or 443):
        if not _is_public(address):
            raise ValidationError(
                f"webhook host {host!r} resolves to a non-public address ({address})", field="webhook_url"
            )
