"""Signing in to the console the way a browser does: the form's CSRF cookie, then the token."""

from __future__ import annotations

from tests.conftest import VIEWER_TOKEN
from tests.gateway.api.messages import Client

__all__ = ("csrf", "sign_in")


def csrf(client: Client) -> str:
    """The CSRF token the console set as a cookie (forms send it back as ``_csrf_token``)."""
    token = client.cookies.get("gateway_csrf")
    assert token, "no CSRF cookie yet: GET a console page first"
    return str(token)


async def sign_in(client: Client, token: str = VIEWER_TOKEN) -> str:
    """Sign in with ``token``; return the CSRF token for the forms that follow."""
    await client.get("/admin/sign-in")
    response = await client.post(
        "/admin/sign-in", data={"token": token, "_csrf_token": csrf(client)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return csrf(client)
