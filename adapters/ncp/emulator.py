"""An in-process SENS SMS API v2: signed LMS sends answered ``202``, and result lookups that report them.

It checks what SENS checks before taking a request: the three signature headers (a timestamp within five minutes,
the access key, the HMAC), the service id, the registered sender number, the type and content type, sizes in
EUC-KR bytes (content ≤ 2,000, subject ≤ 40) and that an advertising text carries ``(광고)`` and a free 080
opt-out line. A taken message is COMPLETED at once: ``statusCode`` ``0`` (success) unless :attr:`outcomes` names
another code for its recipient.
"""

from __future__ import annotations

import hmac
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import httpx
import msgspec

from adapters.base import KST
from adapters.emulator import MAX_PENDING, Emulator
from adapters.ncp.adapter import ACCESS_KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from adapters.ncp.config import NcpConfig

__all__ = ("NcpEmulator",)

_SIGNATURE_WINDOW = 5 * 60
_MOBILE = re.compile(r"01[016789]\d{7,8}")
#: The closing line of an advertising text: 무료거부 / 무료수신거부 and an 080 number.
_OPT_OUT = re.compile(r"무\s*료\s*(?:수\s*신\s*)?거\s*부\W*080[\d\s-]{7,}$")
_CONTENT_MAX_BYTES = 2000
_SUBJECT_MAX_BYTES = 40
_MAX_RECIPIENTS = 100
_AUTH_FAILED = ("200", "Authentication Failed", "Invalid authentication information.")


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


class _Sent(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    message_id: str
    request_time: str
    content_type: str
    sender: str
    to: str
    subject: str
    content: str
    code: str


class NcpEmulator(Emulator):
    """SENS for one service id; results are kept for the latest :data:`~adapters.emulator.MAX_PENDING` requests.

    Args:
        config: The gateway's SENS settings (the keys, service id and sender number it accepts).
        latency: Seconds to wait before every answer.
        clock: Current POSIX time, for the signature's timestamp window and the times it reports.
        outcomes: Recipient number -> the ``statusCode`` to report instead of ``0`` (success).
    """

    def __init__(
        self,
        config: NcpConfig,
        *,
        latency: float = 0.0,
        clock: Callable[[], float] = time.time,
        outcomes: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(config.url, latency=latency)
        self._config = config
        self._clock = clock
        self.outcomes = dict(outcomes or {})
        path = httpx.URL(config.url).path.rstrip("/")
        self._messages = f"{path}/sms/v2/services/{config.service_id}/messages"
        # By request id, oldest first, and by message id: the two lookups SENS offers.
        self._by_request: OrderedDict[str, list[_Sent]] = OrderedDict()
        self._by_message: dict[str, _Sent] = {}

    def reset(self) -> None:
        super().reset()
        self._by_request.clear()
        self._by_message.clear()

    def accept(self, request: httpx.Request) -> httpx.Response:
        try:
            self._authenticate(request)
            path = unquote(request.url.path)
            if request.method == "POST" and path == self._messages:
                return self._send(request)
            if request.method == "GET" and path == self._messages:
                return self._lookup_request(request)
            if request.method == "GET" and path.startswith(self._messages + "/"):
                return self._lookup_result(request, path.removeprefix(self._messages + "/"))
            raise _Refused(404, "404", "Not Found", "No such resource.")
        except _Refused as refused:
            return self._refusal(request, refused)

    def error(self, request: httpx.Request, *, http_status: int, vendor_code: str | None) -> httpx.Response:
        status = http_status if http_status >= 400 else 400
        return self._refusal(request, _Refused(status, vendor_code or str(status), "Emulated failure"))

    def _authenticate(self, request: httpx.Request) -> None:
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        access_key = request.headers.get(ACCESS_KEY_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not (timestamp.isdigit() and abs(self._clock() - int(timestamp) / 1000) <= _SIGNATURE_WINDOW):
            raise _Refused(401, *_AUTH_FAILED)
        uri = request.url.raw_path.decode()
        expected = sign(self._config.secret_key, request.method, uri, timestamp, self._config.access_key)
        if access_key != self._config.access_key or not hmac.compare_digest(signature, expected):
            raise _Refused(401, *_AUTH_FAILED)

    def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            body = msgspec.json.decode(request.content)
        except msgspec.DecodeError:
            raise _Refused(400, "400", "Bad Request", "The body is not JSON.") from None
        if not isinstance(body, dict):
            raise _Refused(400, "400", "Bad Request", "The body is not an object.")
        content_type, subject, content = _checked(body, self._config.send_no)
        recipients = _recipients(body.get("messages"))
        request_id = uuid.uuid4().hex
        now = self._time(self._clock())
        sends = [
            _Sent(
                request_id=request_id,
                message_id=str(uuid.uuid4()),
                request_time=now,
                content_type=content_type,
                sender=body["from"],
                to=to,
                subject=subject,
                content=content,
                code=self.outcomes.get(to, "0"),
            )
            for to in recipients
        ]
        self._by_request[request_id] = sends
        self._by_message.update((sent.message_id, sent) for sent in sends)
        while len(self._by_request) > MAX_PENDING:
            for forgotten in self._by_request.popitem(last=False)[1]:
                del self._by_message[forgotten.message_id]
        answer = {"requestId": request_id, "requestTime": now, "statusCode": "202", "statusName": "success"}
        return self.json_response(202, answer, request)

    def _lookup_request(self, request: httpx.Request) -> httpx.Response:
        request_id = request.url.params.get("requestId")
        if not request_id:
            raise _Refused(400, "400", "Bad Request", "requestId or a time range is required.")
        listed = [
            {
                "messageId": sent.message_id,
                "requestTime": sent.request_time,
                "contentType": sent.content_type,
                "countryCode": "82",
                "from": sent.sender,
                "to": sent.to,
            }
            for sent in self._by_request.get(request_id, [])
        ]
        answer = {"requestId": request_id, "statusCode": "200", "statusName": "success", "messages": listed}
        return self.json_response(200, answer, request)

    def _lookup_result(self, request: httpx.Request, message_id: str) -> httpx.Response:
        sent = self._by_message.get(message_id)
        if sent is None:
            raise _Refused(404, "404", "Not Found", "No such message.")
        success = sent.code == "0"
        result = {
            "requestId": sent.request_id,
            "messageId": sent.message_id,
            "requestTime": sent.request_time,
            "contentType": sent.content_type,
            "type": "LMS",
            "countryCode": "82",
            "from": sent.sender,
            "to": sent.to,
            "subject": sent.subject,
            "content": sent.content,
            "status": "COMPLETED",
            "statusCode": sent.code,
            "statusName": "success" if success else "fail",
            "statusMessage": "성공" if success else "전송 실패",
            "completeTime": self._time(self._clock()),
            "telcoCode": "SKT",
        }
        answer = {"statusCode": "200", "statusName": "success", "messages": [result]}
        return self.json_response(200, answer, request)

    def _refusal(self, request: httpx.Request, refused: _Refused) -> httpx.Response:
        error = {"errorCode": refused.code, "message": refused.message, "details": refused.details}
        return self.json_response(refused.status, {"error": error}, request)

    @staticmethod
    def _time(when: float) -> str:
        return datetime.fromtimestamp(when, KST).strftime("%Y-%m-%d %H:%M:%S")


def _checked(body: dict[str, Any], send_no: str) -> tuple[str, str, str]:
    """The content type, subject and content of a send, once what SENS refuses is ruled out."""
    if body.get("type") != "LMS":
        raise _Refused(400, "400", "Bad Request", "Only LMS is emulated.")
    content_type = body.get("contentType", "COMM")
    if content_type not in ("COMM", "AD"):
        raise _Refused(400, "400", "Bad Request", "contentType must be COMM or AD.")
    if body.get("from") != send_no:
        raise _Refused(400, "400", "Bad Request", "The sender number is not registered.")
    subject, content = body.get("subject", ""), body.get("content")
    if not isinstance(subject, str) or not isinstance(content, str) or not content:
        raise _Refused(400, "400", "Bad Request", "content is required.")
    try:
        too_long = (
            len(subject.encode("cp949")) > _SUBJECT_MAX_BYTES or len(content.encode("cp949")) > _CONTENT_MAX_BYTES
        )
    except UnicodeEncodeError:
        raise _Refused(400, "400", "Bad Request", "Characters outside EUC-KR cannot be sent.") from None
    if too_long:
        raise _Refused(400, "400", "Bad Request", "The subject or content is too long.")
    if content_type == "AD" and not _is_advertising_text(content):
        raise _Refused(400, "400", "Bad Request", "An advertisement must carry (광고) and a free 080 opt-out line.")
    return content_type, subject, content


def _is_advertising_text(text: str) -> bool:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return bool(lines) and lines[0].startswith("(광고)") and _OPT_OUT.search(lines[-1]) is not None


def _recipients(messages: Any) -> list[str]:
    if not isinstance(messages, list) or not 1 <= len(messages) <= _MAX_RECIPIENTS:
        raise _Refused(400, "400", "Bad Request", f"messages must hold 1 to {_MAX_RECIPIENTS} recipients.")
    numbers = []
    for entry in messages:
        to = entry.get("to") if isinstance(entry, dict) else None
        if not isinstance(to, str) or not _MOBILE.fullmatch(to.replace("-", "")):
            raise _Refused(400, "400", "Bad Request", "A recipient number is invalid.")
        numbers.append(to.replace("-", ""))
    return numbers
