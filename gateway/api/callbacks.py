"""Vendor callbacks: ``POST /v1/callbacks/<vendor>`` (``/v1/callbacks/<vendor>/{token}`` where the URL is the secret).

One route per vendor of the registry that calls back. A route authenticates the vendor with its spec (a static
signature, a secret path token, an ECDSA signature), stores the receipts and answers ``200``; the dispatcher
applies them to the messages. A rejected callback stores nothing and its answer gives no hint why. Vendors batch
callbacks, so their bodies get their own size limit (``GATEWAY_CALLBACK_MAX_BODY_BYTES``). An authenticated body
that cannot be read is answered so that the vendor does not send it again (see
:class:`~gateway.errors.MalformedCallback`).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Router, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from adapters import registry
from adapters.spec import Callback
from gateway.api.deps import IntakeDep
from gateway.api.problems import Problem, problem_responses
from gateway.errors import MalformedCallback
from gateway.receipts.intake import CallbackIntake
from gateway.store.base import StoreUnavailable

__all__ = ("CallbackAnswer", "callback_router")

_log = logging.getLogger(__name__)
# Authenticated by each vendor's own signature or path token, not a bearer token.
_PROBLEMS = problem_responses(400, 401, 404, 413, 503)


class CallbackAnswer(msgspec.Struct, omit_defaults=True):
    """How many receipts the callback carried and how many of them were new (the rest were repeats).

    ``refused`` says why an authenticated body that cannot be read was dropped, answered ``200`` to a vendor that
    would otherwise send it again and again; ``malformed`` how many reports of a batch were dropped as unreadable
    while the others were stored (the answer is still ``200``: resending cannot mend them).
    """

    received: int
    new: int
    refused: str | None = None
    malformed: int = 0


def callback_router(max_body_bytes: int) -> Router:
    """The callback routes under ``/v1/callbacks``, taking bodies up to ``max_body_bytes``."""
    return Router(
        "/v1/callbacks",
        route_handlers=[_route(vendor, callback) for vendor, callback in registry.callbacks().items()],
        request_max_body_size=max_body_bytes,
        tags=["callbacks"],
    )


def _route(vendor: str, callback: Callback) -> HTTPRouteHandler:
    """The route of one vendor's callback: its path, with the token segment where its URL carries the secret."""
    options: dict[str, Any] = {
        "operation_id": f"{vendor}Callback",
        "summary": callback.summary,
        "status_code": 200,
        "responses": _PROBLEMS,
    }
    if callback.path_token:

        async def receive_with_token(
            token: FromPath[str], request: Request[Any, Any, Any], intake: IntakeDep
        ) -> CallbackAnswer:
            return await _take(request, intake, vendor, token=token)

        receive_with_token.__doc__ = f"Store the receipts of a {vendor} callback; its path token authenticates it."
        return post(f"/{vendor}/{{token:str}}", name=f"{vendor}-callback", **options)(receive_with_token)

    async def receive(request: Request[Any, Any, Any], intake: IntakeDep) -> CallbackAnswer:
        return await _take(request, intake, vendor)

    receive.__doc__ = f"Store the receipts of a signed {vendor} callback."
    return post(f"/{vendor}", name=f"{vendor}-callback", **options)(receive)


async def _take(
    request: Request[Any, Any, Any], intake: CallbackIntake, vendor: str, *, token: str | None = None
) -> CallbackAnswer:
    body = await request.body()
    try:
        taken = await intake.receive(vendor, request.headers, body, token=token)
    except MalformedCallback as exc:
        _log.warning("unreadable callback dropped: %s", exc.detail, extra={"vendor": vendor})
        if exc.acknowledge:
            return CallbackAnswer(0, 0, refused=exc.detail)
        raise
    except StoreUnavailable:
        # Vendors send a callback again until it is answered 2xx (docs/vendors.md says which do).
        raise Problem(
            503, "Storage is unavailable; send the callback again later.", headers={"Retry-After": "5"}
        ) from None
    return CallbackAnswer(taken.receipts, taken.new, malformed=taken.malformed)
