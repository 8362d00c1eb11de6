"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec

from gateway.errors import (
    CallbackUnauthenticated,
    GatewayError,
    InvalidSelection,
    MalformedCallback,
    MessageNotFound,
    ReplayRefused,
    UnknownCallback,
)
from gateway.normalise.errors import FieldError

__all__ = (
    "BEARER",
    "PROBLEM_JSON",
    "Problem",
    "ProblemDetails",
    "handle_gateway_error",
    "handle_http_exception",
    "handle_problem",
    "handle_unexpected",
    "problem_for",
    "problem_of",
    "problem_responses",
)

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger(__name__)

_TITLES = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported content type",
    422: "Message cannot be sent",
    429: "Too many requests",
    500: "Internal error",
    502: "Bad gateway",
    503: "Service unavailable",
}


class ProblemDetails(msgspec.Struct, omit_defaults=True):
    """The body of an ``application/problem+json`` response; ``errors`` names each bad field."""

    title: str
    status: int
    detail: str | None = None
    type: str = "about:blank"
    errors: list[FieldError] | None = None
    #: A 409 at ingest: the message the reused idempotency key belongs to.
    messageId: str | None = None


#: The OpenAPI security requirement of the routes that take a bearer token (ingest and staff).
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route can give, so clients see every status it answers."""
    return {
        status: ResponseSpec(
            ProblemDetails, description=_TITLES[status], media_type=PROBLEM_JSON, generate_examples=False
        )
        for status in statuses
    }


class Problem(Exception):
    """Raise to answer with a problem details response."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        message_id: str | None = None,
    ) -> None:
        super().__init__(detail or _TITLES.get(status, "Error"))
        self.status = status
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers or {}
        self.message_id = message_id

    @property
    def title(self) -> str:
        """The problem type's title (``Message cannot be sent`` ...)."""
        return _TITLES.get(self.status, "Error")

    def details(self) -> ProblemDetails:
        """The response body."""
        return ProblemDetails(
            title=self.title, status=self.status, detail=self.detail, errors=self.errors, messageId=self.message_id
        )

    def to_response(self) -> Response[ProblemDetails]:
        return Response(self.details(), status_code=self.status, media_type=PROBLEM_JSON, headers=self.headers)


#: The answer to each domain refusal (the most specific class found along its MRO).
_STATUS_OF: dict[type[GatewayError], int] = {
    MessageNotFound: 404,
    ReplayRefused: 409,
    InvalidSelection: 400,
    CallbackUnauthenticated: 401,
    UnknownCallback: 404,
    MalformedCallback: 400,
}


def problem_of(exc: GatewayError) -> Problem:
    """The problem a domain refusal is answered with (400 for a refusal without its own status)."""
    status = next((_STATUS_OF[kind] for kind in type(exc).__mro__ if kind in _STATUS_OF), 400)
    return Problem(status, exc.detail, errors=exc.errors or None)


def problem_for(exc: Exception) -> Problem:
    """The problem any exception is answered with, as the app's exception handlers below choose it."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, GatewayError):
        return problem_of(exc)
    if isinstance(exc, HTTPException):
        return _http_problem(exc)
    return _unexpected_problem(exc)


def handle_gateway_error(_: Request[Any, Any, Any], exc: GatewayError) -> Response[ProblemDetails]:
    return problem_of(exc).to_response()


def handle_problem(_: Request[Any, Any, Any], exc: Problem) -> Response[ProblemDetails]:
    return exc.to_response()


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[ProblemDetails]:
    """Litestar's own errors (404, 405, body too large, ...) as problem details, without echoing input."""
    return _http_problem(exc).to_response()


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[ProblemDetails]:
    return _unexpected_problem(exc).to_response()


def _http_problem(exc: HTTPException) -> Problem:
    status = exc.status_code
    detail = exc.detail if status < 500 and exc.detail != _TITLES.get(status) else None
    if status == 413:
        detail = "The request body is larger than this gateway accepts."
    headers = dict(exc.headers or {})
    return Problem(status, detail, headers=headers)


def _unexpected_problem(exc: Exception) -> Problem:
    _log.error("unhandled error", exc_info=exc)
    return Problem(500, "The gateway hit an unexpected error; nothing was stored.")
