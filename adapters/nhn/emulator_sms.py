"""Emulator of NHN Cloud SMS v3.0: LMS sends (``/sender/mms``, ``/sender/ad-mms``) and their webhook.

It checks what NHN checks with NHN's codes: app key and secret key, the registered sender number (``-2312``),
title and body present (``-2014``), characters EUC-KR/CP949 cannot carry such as emoji (``-2023``), title over
40 and body over 2,000 CP949 bytes (``-2015``: NHN stores up to 120/4,000 characters, but carriers cut beyond the
standard sizes, so the emulator holds the gateway to them), recipients (``-2001``, ``-2016``, ``-2018``,
``-2019``) and, for ``ad-mms``, the ``(광고)`` opening and the ``무료거부 080…`` closing line (``-6003``). The SMS
docs list no secret-key code; a wrong secret gets ``-1000``. A request carries 1 to 1,000 recipients, each answered
in ``sendResultList`` with its ``recipientSeq`` and ``recipientGroupingKey``; a recipient with a missing or bad
number fails alone (its code in its entry) unless all do (docs/vendors.md, "NHN Cloud", "Batches").
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import msgspec

from adapters.base import KST
from adapters.emulator import EmulatedCallback, Emulator
from adapters.nhn.config import NhnSmsConfig
from adapters.nhn.emulator_common import (
    MAX_PENDING,
    NhnError,
    error_body,
    json_object,
    kst_now,
    nhn_id,
    path_match,
    require_secret,
    webhook,
)
from adapters.nhn.sms import CARRIER_DELIVERED, PRODUCT, TITLE_MAX_BYTES

__all__ = ("NhnSmsEmulator",)

_ROUTE = re.compile(r"/sms/v3\.0/appKeys/([^/]+)/sender/(mms|ad-mms)")
_LIST_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_MOBILE = re.compile(r"01[016789]\d{7,8}")
#: The closing line of an advertising text: 무료거부 / 무료수신거부 / [무료 수신 거부] and an 080 number.
_OPT_OUT = re.compile(r"무\s*료\s*(?:수\s*신\s*)?거\s*부\W*080[\d\s-]{7,}$")
_BODY_MAX_BYTES = 2000
_MAX_RECIPIENTS = 1000
_MESSAGES = {
    -1000: "Invalid appKey.",
    -2001: "RecipientList can not be null.",
    -2014: "The recipient can not be empty.",
    -2015: "Title or Body exceed maximum byte.",
    -2016: "The max recipient size is 1000.",
    -2018: "RecipientNo can not be empty.",
    -2019: "RecipientNo is invalid.",
    -2021: "System error. Failed insert queue.",
    -2023: "Unacceptable characters in title and body",
    -2312: "Not regist sendno.",
    -6003: "The body must contain block guide ment.",
    -9997: "Invalid API parameters.",
    -9999: "System error. Please inquire at support@toast.com.",
}


#: A recipient of a request and the error its number gets (``None``: it is sent).
_Recipient = tuple[dict[str, Any], "NhnError | None"]


class _Sent(msgspec.Struct, frozen=True, kw_only=True):
    """One recipient of an accepted request, waiting for its webhook."""

    request_id: str
    recipient_seq: int
    recipient_no: str
    grouping_key: str | None
    sender_grouping_key: str | None
    request_date: str
    ad: bool


class NhnSmsEmulator(Emulator):
    """NHN Cloud SMS v3.0, LMS.

    Attributes:
        outcomes: Carrier result code per recipient number for the webhook (``"1000"`` delivered by default),
            e.g. ``{"01012345678": "3001"}``.
    """

    def __init__(self, config: NhnSmsConfig, *, latency: float = 0.0, outcomes: dict[str, str] | None = None) -> None:
        super().__init__(config.url, latency=latency)
        self.outcomes = dict(outcomes or {})
        self._config = config
        self._pending: deque[_Sent] = deque(maxlen=MAX_PENDING)
        #: Every accepted recipient, for the list lookup (bounded like the callbacks).
        self.sent: deque[_Sent] = deque(maxlen=MAX_PENDING)
        #: What "now" is for the creation dates the list answers by (a test's clock).
        self.clock: Callable[[], float] = time.time

    def trim(self) -> None:
        """See :meth:`Emulator.trim`: the sent records answer lookups only."""
        super().trim()
        self.sent.clear()

    def reset(self) -> None:
        """Forget requests, faults, sends and callbacks not yet emitted."""
        super().reset()
        self._pending.clear()
        self.sent.clear()

    def accept(self, request: httpx.Request) -> httpx.Response:
        """Validate an LMS send (or a list lookup) the way NHN does and answer with its envelope."""
        try:
            if request.method == "GET":
                return self.json_response(200, self._search(request), request)
            return self.json_response(200, self._send(request), request)
        except NhnError as exc:
            return exc.response(request)

    def error(self, request: httpx.Request, *, http_status: int, vendor_code: str | None) -> httpx.Response:
        """NHN's envelope with ``vendor_code`` (``-9999`` system error when none is given)."""
        code = int(vendor_code) if vendor_code else -9999
        return self.json_response(
            http_status, error_body(code, _MESSAGES.get(code, f"Request failed ({code}).")), request
        )

    def pending_callbacks(self, *, signature: str = "") -> list[EmulatedCallback]:
        """The webhook calls for every recipient accepted since the last call, each returned once.

        Args:
            signature: The static ``X-Toast-Webhook-Signature`` value configured for the gateway.
        """
        hooks = [self._hook(sent) for sent in self._pending]
        self._pending.clear()
        return webhook(PRODUCT, self._config.appkey, hooks, signature)

    def _send(self, request: httpx.Request) -> dict[str, Any]:
        route = path_match(request, _ROUTE, "POST")
        if route.group(1) != self._config.appkey:
            raise NhnError(-1000, _MESSAGES[-1000])
        require_secret(request, self._config.secret, -1000, "Invalid appKey or secretKey.")
        body = json_object(request, -9997, _MESSAGES[-9997])
        if body.get("sendNo") != self._config.send_no:
            raise NhnError(-2312, _MESSAGES[-2312])
        text = _checked_text(body)
        if route.group(2) == "ad-mms" and not _is_advertising_text(text):
            raise NhnError(-6003, _MESSAGES[-6003])
        recipients = _recipients(body.get("recipientList"))
        return self._accepted(body, recipients, ad=route.group(2) == "ad-mms")

    def _accepted(self, body: dict[str, Any], recipients: list[_Recipient], *, ad: bool) -> dict[str, Any]:
        request_id = nhn_id()
        requested_at = datetime.fromtimestamp(self.clock(), KST).strftime("%Y-%m-%dT%H:%M:%S")
        sender_key = body.get("senderGroupingKey")
        results = []
        for seq, (recipient, problem) in enumerate(recipients, start=1):
            grouping_key = recipient.get("recipientGroupingKey")
            if problem is None:
                sent = _Sent(
                    request_id=request_id,
                    recipient_seq=seq,
                    recipient_no=recipient["recipientNo"],
                    grouping_key=grouping_key,
                    sender_grouping_key=sender_key,
                    request_date=requested_at,
                    ad=ad,
                )
                self._pending.append(sent)
                self.sent.append(sent)
            results.append(
                {
                    "recipientNo": recipient.get("recipientNo"),
                    "resultCode": problem.code if problem else 0,
                    "resultMessage": problem.message if problem else "SUCCESS",
                    "recipientSeq": seq,
                    "recipientGroupingKey": grouping_key,
                }
            )
        return {
            "header": {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"},
            "body": {
                "data": {
                    "requestId": request_id,
                    "statusCode": "2",
                    "senderGroupingKey": sender_key,
                    "sendResultList": results,
                }
            },
        }

    def _search(self, request: httpx.Request) -> dict[str, Any]:
        """The LMS list: ``requestId`` or both creation dates are required, the grouping key filters."""
        route = path_match(request, _ROUTE, "GET")
        if route.group(1) != self._config.appkey or route.group(2) != "mms":
            raise NhnError(-1000, _MESSAGES[-1000])
        require_secret(request, self._config.secret, -1000, "Invalid appKey or secretKey.")
        query = request.url.params
        request_id, start, end = query.get("requestId"), query.get("startCreateDate"), query.get("endCreateDate")
        by_dates = bool(start and end and _LIST_DATE.fullmatch(start) and _LIST_DATE.fullmatch(end))
        if not request_id and not by_dates:
            # NHN SMS's -1005 is "invalid search condition", not a repeated key (docs/vendors.md).
            raise NhnError(-1005, "Service parameter is invalid.")
        key = query.get("recipientGroupingKey")
        rows = [
            self._row(sent)
            for sent in self.sent
            if (not request_id or sent.request_id == request_id)
            and (not by_dates or str(start) <= sent.request_date.replace("T", " ") <= str(end))
            and (key is None or sent.grouping_key == key)
        ]
        return {
            "header": {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"},
            "body": {"pageNum": 1, "pageSize": 15, "totalCount": len(rows), "data": rows},
        }

    def _row(self, sent: _Sent) -> dict[str, Any]:
        code = self.outcomes.get(sent.recipient_no, CARRIER_DELIVERED)
        return {
            "requestId": sent.request_id,
            "requestDate": sent.request_date.replace("T", " "),
            "recipientNo": sent.recipient_no,
            "recipientSeq": sent.recipient_seq,
            "msgStatus": "3" if code == CARRIER_DELIVERED else "0",
            "resultCode": code,
            "adYn": "Y" if sent.ad else "N",
            "senderGroupingKey": sent.sender_grouping_key,
            "recipientGroupingKey": sent.grouping_key,
        }

    def _hook(self, sent: _Sent) -> dict[str, Any]:
        code = self.outcomes.get(sent.recipient_no, CARRIER_DELIVERED)
        link = f"{self._config.url.rstrip('/')}/sms/v3.0/appKeys/{self._config.appkey}/sender/mms/{sent.request_id}"
        return {
            "hookId": nhn_id(),
            "senderType": "AD_MMS" if sent.ad else "NORMAL_MMS",
            "requestId": sent.request_id,
            "recipientSeq": sent.recipient_seq,
            "requestDate": sent.request_date,
            "receiveDate": kst_now(),
            "sendNo": self._config.send_no,
            "recipientNo": sent.recipient_no,
            "messageStatus": "COMPLETED" if code == CARRIER_DELIVERED else "FAILED",
            "recipientGroupingKey": sent.grouping_key,
            "senderGroupingKey": sent.sender_grouping_key,
            "resultCode": code,
            "messageCount": 1,
            "_links": {"self": {"href": f"{link}?recipientSeq={sent.recipient_seq}"}},
        }


def _checked_text(body: dict[str, Any]) -> str:
    """The body text, once title and body are checked for presence, carriable characters and size."""
    title, text = body.get("title"), body.get("body")
    if not isinstance(title, str) or not isinstance(text, str) or not title or not text:
        raise NhnError(-2014, _MESSAGES[-2014])
    try:
        title_bytes, text_bytes = len(title.encode("cp949")), len(text.encode("cp949"))
    except UnicodeEncodeError:
        raise NhnError(-2023, _MESSAGES[-2023]) from None
    if title_bytes > TITLE_MAX_BYTES or text_bytes > _BODY_MAX_BYTES:
        raise NhnError(-2015, _MESSAGES[-2015])
    return text


def _is_advertising_text(text: str) -> bool:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return bool(lines) and lines[0].startswith("(광고)") and _OPT_OUT.search(lines[-1]) is not None


def _recipients(recipients: Any) -> list[_Recipient]:
    """Each recipient with the NHN error its number gets, if any.

    A missing or bad number fails that recipient only (its ``sendResultList`` entry carries the code) unless every
    recipient has one, which fails the request with the first one's code, as a one-recipient request does.
    """
    if not isinstance(recipients, list) or not recipients:
        raise NhnError(-2001, _MESSAGES[-2001])
    if len(recipients) > _MAX_RECIPIENTS:
        raise NhnError(-2016, _MESSAGES[-2016])
    if not all(isinstance(recipient, dict) for recipient in recipients):
        raise NhnError(-9997, _MESSAGES[-9997])
    checked = [(recipient, _number_problem(recipient.get("recipientNo"))) for recipient in recipients]
    problems = [problem for _, problem in checked if problem is not None]
    if len(problems) == len(checked):
        raise problems[0]
    return checked


def _number_problem(number: object) -> NhnError | None:
    if not number:
        return NhnError(-2018, _MESSAGES[-2018])
    if not isinstance(number, str) or not _MOBILE.fullmatch(number.replace("-", "")):
        return NhnError(-2019, _MESSAGES[-2019])
    return None
