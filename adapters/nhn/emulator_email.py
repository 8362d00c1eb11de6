"""Emulator of NHN Cloud Email v2.1: sends (``POST /sender/mail``, advertising ``POST /sender/ad-mail``) and the
result query (``GET /sender/mails``).

Sends are checked with NHN's codes: app key (``-1000``), secret key (``-1004``), sender address (``-2002``,
``-2010``), sender name length (``-2037``), title (``-2015``, ``-2034``), body (``-2016``), recipients
(``-2001``, ``-2011``, ``-2012``, ``-2017``, ``-2018``, ``-2019``); an advertising title that does not start
with ``(광고)``, ``(AD)`` or ``(広告)`` (``-2023``). NHN Email has no delivery webhook, so each
accepted mail is kept and the mail list query reports its ``mailStatusCode``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import msgspec

from adapters.base import KST
from adapters.emulator import Emulator
from adapters.nhn.config import NhnEmailConfig
from adapters.nhn.email import EMAIL_DELIVERED
from adapters.nhn.emulator_common import (
    MAX_PENDING,
    NhnError,
    error_body,
    json_object,
    nhn_id,
    path_match,
    require_secret,
)

__all__ = ("NhnEmailEmulator",)

_SEND = re.compile(r"/email/v2\.1/appKeys/([^/]+)/sender/(mail|ad-mail)")
#: What an advertising mail's title must start with (NHN Email API guide, "광고 메일 전송 시 유의 사항").
_AD_TITLES = ("(광고)", "(AD)", "(広告)")
_QUERY = re.compile(r"/email/v2\.1/appKeys/([^/]+)/sender/mails")
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_RECEIVE_TYPES = frozenset({"MRT0", "MRT1", "MRT2"})
_MAX_TITLE = 998
_MAX_NAME = 100
_MAX_RECEIVERS = 1000
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_STATUS_NAMES = {
    "SST0": "발송 준비",
    "SST1": "발송 중",
    "SST2": "발송 완료",
    "SST3": "발송 실패",
    "SST5": "수신 거부",
    "SST7": "미인증",
    "SST8": "화이트리스트로 인한 실패",
}
#: DSN status codes the emulator reports per mail status.
_DSN = {"SST2": ("2.5.0", "SUCCESS"), "SST3": ("5.1.1", "No such user")}
_MESSAGES = {
    -1000: "Invalid appKey.",
    -1004: "Invalid secretKey.",
    -1005: "Service is temporarily blocked",
    -2009: "The 'requestId' or 'startSendDate' is required.",
    -9997: "Can not read http message.",
    -9999: "Internal error.",
}


class _Mail(msgspec.Struct, frozen=True, kw_only=True):
    """One accepted mail, as the query reports it."""

    request_id: str
    mail_seq: int
    address: str
    receive_type: str
    sender_address: str
    sender_name: str | None
    title: str
    grouping_key: str | None
    requested_at: datetime


class NhnEmailEmulator(Emulator):
    """NHN Cloud Email v2.1.

    Attributes:
        outcomes: ``mailStatusCode`` per recipient address reported by the query (``"SST2"`` sent by default),
            e.g. ``{"bounce@example.com": "SST3"}``.
    """

    def __init__(self, config: NhnEmailConfig, *, latency: float = 0.0, outcomes: dict[str, str] | None = None) -> None:
        super().__init__(config.url, latency=latency)
        self.outcomes = dict(outcomes or {})
        self._config = config
        # Accepted mails by request id, oldest first.
        self._mails: dict[str, list[_Mail]] = {}

    def reset(self) -> None:
        """Forget requests, faults and accepted mails."""
        super().reset()
        self._mails.clear()

    def accept(self, request: httpx.Request) -> httpx.Response:
        """Answer a send or a mail list query the way NHN does."""
        try:
            handler = self._query if request.method == "GET" else self._send
            return self.json_response(200, handler(request), request)
        except NhnError as exc:
            return exc.response(request)

    def error(self, request: httpx.Request, *, http_status: int, vendor_code: str | None) -> httpx.Response:
        """NHN's envelope with ``vendor_code`` (``-9999`` internal error when none is given)."""
        code = int(vendor_code) if vendor_code else -9999
        return self.json_response(http_status, error_body(code, _MESSAGES.get(code, "Internal error.")), request)

    def _authorise(self, request: httpx.Request, route: re.Pattern[str], method: str) -> re.Match[str]:
        found = path_match(request, route, method)
        if found.group(1) != self._config.appkey:
            raise NhnError(-1000, _MESSAGES[-1000])
        require_secret(request, self._config.secret, -1004, _MESSAGES[-1004])
        return found

    def _send(self, request: httpx.Request) -> dict[str, Any]:
        advertising = self._authorise(request, _SEND, "POST").group(2) == "ad-mail"
        body = json_object(request, -9997, _MESSAGES[-9997])
        sender_address, sender_name, title = _check_sender_and_title(body)
        if advertising and not title.startswith(_AD_TITLES):
            raise NhnError(-2023, "(광고), (AD), or (広告) phrases must be placed in front of the title.")
        receivers = _receivers(body.get("receiverList"))
        request_id, now = nhn_id(), datetime.now(KST)
        self._keep(
            [
                _Mail(
                    request_id=request_id,
                    mail_seq=seq,
                    address=receiver["receiveMailAddr"],
                    receive_type=receiver["receiveType"],
                    sender_address=sender_address,
                    sender_name=sender_name,
                    title=title,
                    grouping_key=body.get("senderGroupingKey"),
                    requested_at=now,
                )
                for seq, receiver in enumerate(receivers)
            ]
        )
        results = [
            {
                "receiveMailAddr": r["receiveMailAddr"],
                "receiveName": r.get("receiveName"),
                "receiveType": r["receiveType"],
                "resultCode": 0,
                "resultMessage": "success",
            }
            for r in receivers
        ]
        header = {"resultCode": 0, "resultMessage": "success", "isSuccessful": True}
        return {"header": header, "body": {"data": {"requestId": request_id, "results": results}}}

    def _query(self, request: httpx.Request) -> dict[str, Any]:
        self._authorise(request, _QUERY, "GET")
        params = request.url.params
        if not params.get("requestId") and not (params.get("startSendDate") and params.get("endSendDate")):
            raise NhnError(-2009, _MESSAGES[-2009])
        request_id = params.get("requestId")
        candidates = self._mails.get(request_id, []) if request_id else self._all_mails()
        mails = [m for m in candidates if _matches(m, params)]
        page_num, page_size = _positive(params, "pageNum", 1), _positive(params, "pageSize", 15)
        page = mails[(page_num - 1) * page_size : page_num * page_size]
        header = {"isSuccessful": True, "resultCode": 0, "resultMessage": "SUCCESS"}
        data = [self._listed(mail) for mail in page]
        return {
            "header": header,
            "body": {"pageNum": page_num, "pageSize": page_size, "totalCount": len(mails), "data": data},
        }

    def _keep(self, mails: list[_Mail]) -> None:
        self._mails[mails[0].request_id] = mails
        if len(self._mails) > MAX_PENDING:
            del self._mails[next(iter(self._mails))]

    def _all_mails(self) -> list[_Mail]:
        return [mail for mails in self._mails.values() for mail in mails]

    def _listed(self, mail: _Mail) -> dict[str, Any]:
        status = self.outcomes.get(mail.address, EMAIL_DELIVERED)
        dsn_code, dsn_message = _DSN.get(status, (None, None))
        sent = mail.requested_at.strftime(_TIME_FORMAT)
        return {
            "requestId": mail.request_id,
            "mailSeq": mail.mail_seq,
            "requestDate": sent,
            "templateId": None,
            "templateName": None,
            "senderName": mail.sender_name,
            "senderAddress": mail.sender_address,
            "title": mail.title,
            "mailStatusCode": status,
            "mailStatusName": _STATUS_NAMES.get(status, status),
            "isReceived": status == EMAIL_DELIVERED,
            "resultDate": sent,
            "isOpened": False,
            "openedDate": None,
            "receiveMailAddr": mail.address,
            "receiveType": mail.receive_type,
            "receiveTypeName": "받는 사람",
            "receiveName": None,
            "senderGroupingKey": mail.grouping_key,
            "dsnCode": dsn_code,
            "dsnMessage": dsn_message,
        }


def _check_sender_and_title(body: dict[str, Any]) -> tuple[str, str | None, str]:
    sender_address, sender_name = body.get("senderAddress"), body.get("senderName")
    if not isinstance(sender_address, str) or not sender_address:
        raise NhnError(-2002, "The 'senderAddress' is required.")
    if not _ADDRESS.fullmatch(sender_address):
        raise NhnError(-2010, "Sender Email Format is wrong.")
    if sender_name is not None and (not isinstance(sender_name, str) or len(sender_name) > _MAX_NAME):
        raise NhnError(-2037, "The 'senderName' exceeds maximum length. (100 chars)")
    title = body.get("title")
    if not isinstance(title, str) or not title:
        raise NhnError(-2015, "The 'title' is required.")
    if len(title) > _MAX_TITLE:
        raise NhnError(-2034, "The 'title' exceeds maximum length. (998 chars)")
    if not isinstance(body.get("body"), str) or not body["body"]:
        raise NhnError(-2016, "The 'body' is required.")
    return sender_address, sender_name, title


def _receivers(receivers: Any) -> list[dict[str, Any]]:
    if not isinstance(receivers, list) or not receivers:
        raise NhnError(-2001, "The 'receiverList' or 'receiver' is required.")
    if len(receivers) > _MAX_RECEIVERS:
        raise NhnError(-2012, "The maximum number of recipients is 1000.")
    for receiver in receivers:
        _check_receiver(receiver)
    return receivers


def _check_receiver(receiver: Any) -> None:
    address = receiver.get("receiveMailAddr") if isinstance(receiver, dict) else None
    if not address:
        raise NhnError(-2017, "The 'receiveMailAddr' is required.")
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise NhnError(-2011, "Receiver Email Format is wrong.")
    receive_type = receiver.get("receiveType")
    if not receive_type:
        raise NhnError(-2018, "The 'receiveType' is required.")
    if receive_type not in _RECEIVE_TYPES:
        raise NhnError(-2019, "The 'receiveType' is invalid.")


def _matches(mail: _Mail, params: httpx.QueryParams) -> bool:
    """Whether a mail answers the query: by ``requestId`` or a send-time window, and the grouping key."""
    request_id, start, end = params.get("requestId"), params.get("startSendDate"), params.get("endSendDate")
    if request_id and mail.request_id != request_id:
        return False
    if start and end and not _parse(start) <= mail.requested_at.replace(microsecond=0) <= _parse(end):
        return False
    grouping_key = params.get("senderGroupingKey")
    return not grouping_key or mail.grouping_key == grouping_key


def _positive(params: httpx.QueryParams, name: str, default: int) -> int:
    value = params.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise NhnError(-9995, f"Invalid request. {name}: {value}")
    return int(value)


def _parse(value: str) -> datetime:
    try:
        return datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=KST)
    except ValueError:
        raise NhnError(-2000, f"Date format is invalid. {value}, Only supported yyyy-MM-dd HH:mm:ss") from None
