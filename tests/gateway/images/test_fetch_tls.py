"""The fetch over real TLS on a loopback server: the connection goes to the vetted address and the certificate
is checked against the URL's host name. Loopback is allowed only through ``FetchPolicy.allow_address``."""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.images import FetchPolicy, ImageRefused, fetch_image
from tests.gateway.images.samples import png

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
LOOPBACK_ONLY = FetchPolicy(allow_address=lambda address: address == "127.0.0.1", timeout=5.0)


async def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def certificate(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "img.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("img.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def serve_image(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    request = await reader.readuntil(b"\r\n\r\n")
    body = png(800, 400) if b"\r\nhost: img.test:" in request.lower() else b"wrong host"
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    await writer.drain()
    writer.close()


@asynccontextmanager
async def tls_loopback(tmp_path: Path, handler: Handler) -> AsyncIterator[tuple[int, ssl.SSLContext]]:
    """A TLS server on loopback with a certificate for ``img.test``: its port and a client context trusting it."""
    cert_path, key_path = certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=server_context)
    client_context = ssl.create_default_context(cafile=str(cert_path))
    try:
        yield server.sockets[0].getsockname()[1], client_context
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[int, ssl.SSLContext]]:
    async with tls_loopback(tmp_path, serve_image) as server:
        yield server


async def test_the_image_comes_from_the_vetted_address_with_the_certificate_of_the_host(
    tls_server: tuple[int, ssl.SSLContext],
) -> None:
    port, trust = tls_server
    async with httpx.AsyncClient(verify=trust) as client:
        body = await fetch_image(client, f"https://img.test:{port}/a.png", resolver=to_loopback, policy=LOOPBACK_ONLY)
    assert body == png(800, 400)


async def test_a_certificate_for_another_host_fails_the_fetch(tls_server: tuple[int, ssl.SSLContext]) -> None:
    port, trust = tls_server
    async with httpx.AsyncClient(verify=trust) as client:
        with pytest.raises(ImageRefused, match="could not be fetched"):
            await fetch_image(client, f"https://other.test:{port}/a.png", resolver=to_loopback, policy=LOOPBACK_ONLY)


async def test_without_the_test_hook_the_loopback_server_is_refused(tls_server: tuple[int, ssl.SSLContext]) -> None:
    port, trust = tls_server
    async with httpx.AsyncClient(verify=trust) as client:
        with pytest.raises(ImageRefused, match="not public"):
            await fetch_image(client, f"https://img.test:{port}/a.png", resolver=to_loopback)
