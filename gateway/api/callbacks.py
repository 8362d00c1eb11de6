"""Vendor callbacks (SPEC §7): ``POST /v1/callbacks/nhn``, ``/v1/callbacks/solapi/{token}``, ``/v1/callbacks/sendgrid``.

These routes authenticate the vendor (NHN's static signature, Solapi's secret path token, SendGrid's ECDSA
signature), store the receipts and answer ``200``; the dispatcher applies them to the messages. A rejected
callback stores nothing and its answer gives no hint why. Vendors batch callbacks, so their bodies get their own
size limit (``GATEWAY_CALLBACK_MAX_BODY_BYTES``). An authenticated body that cannot be read is answered so that
the vendor does not send it again (see :class:`~gateway.receipts.intake.UnreadableCallback`).
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import Request, Router, post
from litestar.datastructures import State
from litestar.params import FromPath

from gateway.api.problems import Problem, problem_responses
from gateway.receipts.intake import CallbackIntake, CallbackRejected, UnreadableCallback
from gateway.store.base import StoreUnavailable

__all__ = ("CallbackAnswer", "callback_router")

_log = logging.getLogger(__name__)
# Authenticated by each vendor's own signature or path token, not a bearer token.
_PROBLEMS = problem_responses(400, 401, 404, 413, 503)


class CallbackAnswer(msgspec.Struct, omit_defaults=True):
    """How many receipts the callback carried and how many of them were new (the rest were repeats).

    ``refused`` says why an authenticated body that cannot be read was dropped, answered ``200`` to a vendor that
    would otherwise send it again and again.
    """

    received: int
    new: int
    refused: str | None = None


@post(
    "/nhn",
    operation_id="nhnCallback",
    summary="NHN Cloud KakaoTalk Bizmessage and SMS webhooks",
    status_code=200,
    responses=_PROBLEMS,
)
async def receive_nhn_callback(request: Request[Any, Any, State], state: State) -> CallbackAnswer:
    """Store the receipts of an NHN webhook signed with ``X-Toast-Webhook-Signature``."""
    return await _take(request, state.intake, "nhn")


@post(
    "/solapi/{token:str}",
    operation_id="solapiCallback",
    summary="Solapi single-report webhook",
    status_code=200,
    responses=_PROBLEMS,
)
async def receive_solapi_callback(
    token: FromPath[str], request: Request[Any, Any, State], state: State
) -> CallbackAnswer:
    """Store the receipts of a Solapi report; the path token (``GATEWAY_SOLAPI_CALLBACK_TOKEN``) authenticates it."""
    return await _take(request, state.intake, "solapi", token=token)


@post(
    "/sendgrid",
    operation_id="sendgridCallback",
    summary="SendGrid Event Webhook",
    status_code=200,
    responses=_PROBLEMS,
)
async def receive_sendgrid_callback(request: Request[Any, Any, State], state: State) -> CallbackAnswer:
    """Store the receipts of a signed SendGrid Event Webhook call."""
    return await _take(request, state.intake, "sendgrid")


def callback_router(max_body_bytes: int) -> Router:
    """The callback routes under ``/v1/callbacks``, taking bodies up to ``max_body_bytes``."""
    return Router(
        "/v1/callbacks",
        route_handlers=[receive_nhn_callback, receive_solapi_callback, receive_sendgrid_callback],
        request_max_body_size=max_body_bytes,
        tags=["callbacks"],
    )


async def _take(
    request: Request[Any, Any, State], intake: CallbackIntake, vendor: str, *, token: str | None = None
) -> CallbackAnswer:
    body = await request.body()
    try:
        taken = await intake.receive(vendor, request.headers, body, token=token)
    except UnreadableCallback as exc:
        _log.warning("unreadable callback dropped: %s", exc.detail, extra={"vendor": vendor})
        if exc.status == 200:
            return CallbackAnswer(0, 0, refused=exc.detail)
        raise Problem(exc.status, exc.detail) from None
    except CallbackRejected as exc:
        raise Problem(exc.status, exc.detail) from None
    except StoreUnavailable:
        # Solapi and SendGrid send a callback again until it is answered 2xx (NHN does not document its policy).
        raise Problem(
            503, "Storage is unavailable; send the callback again later.", headers={"Retry-After": "5"}
        ) from None
    return CallbackAnswer(taken.receipts, taken.new)
