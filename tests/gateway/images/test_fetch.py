from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from gateway.images import FetchPolicy, ImageRefused, fetch_image, is_public_address
from tests.gateway.images.samples import png

PUBLIC = "93.184.216.34"
HOSTS = {"img.example.com": [PUBLIC], "inside.example.com": ["127.0.0.1"], "mixed.example.com": [PUBLIC, "10.1.2.3"]}


async def fake_resolver(host: str, port: int) -> list[str]:
    return HOSTS.get(host, [])


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def test_only_public_unicast_addresses_pass() -> None:
    assert is_public_address(PUBLIC)
    assert is_public_address("2606:4700::1111")
    for address in (
        "127.0.0.1",
        "10.0.0.7",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address to refuse, not one to bind)
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
    ):
        assert not is_public_address(address), address


@respx.mock
async def test_the_connection_goes_to_the_vetted_address_with_the_host_name_for_tls(
    client: httpx.AsyncClient,
) -> None:
    route = respx.get(f"https://{PUBLIC}/a.png").mock(return_value=httpx.Response(200, content=png(800, 400)))
    body = await fetch_image(client, "https://img.example.com/a.png", resolver=fake_resolver)
    assert body == png(800, 400)
    request = route.calls.last.request
    assert request.headers["host"] == "img.example.com"
    assert request.extensions["sni_hostname"] == "img.example.com"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://img.example.com/a.png", "the image URL must be https"),
        ("https://127.0.0.1/a.png", "not public"),
        ("https://10.0.0.7/a.png", "not public"),
        ("https://169.254.169.254/latest/meta-data", "not public"),
        ("https://[::1]/a.png", "not public"),
        ("https://inside.example.com/a.png", "not public"),
        ("https://mixed.example.com/a.png", "not public"),
        ("https://nowhere.example.com/a.png", "does not resolve"),
    ],
)
async def test_refused_addresses_are_never_connected_to(client: httpx.AsyncClient, url: str, reason: str) -> None:
    with respx.mock(assert_all_called=False) as router:
        catch_all = router.route().mock(return_value=httpx.Response(200, content=png(800, 400)))
        with pytest.raises(ImageRefused, match=reason):
            await fetch_image(client, url, resolver=fake_resolver)
    assert not catch_all.called


@respx.mock
async def test_a_redirect_to_loopback_is_refused(client: httpx.AsyncClient) -> None:
    respx.get(f"https://{PUBLIC}/a.png").mock(
        return_value=httpx.Response(302, headers={"location": "https://inside.example.com/secret"})
    )
    with pytest.raises(ImageRefused, match="not public"):
        await fetch_image(client, "https://img.example.com/a.png", resolver=fake_resolver)


@respx.mock
async def test_a_redirect_to_plain_http_is_refused(client: httpx.AsyncClient) -> None:
    respx.get(f"https://{PUBLIC}/a.png").mock(
        return_value=httpx.Response(301, headers={"location": "http://img.example.com/b.png"})
    )
    with pytest.raises(ImageRefused, match="must be https"):
        await fetch_image(client, "https://img.example.com/a.png", resolver=fake_resolver)


@respx.mock
async def test_redirects_are_followed_three_times_and_no_more(client: httpx.AsyncClient) -> None:
    for hop in range(4):
        respx.get(f"https://{PUBLIC}/{hop}").mock(return_value=httpx.Response(302, headers={"location": f"/{hop + 1}"}))
    respx.get(f"https://{PUBLIC}/3").mock(return_value=httpx.Response(200, content=b"image"))
    assert await fetch_image(client, "https://img.example.com/0", resolver=fake_resolver) == b"image"
    with pytest.raises(ImageRefused, match="more than 2 redirects"):
        await fetch_image(
            client, "https://img.example.com/0", resolver=fake_resolver, policy=FetchPolicy(max_redirects=2)
        )


@respx.mock
async def test_a_body_over_the_cap_is_refused(client: httpx.AsyncClient) -> None:
    respx.get(f"https://{PUBLIC}/big").mock(return_value=httpx.Response(200, content=bytes(2000)))
    respx.get(f"https://{PUBLIC}/gz").mock(
        return_value=httpx.Response(200, content=b"x", headers={"content-encoding": "gzip"})
    )
    respx.get(f"https://{PUBLIC}/gone").mock(return_value=httpx.Response(404))
    policy = FetchPolicy(max_bytes=1000)
    with pytest.raises(ImageRefused, match="larger than 1000 bytes"):
        await fetch_image(client, "https://img.example.com/big", resolver=fake_resolver, policy=policy)
    with pytest.raises(ImageRefused, match="compressed"):
        await fetch_image(client, "https://img.example.com/gz", resolver=fake_resolver, policy=policy)
    with pytest.raises(ImageRefused, match="HTTP 404"):
        await fetch_image(client, "https://img.example.com/gone", resolver=fake_resolver, policy=policy)


@respx.mock
async def test_network_errors_and_the_deadline_are_refusals(client: httpx.AsyncClient) -> None:
    respx.get(f"https://{PUBLIC}/down").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ImageRefused, match="ConnectError"):
        await fetch_image(client, "https://img.example.com/down", resolver=fake_resolver)

    async def slow_resolver(host: str, port: int) -> list[str]:
        await asyncio.sleep(5)
        return [PUBLIC]

    with pytest.raises(ImageRefused, match="too long"):
        await fetch_image(client, "https://img.example.com/a", resolver=slow_resolver, policy=FetchPolicy(timeout=0.05))
