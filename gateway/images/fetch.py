"""Fetching a caller's image URL without letting it reach inside our network (docs/vendors.md, "Kakao images").

The URL comes from a client, so the fetch could be aimed at the gateway's own network (SSRF). Every hop, the
first and each redirect, is checked the same way: ``https`` only, the host resolved here and every address it
resolves to must be public (no private, loopback, link-local, multicast, reserved or shared addresses), and the
connection goes to the vetted address itself, so a second resolution cannot swap it (DNS rebinding). TLS still
checks the certificate against the host name (httpcore's ``sni_hostname``). Redirects are followed by hand, at
most three; the body is read up to the size cap and no further; one deadline covers the whole fetch.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

__all__ = ("FetchPolicy", "ImageRefused", "Resolver", "fetch_image", "is_public_address", "system_resolver")

Resolver = Callable[[str, int], Awaitable[list[str]]]

_MAX_BYTES = 5 * 1024 * 1024  # no kakao vendor takes a larger image (docs/vendors.md); a rule may be stricter
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class ImageRefused(Exception):
    """The image URL cannot be used; ``reason`` says why, without the URL's query (it may carry a token)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_public_address(address: str) -> bool:
    """Whether an address may be fetched: globally routable unicast only.

    Args:
        address: An IPv4 or IPv6 address as text.

    Returns:
        ``False`` for private, loopback, link-local, multicast, reserved, shared (100.64/10) and unspecified
        addresses, also when written as IPv4-mapped IPv6.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch.

    Attributes:
        max_bytes: The largest body accepted; reading stops just past it.
        max_redirects: Redirect hops followed.
        timeout: Seconds for the whole fetch, redirects included.
        allow_address: Which resolved addresses may be connected to. Only tests relax it (their servers listen
            on loopback); nothing in the gateway's configuration can.
    """

    max_bytes: int = _MAX_BYTES
    max_redirects: int = 3
    timeout: float = 10.0
    allow_address: Callable[[str], bool] = field(default=is_public_address)


async def fetch_image(
    client: httpx.AsyncClient,
    url: str,
    *,
    resolver: Resolver = system_resolver,
    policy: FetchPolicy = FetchPolicy(),
) -> bytes:
    """Download ``url`` safely.

    Args:
        client: An httpx client on httpcore's transport (it honours ``sni_hostname``), not following redirects.
        url: The caller's image URL.
        resolver: Host name to addresses; tests inject a fake one.
        policy: Size, redirect and time limits and the address check.

    Returns:
        The body.

    Raises:
        ImageRefused: Not https, an address that is not public, too many redirects, a non-200 answer, a body over
            the cap, a network error or the deadline.
    """
    try:
        async with asyncio.timeout(policy.timeout):
            return await _follow(client, httpx.URL(url), resolver, policy)
    except TimeoutError as exc:
        raise ImageRefused("the image took too long to fetch") from exc
    except httpx.HTTPError as exc:
        raise ImageRefused(f"the image could not be fetched ({type(exc).__name__})") from exc


async def _follow(client: httpx.AsyncClient, url: httpx.URL, resolver: Resolver, policy: FetchPolicy) -> bytes:
    for _ in range(policy.max_redirects + 1):
        request = await _pinned_request(client, url, resolver, policy)
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            if response.status_code in _REDIRECT_STATUSES and "location" in response.headers:
                url = url.join(response.headers["location"])
                continue
            if response.status_code != 200:
                raise ImageRefused(f"the image URL answered HTTP {response.status_code}")
            return await _read_capped(response, policy.max_bytes)
        finally:
            await response.aclose()
    raise ImageRefused(f"more than {policy.max_redirects} redirects")


async def _pinned_request(
    client: httpx.AsyncClient, url: httpx.URL, resolver: Resolver, policy: FetchPolicy
) -> httpx.Request:
    if url.scheme != "https":
        raise ImageRefused("the image URL must be https")
    host = url.host
    if not host:
        raise ImageRefused("the image URL has no host")
    try:
        addresses = [host] if _is_address(host) else await resolver(host, url.port or 443)
    except OSError as exc:
        raise ImageRefused("the image host does not resolve") from exc
    if not addresses:
        raise ImageRefused("the image host does not resolve")
    # Every address must pass: a name with one public and one private address could be answered either way.
    for address in addresses:
        try:
            allowed = policy.allow_address(address)
        except ValueError:
            allowed = False
        if not allowed:
            raise ImageRefused("the image host resolves to an address that is not public")
    host_header = host if url.port is None else f"{host}:{url.port}"
    return client.build_request(
        "GET",
        url.copy_with(host=addresses[0]),
        # Identity encoding: the cap counts the bytes as they arrive, so a compressed body could not be bounded.
        headers={"Host": host_header, "Accept": "image/png, image/jpeg", "Accept-Encoding": "identity"},
        extensions={"sni_hostname": host},
    )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        raise ImageRefused("the image was sent compressed")
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ImageRefused(f"the image is larger than {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > max_bytes:
            raise ImageRefused(f"the image is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
