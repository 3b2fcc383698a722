"""Outbound HTTP with an SSRF guard: every hop resolved, checked and pinned to the checked address.

The guard resolves the host with ``getaddrinfo`` (so ``2130706433``, ``0x7f.1`` and other
spellings of loopback resolve to what they really are), refuses the request if *any*
resolved address is not globally routable (loopback, private, link-local incl.
169.254.169.254, CGNAT, unspecified, multicast, reserved, and the IPv4-mapped, 6to4,
Teredo, NAT64 and IPv4-compatible IPv6 forms of those), and then connects to the checked
IP itself, keeping the original Host header and TLS server name, so a DNS answer cannot change between check and connect (rebinding).
Redirects are followed by hand and every hop is checked again. A target listed in the
allow-list (``host`` or ``host:port``, matched against the URL as written) skips the
address check; that is how tests reach their local server and how an operator lets apps
call an internal service.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from workflows.errors import NodeFailure

__all__ = ["HttpResponse", "TargetRefused", "check_target", "is_allowed", "is_public_address", "send"]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SENSITIVE = frozenset({"authorization", "cookie", "proxy-authorization"})


class TargetRefused(NodeFailure):
    """The URL points at an address apps may not reach (never retried)."""


@dataclass(slots=True)
class HttpResponse:
    """A fully read response: status, headers, body (capped) and the final URL."""

    status: int
    headers: dict[str, str]
    body: bytes
    url: str
    content_type: str = ""
    redirects: list[str] = field(default_factory=list)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix: the last 32 bits are an IPv4 address
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64: translated inside the operator's network


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip in _NAT64 or (int(ip) >> 32 == 0 and int(ip) > 1):  # NAT64, or IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)


def is_public_address(text: str) -> bool:
    """Tell whether an IP address is globally routable unicast (the only kind apps may reach)."""
    ip = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
        if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible form: never a real destination
            return False
    return bool(ip.is_global) and not ip.is_multicast


def is_allowed(url: httpx.URL, allow: Sequence[str]) -> bool:
    """Tell whether ``host`` or ``host:port`` of the URL (as written) is in the allow-list."""
    host = (url.host or "").lower().strip("[]")
    port = url.port or (443 if url.scheme == "https" else 80)
    for entry in allow:
        entry = entry.strip().lower()
        if entry.startswith("["):  # [::1]:8080 or [::1]
            bracket = entry.find("]")
            name, rest = entry[1:bracket], entry[bracket + 1:]
            entry_port = rest[1:] if rest.startswith(":") else ""
        elif entry.count(":") == 1:
            name, entry_port = entry.split(":")
        else:
            name, entry_port = entry, ""
        if name == host and entry_port in ("", "*", str(port)):
            return True
    return False


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise NodeFailure(f"cannot resolve host '{host}': {exc}") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_target(url: httpx.URL, allow: Sequence[str]) -> str | None:
    """Refuse URLs apps may not reach; return the checked IP to connect to (None when allow-listed)."""
    if url.scheme not in ("http", "https"):
        raise TargetRefused(f"only http and https URLs are allowed, not '{url.scheme or '(none)'}'")
    if not url.host:
        raise TargetRefused("the URL has no host")
    if is_allowed(url, allow):
        return None
    port = url.port or (443 if url.scheme == "https" else 80)
    addresses = _resolve(url.host, port)
    blocked = [a for a in addresses if not is_public_address(a)]
    if blocked or not addresses:
        raise TargetRefused(f"refusing to connect to '{url.host}': it resolves to a private, loopback, "
                            f"link-local or otherwise non-public address ({', '.join(blocked) or 'none'}); "
                            "an operator can allow-list the target")
    return addresses[0]


def _pinned(url: httpx.URL, ip: str | None) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    if ip is None:
        return url, {}, {}
    host_header = url.netloc.decode("ascii")
    extensions: dict[str, Any] = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return url.copy_with(host=ip), {"Host": host_header}, extensions


def _read(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise NodeFailure(f"response body is {declared} bytes, more than the limit of {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise NodeFailure(f"response body is larger than the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def send(method: str, url: str, *, allow: Sequence[str], params: Mapping[str, Any] | None = None,
         headers: Mapping[str, str] | None = None, json: Any = None, data: Mapping[str, Any] | None = None,
         content: str | bytes | None = None, timeout: float = 10.0, max_bytes: int = 1_048_576,
         follow_redirects: bool = True, max_redirects: int = 5) -> HttpResponse:
    """Send one request (following redirects hop by hop, each hop checked) and read the body."""
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise NodeFailure(f"invalid URL '{url}': {exc}") from None
    if params:
        target = target.copy_merge_params({k: v for k, v in params.items() if v is not None})
    base_headers = {str(k): str(v) for k, v in (headers or {}).items()}
    body: dict[str, Any] = {}
    if json is not None:
        body["json"] = json
    elif data is not None:
        body["data"] = {k: "" if v is None else str(v) for k, v in data.items()}
    elif content is not None:
        body["content"] = content
    hops: list[str] = []
    with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False) as client:
        for _ in range(max_redirects + 1):
            ip = check_target(target, allow)
            pinned, extra_headers, extensions = _pinned(target, ip)
            request = client.build_request(method, pinned, headers={**base_headers, **extra_headers}, **body,
                                           extensions=extensions)
            response = client.send(request, stream=True)
            try:
                location = response.headers.get("location")
                if follow_redirects and response.status_code in REDIRECTS and location:
                    following = target.join(location)
                    hops.append(str(following))
                    if response.status_code == 303 or (response.status_code in (301, 302) and method == "POST"):
                        method = "GET" if method != "HEAD" else method
                        body = {}
                    if (following.scheme, following.host, following.port) != (target.scheme, target.host,
                                                                                target.port):
                        base_headers = {k: v for k, v in base_headers.items() if k.lower() not in _SENSITIVE}
                    target = following
                    continue
                payload = _read(response, max_bytes)
                return HttpResponse(status=response.status_code, headers=dict(response.headers), body=payload,
                                    url=str(target), content_type=response.headers.get("content-type", ""),
                                    redirects=hops)
            finally:
                response.close()
    raise NodeFailure(f"too many redirects (more than {max_redirects})")
