"""Bearer-token authentication for Braze (ingest) and support staff.

Tokens are compared in constant time against every configured token, so neither a match's position nor a
prefix length leaks through timing. A failure says nothing about why. Guards are coroutines: Litestar runs a
plain-function guard in a worker thread, which costs more than the check itself on the ingest path.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from typing import Any

from litestar.connection import ASGIConnection

from gateway.api.problems import Problem
from gateway.settings import StaffToken

__all__ = (
    "bearer_of",
    "bearer_token",
    "check_ingest_token",
    "find_staff",
    "require_ingest_token",
    "require_operator",
    "require_staff",
    "token_matches",
)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="gateway"'}


def token_matches(presented: str, tokens: Iterable[str]) -> bool:
    """Whether ``presented`` equals one of ``tokens``; every token is compared, each in constant time."""
    found = False
    candidate = presented.encode()
    for token in tokens:
        found |= hmac.compare_digest(candidate, token.encode())
    return found


def bearer_of(authorization: str) -> str | None:
    """The token of an ``Authorization`` header's value ``Bearer <token>``, if any."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    return bearer_of(connection.headers.get("authorization", ""))


def find_staff(token: str | None, staff: Iterable[StaffToken]) -> StaffToken | None:
    """The staff member whose token this is (all compared in constant time)."""
    match = None
    for member in staff:
        if token is not None and hmac.compare_digest(token.encode(), member.token.encode()):
            match = member
    return match


def check_ingest_token(authorization: str, tokens: Iterable[str]) -> None:
    """Refuse (401) an ``Authorization`` header's value that does not carry one of ``tokens``."""
    token = bearer_of(authorization)
    if token is None or not token_matches(token, tokens):
        raise Problem(401, "Send Authorization: Bearer <ingest token>.", headers=_CHALLENGE)


async def require_ingest_token(connection: ASGIConnection[Any, Any, Any, Any], _: object) -> None:
    """Guard: the request carries one of ``GATEWAY_INGEST_TOKENS``."""
    check_ingest_token(connection.headers.get("authorization", ""), connection.app.state.settings.ingest_tokens)


async def require_staff(connection: ASGIConnection[Any, Any, Any, Any], _: object) -> None:
    """Guard: the request carries a staff token; the staff member is put in ``scope["staff"]``."""
    member = find_staff(bearer_token(connection), connection.app.state.settings.staff_tokens)
    if member is None:
        raise Problem(401, "Send Authorization: Bearer <staff token>.", headers=_CHALLENGE)
    connection.scope["staff"] = member  # type: ignore[typeddict-unknown-key]


async def require_operator(connection: ASGIConnection[Any, Any, Any, Any], handler: object) -> None:
    """Guard: a staff member with the ``operator`` role."""
    await require_staff(connection, handler)
    if connection.scope["staff"].role != "operator":  # type: ignore[typeddict-item]
        raise Problem(403, "This action needs the operator role.")
