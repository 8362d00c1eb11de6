"""Console sign-in: an encrypted session cookie naming the staff member, and CSRF protection of every form.

The session holds the staff member's name and a fingerprint of their token, never the token: rotating or
removing a token in ``GATEWAY_STAFF_TOKENS`` ends that member's sessions. Both cookies are HttpOnly,
SameSite=Lax, limited to ``/admin`` and ``Secure`` with ``GATEWAY_COOKIE_SECURE``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from litestar import Request
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig

from gateway.api.problems import Problem
from gateway.settings import Settings, StaffToken

__all__ = (
    "CSRF_COOKIE",
    "REVEAL_SECONDS",
    "SESSION_COOKIE",
    "SignInRequired",
    "console_middleware",
    "require_console_operator",
    "require_console_staff",
    "reveal_granted",
    "sign_in",
    "sign_out",
    "start_reveal",
)

SESSION_COOKIE = "gateway_session"
CSRF_COOKIE = "gateway_csrf"
#: A working day: a forgotten session on a shared laptop does not outlive it.
SESSION_SECONDS = 8 * 3600
_PATH = "/admin"
#: How long one audited reveal shows a message unmasked in the session that asked for it.
REVEAL_SECONDS = 5 * 60.0


class SignInRequired(NotAuthorizedException):
    """No valid session: the console answers with the sign-in page."""


def console_middleware(settings: Settings, secret: bytes) -> list[DefineMiddleware]:
    """The session and CSRF middleware of the console, keyed by ``secret`` (16, 24 or 32 bytes)."""
    session = CookieBackendConfig(
        secret=secret,
        key=SESSION_COOKIE,
        max_age=SESSION_SECONDS,
        path=_PATH,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )
    csrf = CSRFConfig(
        # A key of its own, derived so that one setting serves both.
        secret=hmac.new(secret, b"gateway console csrf", hashlib.sha256).hexdigest(),
        cookie_name=CSRF_COOKIE,
        cookie_path=_PATH,
        cookie_httponly=True,
        cookie_secure=settings.cookie_secure,
        cookie_samesite="lax",
    )
    return [session.middleware, DefineMiddleware(CSRFMiddleware, config=csrf)]


def sign_in(request: Request[Any, Any, Any], member: StaffToken) -> None:
    """Start a session for ``member``."""
    request.set_session({"staff": member.name, "key": _fingerprint(member.token)})


def start_reveal(request: Request[Any, Any, Any], message_id: str, *, now: float) -> float:
    """Let this session see ``message_id`` unmasked for :data:`REVEAL_SECONDS` (one message at a time).

    The reveal is audited once, when it is asked for; reloading the page within that time shows it again without
    another audit entry. Returns until when.
    """
    until = now + REVEAL_SECONDS
    request.set_session({**request.session, "reveal": [message_id, until]})
    return until


def reveal_granted(request: Request[Any, Any, Any], message_id: str, *, now: float) -> float | None:
    """Until when this session may see ``message_id`` unmasked, or ``None``."""
    granted = request.session.get("reveal")
    if isinstance(granted, list) and len(granted) == 2 and granted[0] == message_id and now < float(granted[1]):
        return float(granted[1])
    return None


def sign_out(request: Request[Any, Any, Any]) -> None:
    """End the session."""
    request.clear_session()


def require_console_staff(connection: ASGIConnection[Any, Any, Any, Any], _: object) -> None:
    """Guard: a valid session; the staff member is put in ``scope["staff"]`` like the API's guard does."""
    member = _session_staff(connection.session, connection.app.state.settings.staff_tokens)
    if member is None:
        raise SignInRequired()
    connection.scope["staff"] = member  # type: ignore[typeddict-unknown-key]


def require_console_operator(connection: ASGIConnection[Any, Any, Any, Any], handler: object) -> None:
    """Guard: a valid session of an operator."""
    require_console_staff(connection, handler)
    if connection.scope["staff"].role != "operator":  # type: ignore[typeddict-item]
        raise Problem(403, "이 작업은 운영자 권한이 필요합니다. This needs the operator role.")


def _session_staff(session: dict[str, Any], staff: Iterable[StaffToken]) -> StaffToken | None:
    name, key = session.get("staff"), session.get("key")
    if not isinstance(name, str) or not isinstance(key, str):
        return None
    for member in staff:
        if member.name == name and hmac.compare_digest(key, _fingerprint(member.token)):
            return member
    return None


def _fingerprint(token: str) -> str:
    return hashlib.sha256(b"gateway console session:" + token.encode()).hexdigest()
