"""Outbound URL policy: the SSRF guard for webhook targets.

Outside local mode a webhook URL must be https and every address its host resolves to must be
public. The check runs when a session is created and again right before each delivery (DNS can
change between the two); the delivery then connects to the very addresses that were checked, so
a second DNS answer (rebinding) cannot send it elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from agentflow.errors import ValidationError

_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnresolvableHostError(ValidationError):
    """The host has no address right now (DNS may recover: a delivery retries on this)."""


@dataclass(frozen=True)
class WebhookTarget:
    """A vetted webhook URL and the addresses it may be reached at.

    Attributes:
        url: the URL as given.
        scheme: ``http`` or ``https``.
        host: the host name, lower case, without a trailing dot (the ``Host`` header and TLS name).
        port: the TCP port.
        addresses: the checked addresses, in resolver order; connect to one of these only.
    """

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """The address and any IPv4 address carried inside it (mapped, 6to4, Teredo)."""
    found: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            found.append(ip.ipv4_mapped)
        if ip.sixtofour is not None:
            found.append(ip.sixtofour)
        if ip.teredo is not None:
            found.extend(ip.teredo)
    return found


def is_public(address: str) -> bool:
    """True when ``address`` is globally routable unicast (not private, loopback, link-local, …)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return all(a.is_global and not a.is_multicast for a in _embedded(ip))


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return any(a.is_loopback for a in _embedded(ip))


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA), in the resolver's order, without repeats."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHostError(f"webhook host {host!r} does not resolve", field="webhook_url") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def vet_webhook_url(url: str, *, local_mode: bool) -> WebhookTarget:
    """Resolve ``url``'s host and return it with its addresses, or raise ``ValidationError``.

    Local mode also accepts http(s)://127.0.0.1, ``localhost`` and ``[::1]`` (for tests and demos),
    and then only if the name resolves to loopback addresses.

    Raises:
        ValidationError: the URL is malformed, not https (outside local mode), names a forbidden
            host, or resolves to any address that is not public.
        UnresolvableHostError: the host does not resolve (a ``ValidationError`` too).
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host or parts.scheme not in ("http", "https"):
        raise ValidationError("webhook_url must be an absolute http(s) URL", field="webhook_url")
    if parts.username or parts.password:
        raise ValidationError("webhook_url must not carry credentials", field="webhook_url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationError("webhook_url has an invalid port", field="webhook_url") from exc
    if local_mode and host in _LOCAL_HOSTS:
        addresses = resolve(host, port)
        if not all(_is_loopback(a) for a in addresses):
            raise ValidationError(f"webhook host {host!r} does not resolve to loopback", field="webhook_url")
        return WebhookTarget(url, parts.scheme, host, port, tuple(addresses))
    if parts.scheme != "https":
        raise ValidationError("webhook_url must use https", field="webhook_url")
    if host in _METADATA_HOSTS or host == "localhost" or host.endswith(".localhost"):
        raise ValidationError(f"webhook host {host!r} is not allowed", field="webhook_url")
    addresses = resolve(host, port)
    for address in addresses:
        if not is_public(address):
            raise ValidationError(
                f"webhook host {host!r} resolves to a non-public address ({address})", field="webhook_url"
            )
    if not addresses:
        raise UnresolvableHostError(f"webhook host {host!r} does not resolve", field="webhook_url")
    return WebhookTarget(url, parts.scheme, host, port, tuple(addresses))


def check_webhook_url(url: str, *, local_mode: bool) -> None:
    """Raise ``ValidationError`` unless ``url`` is an acceptable webhook target.

    Local mode also accepts http://127.0.0.1 and http://localhost, for tests and demos.
    """
    vet_webhook_url(url, local_mode=local_mode)
