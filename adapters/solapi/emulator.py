"""Emulator of Solapi's messages API (``api.solapi.com``) and of its single-report webhook.

It checks what Solapi checks before it takes a message: the HMAC signature (key, secret, a date within 15
minutes, no signature used twice: 403 with ``{"errorCode", "errorMessage"}``), then each message (required fields,
registered sender number, kakao channel id, EUC-KR characters and byte limits, BMS buttons, an IMAGE bubble's
``imageId``, a number's second message in one request without ``allowDuplicates``: ``1026``), answering ``200``
with the refused ones in ``failedMessageList`` under Solapi's status codes. A request holds 1 to 10,000 messages
(docs/vendors.md). Each accepted message later yields a report: ``4000`` (delivered) unless
:attr:`SolapiEmulator.outcomes` names another code for its recipient. Its storage takes brand message images
(``POST /storage/v1/files``, type ``BMS``), and a send's ``imageId`` must be a ``fileId`` it issued (else ``1034``,
as Solapi for an unknown id).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import string
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from adapters.emulator import MAX_PENDING, EmulatedCallback, Emulator
from adapters.solapi.adapter import SEND_PATH, iso_date, sign
from adapters.solapi.config import SolapiConfig
from adapters.solapi.images import FILE_TYPE, IMAGE_RULE, STORAGE_PATH
from adapters.solapi.lookup import LIST_PATH

__all__ = ("SolapiEmulator",)

_JSON = msgspec.json.Encoder()
_SIGNATURE_WINDOW = 15 * 60
_ACCOUNT_ID = "emulated-account"
_ID_ALPHABET = string.ascii_uppercase + string.digits
#: Solapi's texts for the status codes the emulator uses (documents ``api-reference/message-status-codes.md``).
_STATUS_MESSAGES = {
    "1010": "필수 입력 값 미입력",
    "1011": "Format Error",
    "1014": "제목은 40byte까지 사용 가능합니다.",
    "1024": "서버 오류",
    "1025": "잘못된 메시지 타입",
    "1026": "중복 수신번호",
    "1029": "문자메시지의 경우 EUC-KR(완성형 한글) 범위 안에 있는 문자만 사용 합니다.",
    "1030": "잔액 부족",
    "1031": "SMS는 90byte LMS, MMS는 2000byte ATA, CTA는 한/영포함 1000자 CTI는 한/영포함 400자까지 사용 가능 합니다.",
    "1032": "유효한 커스텀 필드 값이 아닙니다. 필드명은 30자 설정값은 100자까지 가능하며 'String'형식만 지원 합니다.",
    "1034": "imageId가 존재하지 않습니다.",
    "1041": "유효한 플러스 친구 값이 아닙니다.",
    "1044": "유효한 버튼 값이 아닙니다.",
    "1045": "유효한 버튼 URL 값이 아닙니다.",
    "1049": "버튼 명은 최대 14자까지 사용 가능합니다.",
    "1050": "버튼은 최대 5개까지 사용 가능합니다.",
    "1062": "발신번호 미등록",
    "2000": "정상 접수(이통사로 접수 예정) ",
    "3000": "이통사로 접수(리포트를 기다리는 중)",
    "3102": "친구 관계가 아닌 경우",
    "3104": "카카오톡 미사용자",
    "3107": "72시간 이내 카카오톡 미사용자, 알림톡 차단한 사용자",
    "4000": "수신 완료",
}
#: The 403 answers of the signature check (documents ``authentication/api-key.md``).
_AUTH_ERRORS = {
    "InvalidAPIKey": "유효한 API Key가 아님",
    "SignatureDoesNotMatch": "생성한 Signature가 일치하지 않음",
    "RequestTimeTooSkewed": "시간 값이 서버 시간을 15분 이상 벗어남",
    "DuplicatedSignature": "15분 안에 동일한 signature 값",
}
_HTTP_ERRORS = {400: "ValidationError", 404: "NotFound", 429: "TooManyRequests", 503: "ServiceUnavailable"}
_LINK_TYPES = frozenset({"AC", "WL", "AL", "BK", "MD", "BC", "BT", "BF"})
_MESSAGE_TYPES = frozenset({"SMS", "LMS", "MMS", "ATA", "CTA", "CTI", "BMS_FREE"})
#: Solapi's ids are 32 characters: a prefix, the UTC date and time, random characters.
_ID_LENGTH = 32
#: A file name ("파일 별칭") at Solapi's storage has at most 100 characters.
_MAX_FILE_NAME = 100

_Problem = tuple[str, str] | None


class _SendRequest(msgspec.Struct, rename="camel"):
    # Entries stay dicts: Solapi judges each message on its own and answers a per-message status code.
    messages: list[dict[str, Any]]
    show_message_list: bool = False
    allow_duplicates: bool = False


class _Upload(msgspec.Struct):
    file: str
    # Solapi's default type is DOCUMENT (solapi.com/developers/api/postStorage).
    type: str = "DOCUMENT"
    name: str | None = None
    link: str | None = None


class _Sent(msgspec.Struct):
    message_id: str
    group_id: str
    entry: dict[str, Any]
    created: float = 0.0


class SolapiEmulator(Emulator):
    """Solapi's send-many/detail endpoint, plus the reports of what it accepted.

    Args:
        config: The adapter's config: the API key and secret, sender number and kakao channel it accepts.
        latency: Seconds added to every answer.
        clock: POSIX time source, for the signature date check and generated dates.
        outcomes: Recipient number -> the report status code to emit for it (default ``4000``, delivered).
    """

    def __init__(
        self,
        config: SolapiConfig,
        *,
        latency: float = 0.0,
        clock: Callable[[], float] = time.time,
        outcomes: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(config.url, latency=latency)
        self.config = config
        self.outcomes: dict[str, str] = dict(outcomes or {})
        self._clock = clock
        self._signatures: set[str] = set()
        self._signature_log: deque[tuple[float, str]] = deque()
        self._pending: list[_Sent] = []
        #: Every accepted message, for the list lookup (bounded like the other emulators' records).
        self.sent: deque[_Sent] = deque(maxlen=MAX_PENDING)
        #: The images uploaded to its storage, by the ``fileId`` it issued.
        self.files: dict[str, bytes] = {}

    def trim(self) -> None:
        """See :meth:`Emulator.trim`: the sent records answer lookups only."""
        super().trim()
        self.sent.clear()

    def reset(self) -> None:
        """Forget requests, faults, used signatures and unreported messages."""
        super().reset()
        self._signatures.clear()
        self._signature_log.clear()
        self._pending.clear()
        self.sent.clear()
        self.files.clear()

    def accept(self, request: httpx.Request) -> httpx.Response:
        """Authenticate, validate each message, and answer like send-many/detail (or list messages, or store a file)."""
        route = (request.method, request.url.path)
        if route not in {("GET", LIST_PATH), ("POST", SEND_PATH), ("POST", STORAGE_PATH)}:
            return _failure(request, 404, "NotFound", f"Cannot {request.method} {request.url.path}")
        denied = self._authenticate(request.headers.get("Authorization"))
        if denied:
            return _failure(request, 403, denied, _AUTH_ERRORS[denied])
        if route == ("GET", LIST_PATH):
            return self.json_response(200, self._list(request), request)
        if route == ("POST", STORAGE_PATH):
            return self._upload(request)
        try:
            body = msgspec.json.decode(request.content, type=_SendRequest)
        except msgspec.DecodeError as exc:
            return _failure(request, 400, "ValidationError", str(exc))
        if not 1 <= len(body.messages) <= 10_000:
            return _failure(request, 400, "ValidationError", "messages must hold 1 to 10,000 messages")
        return self._answer(request, body)

    def error(self, request: httpx.Request, *, http_status: int, vendor_code: str | None) -> httpx.Response:
        """Answer with Solapi's error for ``http_status``, or every message refused with ``vendor_code``.

        A numeric ``vendor_code`` is a message status code, which Solapi answers with ``200`` and the messages in
        ``failedMessageList``; a named one (``InvalidAPIKey``, ...) is an error body.
        """
        if vendor_code and vendor_code.isdigit():
            return self._refuse_all(request, vendor_code)
        if vendor_code:
            status = 403 if vendor_code in _AUTH_ERRORS else max(http_status, 400)
            return _failure(request, status, vendor_code, _AUTH_ERRORS.get(vendor_code, vendor_code))
        code = _HTTP_ERRORS.get(http_status, "InternalError" if http_status >= 500 else "BadRequest")
        return _failure(request, http_status, code, f"emulated HTTP {http_status}")

    def pending_callbacks(self, *, signature: str = "") -> list[EmulatedCallback]:
        """The report of every message accepted since the last call, as one webhook call (each returned once).

        Solapi signs nothing (its URL carries the secret), so ``signature`` is unused.
        """
        if not self._pending:
            return []
        reports = [self._report(sent) for sent in self._pending]
        self._pending.clear()
        return [
            EmulatedCallback(path="solapi", headers={"Content-Type": "application/json"}, body=_JSON.encode(reports))
        ]

    def _list(self, request: httpx.Request) -> dict[str, Any]:
        """``GET /messages/v4/list`` by ``to`` and a creation window (no ``customFields`` filter, as Solapi)."""
        query = request.url.params
        start, end = _parse_date(query.get("startDate", "")), _parse_date(query.get("endDate", ""))
        found = {
            sent.message_id: {
                "messageId": sent.message_id,
                "groupId": sent.group_id,
                "to": sent.entry.get("to"),
                "type": sent.entry.get("type"),
                "statusCode": self.outcomes.get(str(sent.entry.get("to")), "4000"),
                "customFields": sent.entry.get("customFields", {}),
                "dateCreated": iso_date(sent.created),
            }
            for sent in self.sent
            if query.get("to") in (None, sent.entry.get("to"))
            and (start is None or sent.created >= start)
            and (end is None or sent.created <= end)
        }
        return {"startKey": None, "nextKey": None, "limit": int(query.get("limit", "20")), "messageList": found}

    def _authenticate(self, header: str | None) -> str | None:
        """Return the error code the signature check fails with, or ``None``."""
        fields = _auth_fields(header)
        if fields is None or fields.get("apikey") != self.config.api_key:
            return "InvalidAPIKey"
        now = self._clock()
        date, salt, signature = fields.get("date", ""), fields.get("salt", ""), fields.get("signature", "")
        when = _parse_date(date)
        if when is None or abs(now - when) > _SIGNATURE_WINDOW:
            return "RequestTimeTooSkewed"
        if not hmac.compare_digest(sign(self.config.api_secret, date, salt), signature):
            return "SignatureDoesNotMatch"
        self._forget_signatures_before(now - _SIGNATURE_WINDOW)
        if signature in self._signatures:
            return "DuplicatedSignature"
        self._signatures.add(signature)
        self._signature_log.append((now, signature))
        return None

    def _forget_signatures_before(self, cutoff: float) -> None:
        while self._signature_log and self._signature_log[0][0] < cutoff:
            self._signatures.discard(self._signature_log.popleft()[1])

    def _answer(self, request: httpx.Request, body: _SendRequest) -> httpx.Response:
        group_id = self._new_id("G4V")
        failed: list[dict[str, Any]] = []
        listed: list[dict[str, Any]] = []
        numbers: set[object] = set()
        for entry in body.messages:
            message_id = self._new_id("M4V")
            problem = self._problem(entry)
            if problem is None and not body.allow_duplicates:
                problem = ("1026", _STATUS_MESSAGES["1026"]) if entry["to"] in numbers else None
                numbers.add(entry["to"])
            if problem:
                failed.append(_failed_entry(entry, message_id, *problem))
                continue
            sent = _Sent(message_id, group_id, entry, self._clock())
            self._pending.append(sent)
            self.sent.append(sent)
            listed.append(
                {
                    "messageId": message_id,
                    "statusCode": "2000",
                    "statusMessage": _STATUS_MESSAGES["2000"],
                    "customFields": entry.get("customFields", {}),
                }
            )
        answer: dict[str, Any] = {
            "groupInfo": self._group_info(group_id, len(body.messages), len(failed)),
            "failedMessageList": failed,
        }
        if body.show_message_list:
            answer["messageList"] = listed
        return self.json_response(200, answer, request)

    def _refuse_all(self, request: httpx.Request, code: str) -> httpx.Response:
        try:
            body = msgspec.json.decode(request.content, type=_SendRequest)
        except msgspec.DecodeError as exc:
            return _failure(request, 400, "ValidationError", str(exc))
        message = _STATUS_MESSAGES.get(code, "emulated failure")
        failed = [_failed_entry(entry, self._new_id("M4V"), code, message) for entry in body.messages]
        group_info = self._group_info(self._new_id("G4V"), len(failed), len(failed))
        return self.json_response(200, {"groupInfo": group_info, "failedMessageList": failed}, request)

    def _problem(self, entry: dict[str, Any]) -> _Problem:
        """The status code and text Solapi refuses this message with, or ``None``."""
        for name in ("to", "from", "type", "text"):
            if not isinstance(entry.get(name), str) or not entry[name]:
                return "1010", f"{_STATUS_MESSAGES['1010']}: {name}"
        if not entry["to"].isdigit():
            return "1011", f"{_STATUS_MESSAGES['1011']}: to"
        if entry["from"] != self.config.send_no:
            return "1062", _STATUS_MESSAGES["1062"]
        if not _valid_custom_fields(entry.get("customFields", {})):
            return "1032", _STATUS_MESSAGES["1032"]
        if entry["type"] not in _MESSAGE_TYPES:
            return "1025", _STATUS_MESSAGES["1025"]
        if entry["type"] == "LMS":
            return _lms_problem(entry)
        if entry["type"] == "BMS_FREE":
            return self._bms_problem(entry)
        return None

    def _bms_problem(self, entry: dict[str, Any]) -> _Problem:
        options = entry.get("kakaoOptions")
        if not isinstance(options, dict) or options.get("pfId") != self.config.pf_id:
            return "1041", _STATUS_MESSAGES["1041"]
        bms = options.get("bms")
        if not isinstance(bms, dict) or bms.get("targeting") not in ("I", "M", "N"):
            return "1011", f"{_STATUS_MESSAGES['1011']}: kakaoOptions.bms.targeting"
        if bms.get("chatBubbleType") not in ("TEXT", "IMAGE"):
            return "1011", f"{_STATUS_MESSAGES['1011']}: kakaoOptions.bms.chatBubbleType"
        if bms["chatBubbleType"] == "IMAGE" and bms.get("imageId") not in self.files:
            return "1034", _STATUS_MESSAGES["1034"]
        text: str = entry["text"]
        if len(text) > 1300 or text.count("\n") > 99:
            return "1031", _STATUS_MESSAGES["1031"]
        return _buttons_problem(bms.get("buttons", []))

    def _upload(self, request: httpx.Request) -> httpx.Response:
        """Store a brand message image: Solapi's ``BMS`` rule for the file (jpg or png, at most 5 MB).

        Solapi documents no error code for a refused file; the emulator answers 400 ``ValidationError`` like its
        other validation errors. Types other than ``BMS`` are not emulated (the gateway uploads no other).
        """
        try:
            upload = msgspec.json.decode(request.content, type=_Upload)
            data = base64.b64decode(upload.file, validate=True)
        except (msgspec.DecodeError, msgspec.ValidationError, binascii.Error) as exc:
            return _failure(request, 400, "ValidationError", str(exc))
        if upload.type != FILE_TYPE:
            return _failure(request, 400, "ValidationError", f"the emulator stores only {FILE_TYPE} files")
        if len(upload.name or "") > _MAX_FILE_NAME:
            return _failure(request, 400, "ValidationError", f"name is longer than {_MAX_FILE_NAME} characters")
        if len(data) > IMAGE_RULE.max_bytes or not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8")):
            return _failure(request, 400, "ValidationError", f"a {FILE_TYPE} file is a jpg or png of at most 5 MB")
        file_id = self._new_id("ST01FZ")
        self.files[file_id] = data
        now = iso_date(self._clock())
        answer: dict[str, Any] = {
            "fileId": file_id,
            "accountId": _ACCOUNT_ID,
            "type": upload.type,
            "name": upload.name or file_id,
            "originalName": upload.name or file_id,
            "url": f"https://emulated-storage.solapi.test/{_ACCOUNT_ID}/{file_id}",
            "link": upload.link,
            "fileSize": len(data),
            "references": [],
            "dateCreated": now,
            "dateUpdated": now,
        }
        return self.json_response(200, answer, request)

    def _report(self, sent: _Sent) -> dict[str, Any]:
        code = self.outcomes.get(sent.entry["to"], "4000")
        now = iso_date(self._clock())
        data = {
            "messageId": sent.message_id,
            "groupId": sent.group_id,
            "type": sent.entry["type"],
            "to": sent.entry["to"],
            "from": sent.entry["from"],
            "statusCode": code,
            "statusMessage": _STATUS_MESSAGES.get(code, "emulated failure"),
            "dateProcessed": now,
            "dateReported": now,
            "dateReceived": now if code == "4000" else None,
            "customFields": sent.entry.get("customFields", {}),
            "kakaoOptions": sent.entry.get("kakaoOptions"),
        }
        return {"eventDataId": self._new_id("E4V"), "retryCount": 0, "data": data}

    def _group_info(self, group_id: str, total: int, failed: int) -> dict[str, Any]:
        now = iso_date(self._clock())
        count = {
            "total": total,
            "sentTotal": 0,
            "sentSuccess": 0,
            "sentPending": 0,
            "sentFailed": 0,
            "sentReplacement": 0,
            "refund": 0,
            "registeredFailed": failed,
            "registeredSuccess": total - failed,
        }
        return {
            "_id": group_id,
            "groupId": group_id,
            "accountId": _ACCOUNT_ID,
            "apiVersion": "4",
            "status": "SENDING" if total > failed else "FAILED",
            "allowDuplicates": False,
            "isRefunded": False,
            "count": count,
            "dateCreated": now,
            "dateUpdated": now,
        }

    def _new_id(self, prefix: str) -> str:
        """A Solapi-style id: prefix, UTC date and time, random characters up to 32 in all."""
        stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%d%H%M%S")
        random_part = _ID_LENGTH - len(prefix) - len(stamp)
        return prefix + stamp + "".join(secrets.choice(_ID_ALPHABET) for _ in range(random_part))


def _auth_fields(header: str | None) -> dict[str, str] | None:
    """Split ``HMAC-SHA256 apiKey=.., date=.., salt=.., signature=..`` (names in any case, as the SDKs differ)."""
    if not header:
        return None
    method, _, params = header.strip().partition(" ")
    if method != "HMAC-SHA256":
        return None
    fields = {}
    for part in params.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name.lower()] = value
    return fields


def _parse_date(value: str) -> float | None:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _valid_custom_fields(fields: object) -> bool:
    if not isinstance(fields, dict):
        return False
    return all(isinstance(v, str) and len(k) <= 30 and len(v) <= 100 for k, v in fields.items())


def _lms_problem(entry: dict[str, Any]) -> _Problem:
    subject = entry.get("subject", "")
    if not isinstance(subject, str):
        return "1011", f"{_STATUS_MESSAGES['1011']}: subject"
    try:
        text_bytes, subject_bytes = len(entry["text"].encode("cp949")), len(subject.encode("cp949"))
    except UnicodeEncodeError:
        return "1029", _STATUS_MESSAGES["1029"]
    if subject_bytes > 40:
        return "1014", _STATUS_MESSAGES["1014"]
    if text_bytes > 2000:
        return "1031", _STATUS_MESSAGES["1031"]
    return None


def _buttons_problem(buttons: object) -> _Problem:
    if not isinstance(buttons, list):
        return "1044", _STATUS_MESSAGES["1044"]
    if len(buttons) > 5:
        return "1050", _STATUS_MESSAGES["1050"]
    for button in buttons:
        if not isinstance(button, dict) or button.get("linkType") not in _LINK_TYPES:
            return "1044", _STATUS_MESSAGES["1044"]
        if len(button.get("name", "")) > 14:
            return "1049", _STATUS_MESSAGES["1049"]
        if button["linkType"] == "WL" and not _web_links(button):
            return "1045", _STATUS_MESSAGES["1045"]
    return None


def _web_links(button: dict[str, Any]) -> bool:
    """A web-link button needs an http(s) mobile link; its PC link is optional."""
    links = [button.get("linkMobile"), *([button["linkPc"]] if "linkPc" in button else [])]
    return all(
        isinstance(link, str) and link.startswith(("http://", "https://")) and len(link) <= 1000 for link in links
    )


def _failed_entry(entry: dict[str, Any], message_id: str, code: str, message: str) -> dict[str, Any]:
    return {
        "to": entry.get("to"),
        "from": entry.get("from"),
        "type": entry.get("type"),
        "statusMessage": message,
        "country": "82",
        "messageId": message_id,
        "statusCode": code,
        "accountId": _ACCOUNT_ID,
        "customFields": entry.get("customFields", {}),
    }


def _failure(request: httpx.Request, status: int, code: str, message: str) -> httpx.Response:
    return Emulator.json_response(status, {"errorCode": code, "errorMessage": message}, request)
