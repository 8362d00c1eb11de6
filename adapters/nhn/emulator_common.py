"""Pieces the three NHN Cloud emulators share: the answer envelope, ids, request checks, webhook bodies."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

import httpx
import msgspec

from adapters.base import KST
from adapters.emulator import MAX_PENDING, EmulatedCallback, Emulator
from adapters.nhn.common import CONTENT_TYPE, SECRET_HEADER, SIGNATURE_HEADER

__all__ = (
    "MAX_PENDING",
    "NhnError",
    "error_body",
    "json_object",
    "kst_now",
    "nhn_id",
    "path_match",
    "require_secret",
    "webhook",
)

_JSON = msgspec.json.Encoder()
#: How many hooks NHN puts in one webhook call here.
_HOOKS_PER_CALL = 100


class NhnError(Exception):
    """A request NHN refuses: raised by a check, answered with NHN's error envelope."""

    def __init__(self, code: int, message: str, *, http_status: int = 200) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.http_status = http_status

    def response(self, request: httpx.Request) -> httpx.Response:
        """NHN's answer to the refused request."""
        return Emulator.json_response(self.http_status, error_body(self.code, self.message), request)


def error_body(code: int, message: str) -> dict[str, Any]:
    """The ``{"header": ...}`` envelope NHN answers failures with."""
    return {"header": {"resultCode": code, "resultMessage": message, "isSuccessful": False}}


def nhn_id() -> str:
    """An id shaped like NHN's request and hook ids: KST timestamp, ten random characters, a digit."""
    stamp = datetime.now(KST).strftime("%Y%m%d%H%M%S")
    return stamp + secrets.token_hex(5) + "0"


def kst_now() -> str:
    """The current Korean time the way NHN webhooks write it."""
    return datetime.now(KST).strftime("%Y-%m-%dT%H:%M:%S")


def path_match(request: httpx.Request, pattern: re.Pattern[str], method: str) -> re.Match[str]:
    """Match the request's path (and method) against an API route, or refuse it as NHN does."""
    found = pattern.fullmatch(request.url.path)
    if found is None or request.method != method:
        raise NhnError(-9998, "Not exist API.", http_status=404)
    return found


def require_secret(request: httpx.Request, secret: str, code: int, message: str) -> None:
    """Refuse a request whose ``X-Secret-Key`` is missing or wrong."""
    if request.headers.get(SECRET_HEADER) != secret:
        raise NhnError(code, message)


def json_object(request: httpx.Request, code: int, message: str) -> dict[str, Any]:
    """The request body as a JSON object, or refuse it with ``code``."""
    if not request.headers.get("Content-Type", "").lower().startswith("application/json"):
        raise NhnError(-9996, "Only application/json Content-type is supported.")
    try:
        body = msgspec.json.decode(request.content)
    except msgspec.DecodeError:
        raise NhnError(code, message) from None
    if not isinstance(body, dict):
        raise NhnError(code, message)
    return body


def webhook(product: str, app_key: str, hooks: list[dict[str, Any]], signature: str) -> list[EmulatedCallback]:
    """NHN ``MESSAGE_RESULT_UPDATE`` webhook calls carrying ``hooks``, signed with the static ``signature``."""
    headers = {"Content-Type": CONTENT_TYPE, SIGNATURE_HEADER: signature}
    calls = []
    for start in range(0, len(hooks), _HOOKS_PER_CALL):
        body = {
            "hooksId": nhn_id(),
            "webhookConfigId": "sandbox",
            "productName": product,
            "appKey": app_key,
            "event": "MESSAGE_RESULT_UPDATE",
            "hooks": hooks[start : start + _HOOKS_PER_CALL],
        }
        calls.append(EmulatedCallback(path="nhn", headers=dict(headers), body=_JSON.encode(body)))
    return calls
