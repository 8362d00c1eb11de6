"""Console sessions: they survive a restart with GATEWAY_SESSION_SECRET and end when the staff token changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from tests.conftest import VIEWER_TOKEN, Clock, make_settings
from tests.gateway.console.helpers import sign_in

SECRET = "0f" * 32


async def _session_cookie(tmp_path: Path, **env: str) -> str:
    app = create_app(make_settings(tmp_path, **env), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        await sign_in(client, VIEWER_TOKEN)
        return str(client.cookies["gateway_session"])


async def _dashboard_status(tmp_path: Path, cookie: str, **env: str) -> int:
    app = create_app(make_settings(tmp_path, **env), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        client.cookies.set("gateway_session", cookie, path="/admin")
        return (await client.get("/admin/", follow_redirects=False)).status_code


async def test_a_session_survives_a_restart_with_the_same_secret(tmp_path: Path) -> None:
    cookie = await _session_cookie(tmp_path, GATEWAY_SESSION_SECRET=SECRET)

    assert await _dashboard_status(tmp_path, cookie, GATEWAY_SESSION_SECRET=SECRET) == 200


@pytest.mark.parametrize(
    "env",
    [
        {"GATEWAY_SESSION_SECRET": "1f" * 32},
        {"GATEWAY_SESSION_SECRET": SECRET, "GATEWAY_STAFF_TOKENS": "ann:viewer:rotated-token-1"},
        {},  # no secret configured: each start makes its own
    ],
)
async def test_a_session_ends_with_another_secret_or_a_rotated_token(tmp_path: Path, env: dict[str, str]) -> None:
    cookie = await _session_cookie(tmp_path, GATEWAY_SESSION_SECRET=SECRET)

    assert await _dashboard_status(tmp_path, cookie, **env) == 303


async def test_a_signed_out_session_cookie_is_refused(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, GATEWAY_SESSION_SECRET=SECRET), clock=Clock(), start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        token = await sign_in(client, VIEWER_TOKEN)
        copied = str(client.cookies["gateway_session"])
        response = await client.post("/admin/sign-out", data={"_csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303

        client.cookies.set("gateway_session", copied, path="/admin")
        response = await client.get("/admin/", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/sign-in")


async def test_signing_out_in_one_process_ends_the_session_in_another(tmp_path: Path) -> None:
    """Two apps on one database, as ``gateway serve --workers 2`` runs them."""
    settings = make_settings(tmp_path, GATEWAY_SESSION_SECRET=SECRET)
    first, second = (create_app(settings, clock=Clock(), start_dispatcher=False) for _ in range(2))
    async with AsyncTestClient(first) as one, AsyncTestClient(second) as other:
        token = await sign_in(one, VIEWER_TOKEN)
        other.cookies.set("gateway_session", str(one.cookies["gateway_session"]), path="/admin")
        assert (await other.get("/admin/", follow_redirects=False)).status_code == 200

        await one.post("/admin/sign-out", data={"_csrf_token": token}, follow_redirects=False)

        assert (await other.get("/admin/", follow_redirects=False)).status_code == 303


async def test_a_role_change_ends_the_session(tmp_path: Path) -> None:
    cookie = await _session_cookie(tmp_path, GATEWAY_SESSION_SECRET=SECRET)
    promoted = f"ann:operator:{VIEWER_TOKEN}"

    assert (
        await _dashboard_status(tmp_path, cookie, GATEWAY_SESSION_SECRET=SECRET, GATEWAY_STAFF_TOKENS=promoted) == 303
    )


async def test_a_session_ends_after_its_eight_hours_on_the_server_too(tmp_path: Path) -> None:
    clock = Clock()
    app = create_app(make_settings(tmp_path), clock=clock, start_dispatcher=False)
    async with AsyncTestClient(app) as client:
        await sign_in(client, VIEWER_TOKEN)
        assert (await client.get("/admin/", follow_redirects=False)).status_code == 200
        clock.advance(8 * 3600)
        assert (await client.get("/admin/", follow_redirects=False)).status_code == 303
