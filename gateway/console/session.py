"""Console sign-in: an encrypted session cookie naming the staff member, and CSRF protection of every form.

The session holds the staff member's name, a fingerprint of their role and token (never the token) and a random
session id. Every request checks all three: changing a member's token or role in ``GATEWAY_STAFF_TOKENS`` ends
their sessions, and the id must still be in the store, where signing out deletes it (OWASP's session guidance:
a sign-out ends the session on the server, not only in the browser). The store is shared, so this holds for
every process of ``gateway serve --workers N``. Both cookies are HttpOnly, SameSite=Lax, limited to ``/admin``
and ``Secure`` unless the gateway listens on loopback only (``GATEWAY_COOKIE_SECURE``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
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
from gateway.store.base import StoreUnavailable

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


async def sign_in(request: Request[Any, Any, Any], member: StaffToken) -> None:
    """Start a session for ``member``, recorded in the store so that signing out can end it."""
    session_id = secrets.token_urlsafe(32)
    state = request.app.state
    now = state.clock()
    await state.store.start_session(_stored_id(session_id), member.name, now=now, expires_at=now + SESSION_SECONDS)
    request.set_session({"staff": member.name, "key": _fingerprint(member), "sid": session_id})


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


async def sign_out(request: Request[Any, Any, Any]) -> None:
    """End the session in the store and in the browser."""
    session_id = request.session.get("sid")
    if isinstance(session_id, str):
        await request.app.state.store.end_session(_stored_id(session_id))
    request.clear_session()


async def require_console_staff(connection: ASGIConnection[Any, Any, Any, Any], _: object) -> None:
    """Guard: a valid session; the staff member is put in ``scope["staff"]`` like the API's guard does."""
    state = connection.app.state
    session = connection.session
    member = _session_staff(session, state.settings.staff_tokens)
    session_id = session.get("sid")
    if member is None or not isinstance(session_id, str):
        raise SignInRequired()
    try:
        active = await state.store.session_active(_stored_id(session_id), now=state.clock())
    except StoreUnavailable:
        raise Problem(503, "저장소에 연결할 수 없습니다. Storage is unavailable; try again shortly.") from None
    if not active:
        raise SignInRequired()
    connection.scope["staff"] = member  # type: ignore[typeddict-unknown-key]


async def require_console_operator(connection: ASGIConnection[Any, Any, Any, Any], handler: object) -> None:
    """Guard: a valid session of an operator."""
    await require_console_staff(connection, handler)
    if connection.scope["staff"].role != "operator":  # type: ignore[typeddict-item]
        raise Problem(403, "이 작업은 운영자 권한이 필요합니다. This needs the operator role.")


def _session_staff(session: dict[str, Any], staff: Iterable[StaffToken]) -> StaffToken | None:
    name, key = session.get("staff"), session.get("key")
    if not isinstance(name, str) or not isinstance(key, str):
        return None
    for member in staff:
        if member.name == name and hmac.compare_digest(key, _fingerprint(member)):
            return member
    return None


def _fingerprint(member: StaffToken) -> str:
    """Changes with the member's role or token, so that either change ends the member's sessions."""
    return hashlib.sha256(f"gateway console session:{member.role}:{member.token}".encode()).hexdigest()


def _stored_id(session_id: str) -> str:
    """What the store keeps of a session id: its hash, so the table cannot be turned into cookies."""
    return hashlib.sha256(session_id.encode()).hexdigest()
