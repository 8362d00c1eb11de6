"""Emulator of NHN Cloud KakaoTalk Bizmessage: brand message free-form sends and their webhook.

It checks what NHN checks (app key, secret key, idempotency key within 10 minutes, sender key, bubble type,
content length and line breaks, buttons, image, recipients, targeting) with NHN's result codes, answers with
NHN's envelope, and later emits the ``MESSAGE_RESULT_UPDATE`` webhook with a Kakao result code per recipient.
It serves the image upload (``POST …/images``, multipart ``image`` + ``imageType``) and, as NHN does, accepts in
a send only an image URL it issued (``-8002`` otherwise; a file that is not jpg/png fails the upload with ``-8001``).
It answers the brand message list (``GET …/messages`` by request date window, filtered by ``recipientGroupingKey``)
the gateway asks after an uncertain send.
A recipient whose Kakao result failed gets NHN's own SMS/LMS fallback when its ``resendParameter.isResend`` says so
or, without one, when the console's default is "resend on" (``console_resend``); :attr:`NhnKakaoEmulator.resent`
lists them, so a test can show a message never falls back twice.
Limits are those of docs/vendors.md ("Kakao"): TEXT and IMAGE content ≤1,300 characters and 99 line breaks.
A request carries 1 to 1,000 recipients, each answered in ``sendResults`` by ``recipientSeq`` and ``recipientNo`` (no
grouping key, as NHN documents it); a recipient with a bad number fails alone (``-4019`` in its entry) unless all do
(docs/vendors.md, "NHN Cloud", "Batches").
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx
import msgspec

from adapters.base import KST
from adapters.emulator import EmulatedCallback, Emulator
from adapters.nhn.common import IDEMPOTENCY_HEADER, IDEMPOTENCY_WINDOW
from adapters.nhn.config import NhnKakaoConfig
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
from adapters.nhn.kakao import KAKAO_RESULT_TEXT, PRODUCT

__all__ = ("NON_FRIEND", "NhnKakaoEmulator")

_ROUTE = re.compile(r"/brand-message/v1\.0/appkeys/([^/]+)/freestyle-messages")
_IMAGES_ROUTE = re.compile(r"/brand-message/v1\.0/appkeys/([^/]+)/images")
_IMAGE_TYPES = frozenset(
    {
        "IMAGE",
        "WIDE_IMAGE",
        "MAIN_WIDE_ITEMLIST_IMAGE",
        "NORMAL_WIDE_ITEMLIST_IMAGE",
        "CAROUSEL_FEED_IMAGE",
        "CAROUSEL_COMMERCE_IMAGE",
    }
)
_MAX_IMAGE_BYTES = 5 * 1024 * 1024
_LIST_ROUTE = re.compile(r"/brand-message/v1\.0/appkeys/([^/]+)/messages")
_LIST_DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
_MOBILE = re.compile(r"01[016789]\d{7,8}")
#: (characters, line breaks) allowed per bubble type.
_CONTENT_LIMITS = {"TEXT": (1300, 99), "IMAGE": (1300, 99)}
_MAX_BUTTONS = 5
_MAX_BUTTON_NAME = 14
_MAX_LINK = 1000
_MAX_RECIPIENTS = 1000
_MAX_GROUPING_KEY = 100
_DELIVERED = "1000"
#: The sandbox outcome for a recipient who is not a channel friend. NHN documents no Kakao code for that under
#: targeting I; the emulator reports ``1028`` ("targeting option cannot be used", the nearest documented one)
#: with ``isAddedChannel: false``, which is what the gateway reads (docs/vendors.md, "Kakao").
NON_FRIEND = "nonfriend"
_NON_FRIEND_CODE = "1028"
#: NHN's messages for the codes the emulator answers with (NHN KakaoTalk Bizmessage error-code page).
_MESSAGES = {
    -1000: "Invalid appKey.",
    -1001: "Invalid secretKey.",
    -1005: "The same 'X-NC-API-IDEMPOTENCY-KEY' was used within the last 10 minute.",
    -2017: "Not exist plus friend.",
    -2502: "Please set up plus-friend resend setting.",
    -3002: "Field is not valid.",
    -4019: "Invalid recipient number.",
    -4103: "RequestId or startRequestDate/endRequestDate is invalid.",
    -7000: "Vender request API is failed.",
    -8001: "The image you upload is invalid.",
    -8002: "It is not found any images.",
    -8011: "The image type is invalid.",
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
    #: The recipient's ``resendParameter.isResend``; ``None`` follows the console's default.
    resend: bool | None


class NhnKakaoEmulator(Emulator):
    """NHN Cloud KakaoTalk Bizmessage, brand message free-form.

    Attributes:
        outcomes: Kakao result code per recipient number for the webhook (``"1000"`` delivered by default),
            e.g. ``{"01012345678": "3018"}``.
        honour_idempotency: Refuse a repeated ``X-NC-API-IDEMPOTENCY-KEY`` with ``-1005``; ``False`` plays an NHN
            that ignores the header on brand messages, where it is not documented (docs/vendors.md).
            e.g. ``{"01012345678": "3018"}``; ``"nonfriend"`` reports a recipient who is not a channel friend.
        console_resend: The console's fallback setting ("대체 발송 관리"): configured with "resend on" as the
            default. Off, a recipient asking for ``isResend: true`` is refused with ``-2502``.
        resent: Numbers NHN sent its own SMS/LMS fallback to, in order.
    """

    def __init__(
        self,
        config: NhnKakaoConfig,
        *,
        latency: float = 0.0,
        outcomes: dict[str, str] | None = None,
        console_resend: bool = False,
    ) -> None:
        super().__init__(config.url, latency=latency)
        self.outcomes = dict(outcomes or {})
        self.console_resend = console_resend
        self.resent: list[str] = []
        self._config = config
        # Keys in the order they were first used, so expired ones leave from the front.
        self._keys: dict[str, float] = {}
        self._pending: deque[_Sent] = deque(maxlen=MAX_PENDING)
        #: Every accepted recipient, for the list lookup (bounded like the callbacks).
        self.sent: deque[_Sent] = deque(maxlen=MAX_PENDING)
        self.honour_idempotency = True
        #: Image URLs this emulator issued, with the bytes uploaded (a send may use only these).
        self.images: dict[str, bytes] = {}
        #: What "now" is for the request dates the list answers by (a test's clock).
        self.clock: Callable[[], float] = time.time

    def trim(self) -> None:
        """See :meth:`Emulator.trim`: the sent records answer lookups only."""
        super().trim()
        self.sent.clear()

    def reset(self) -> None:
        """Forget requests, faults, idempotency keys and callbacks not yet emitted."""
        super().reset()
        self._keys.clear()
        self._pending.clear()
        self.sent.clear()
        self.resent.clear()
        self.images.clear()

    def accept(self, request: httpx.Request) -> httpx.Response:
        """Validate a free-form send (or a list lookup) the way NHN does and answer with its envelope."""
        try:
            if request.method == "GET":
                return self.json_response(200, self._search(request), request)
            if _IMAGES_ROUTE.fullmatch(request.url.path):
                return self.json_response(200, self._upload(request), request)
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
        appkey = path_match(request, _ROUTE, "POST").group(1)
        if appkey != self._config.appkey:
            raise NhnError(-1000, _MESSAGES[-1000])
        require_secret(request, self._config.secret, -1001, _MESSAGES[-1001])
        key = request.headers.get(IDEMPOTENCY_HEADER)
        self._check_idempotency(key)
        body = json_object(request, -3002, _MESSAGES[-3002])
        _check_message(body, self._config.sender_key)
        image = body.get("image")
        if isinstance(image, dict) and image.get("imageUrl") not in self.images:
            raise NhnError(-8002, _MESSAGES[-8002])
        recipients = _recipients(body.get("recipientList"))
        if not self.console_resend and any(_resend(r) for r, _ in recipients):
            raise NhnError(-2502, _MESSAGES[-2502])
        if key:
            self._keys[key] = time.monotonic()
        return self._accepted(body, recipients)

    def _upload(self, request: httpx.Request) -> dict[str, Any]:
        appkey = path_match(request, _IMAGES_ROUTE, "POST").group(1)
        if appkey != self._config.appkey:
            raise NhnError(-1000, _MESSAGES[-1000])
        require_secret(request, self._config.secret, -1001, _MESSAGES[-1001])
        fields = _form(request)
        if fields.get("imageType", (None, b""))[1].decode() not in _IMAGE_TYPES:
            raise NhnError(-8011, _MESSAGES[-8011])
        name, data = fields.get("image", (None, b""))
        if not name or len(data) > _MAX_IMAGE_BYTES or not data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8")):
            raise NhnError(-8001, _MESSAGES[-8001])
        seq = len(self.images) + 1
        extension = "jpg" if data.startswith(b"\xff\xd8") else "png"
        url = f"https://mud-kage.kakao.com/dn/emulator/{nhn_id()}.{extension}"
        self.images[url] = data
        return {
            "header": {"resultCode": 0, "resultMessage": "success", "isSuccessful": True},
            "image": {"imageSeq": seq, "imageUrl": url, "imageName": name},
        }

    def _check_idempotency(self, key: str | None) -> None:
        now = time.monotonic()
        while self._keys:
            oldest = next(iter(self._keys))
            if now - self._keys[oldest] < IDEMPOTENCY_WINDOW:
                break
            del self._keys[oldest]
        if key and key in self._keys and self.honour_idempotency:
            raise NhnError(-1005, _MESSAGES[-1005])

    def _accepted(self, body: dict[str, Any], recipients: list[_Recipient]) -> dict[str, Any]:
        request_id = nhn_id()
        requested_at = datetime.fromtimestamp(self.clock(), KST).strftime("%Y-%m-%dT%H:%M:%S")
        sender_key = body.get("senderGroupingKey")
        results = []
        for seq, (recipient, problem) in enumerate(recipients, start=1):
            number = recipient.get("recipientNo")
            if problem is None:
                sent = _Sent(
                    request_id=request_id,
                    recipient_seq=seq,
                    recipient_no=recipient["recipientNo"],
                    grouping_key=recipient.get("recipientGroupingKey"),
                    sender_grouping_key=sender_key,
                    request_date=requested_at,
                    resend=_resend(recipient),
                )
                self._pending.append(sent)
                self.sent.append(sent)
            # The brand message answer names each recipient by its place and number, not its grouping key.
            results.append(
                {
                    "recipientSeq": seq,
                    "recipientNo": number,
                    "resultCode": problem.code if problem else 0,
                    "resultMessage": problem.message if problem else "SUCCESS",
                }
            )
        return {
            "header": {"resultCode": 0, "resultMessage": "SUCCESS", "isSuccessful": True},
            "message": {"requestId": request_id, "senderGroupingKey": sender_key, "sendResults": results},
        }

    def _search(self, request: httpx.Request) -> dict[str, Any]:
        """The brand message list: ``requestId`` or both request dates are required, the grouping key filters."""
        appkey = path_match(request, _LIST_ROUTE, "GET").group(1)
        if appkey != self._config.appkey:
            raise NhnError(-1000, _MESSAGES[-1000])
        require_secret(request, self._config.secret, -1001, _MESSAGES[-1001])
        query = request.url.params
        request_id, start, end = query.get("requestId"), query.get("startRequestDate"), query.get("endRequestDate")
        by_dates = bool(start and end and _LIST_DATE.fullmatch(start) and _LIST_DATE.fullmatch(end))
        if not request_id and not by_dates:
            raise NhnError(-4103, _MESSAGES[-4103])
        key = query.get("recipientGroupingKey")
        rows = [
            self._row(sent)
            for sent in self.sent
            if (not request_id or sent.request_id == request_id)
            and (not by_dates or str(start) <= sent.request_date[:16].replace("T", " ") <= str(end))
            and (key is None or sent.grouping_key == key)
        ]
        return {
            "header": {"resultCode": 0, "resultMessage": "SUCCESS", "isSuccessful": True},
            "messageSearchResultResponse": {"messages": rows, "totalCount": len(rows)},
        }

    def _row(self, sent: _Sent) -> dict[str, Any]:
        outcome = self.outcomes.get(sent.recipient_no, _DELIVERED)
        code = _NON_FRIEND_CODE if outcome == NON_FRIEND else outcome
        return {
            "requestId": sent.request_id,
            "recipientSeq": sent.recipient_seq,
            "recipientNo": sent.recipient_no,
            "requestDate": sent.request_date.replace("T", " "),
            "messageStatus": "COMPLETED" if code == _DELIVERED else "FAILED",
            "resultCode": code,
            "resultCodeName": KAKAO_RESULT_TEXT.get(code, "failure"),
            "isAddedChannel": outcome != NON_FRIEND and code != "3019",
            "senderGroupingKey": sent.sender_grouping_key,
            "recipientGroupingKey": sent.grouping_key,
        }

    def _hook(self, sent: _Sent) -> dict[str, Any]:
        outcome = self.outcomes.get(sent.recipient_no, _DELIVERED)
        code = _NON_FRIEND_CODE if outcome == NON_FRIEND else outcome
        if code not in (_DELIVERED, "3005") and (self.console_resend if sent.resend is None else sent.resend):
            self.resent.append(sent.recipient_no)
        return {
            "hookId": nhn_id(),
            "kakaoMessageType": "BRAND_MESSAGE_NORMAL",
            "requestId": sent.request_id,
            "recipientSeq": sent.recipient_seq,
            "recipientNo": sent.recipient_no,
            "resultCode": code,
            "resultCodeName": KAKAO_RESULT_TEXT.get(code, "failure"),
            "senderGroupingKey": sent.sender_grouping_key,
            "recipientGroupingKey": sent.grouping_key,
            "requestDate": sent.request_date,
            "receiveDate": kst_now(),
            "createDate": sent.request_date,
            # A non-KakaoTalk user cannot have added the channel.
            "isAddedChannel": outcome not in ("3019", NON_FRIEND),
        }


def _form(request: httpx.Request) -> dict[str, tuple[str | None, bytes]]:
    """A ``multipart/form-data`` body's fields: name → (file name, bytes)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise NhnError(-3002, _MESSAGES[-3002])
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.read()
    )
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (part.get_filename(), payload)
    return fields


def _check_message(body: dict[str, Any], sender_key: str) -> None:
    """The message part: sender key, bubble type, content, image and buttons."""
    if not body.get("senderKey"):
        raise NhnError(-2001, "The 'senderKey' must not be blank.")
    if body["senderKey"] != sender_key:
        raise NhnError(-2017, _MESSAGES[-2017])
    bubble = body.get("chatBubbleType")
    if not bubble:
        raise NhnError(-2001, "The 'chatBubbleType' must not be blank.")
    if bubble not in _CONTENT_LIMITS:
        raise NhnError(-3305, f"The chatBubbleType {bubble} is not supported by this emulator (TEXT, IMAGE).")
    for flag in ("pushAlarm", "adult"):
        if flag in body and not isinstance(body[flag], bool):
            raise NhnError(-9994, "A method argument has not the expected type.")
    _check_content(body.get("content"), bubble)
    _check_image(body.get("image"), bubble)
    _check_buttons(body.get("buttons"))


def _check_content(content: Any, bubble: str) -> None:
    if not isinstance(content, str) or not content:
        raise NhnError(-2001, "The 'content' must not be blank.")
    max_chars, max_breaks = _CONTENT_LIMITS[bubble]
    if len(content) > max_chars:
        raise NhnError(-2000, f"The 'content' must be at less than or equal to {max_chars}.")
    if content.count("\n") > max_breaks:
        raise NhnError(-2000, f"The line breaks of 'content' must be at less than or equal to {max_breaks}.")


def _check_image(image: Any, bubble: str) -> None:
    if bubble == "TEXT":
        if image is not None:
            raise NhnError(-3305, "The chatBubbleType TEXT is not allowed image field.")
        return
    if not isinstance(image, dict) or not image.get("imageUrl"):
        raise NhnError(-3319, "image field require imageUrl")
    if not _is_web_link(image["imageUrl"]):
        raise NhnError(-3326, "The imageUrl must include http:// or https://")
    if "imageLink" in image and not _is_web_link(image["imageLink"]):
        raise NhnError(-3327, "The imageLink must include http:// or https://")


def _check_buttons(buttons: Any) -> None:
    if buttons is None:
        return
    if not isinstance(buttons, list) or len(buttons) > _MAX_BUTTONS:
        raise NhnError(-2000, f"The 'buttons' must be at less than or equal to {_MAX_BUTTONS}.")
    for button in buttons:
        _check_button(button)


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("name"):
        raise NhnError(-3009, "Not exist button name.")
    if len(button["name"]) > _MAX_BUTTON_NAME:
        raise NhnError(-2000, f"The 'name' must be at less than or equal to {_MAX_BUTTON_NAME}.")
    if button.get("type") != "WL":
        raise NhnError(-3328, f"The button type {button.get('type')} is not allowed.")
    if not button.get("linkMo"):
        raise NhnError(-3307, "linkType WL is required field linkMo")
    for field in ("linkMo", "linkPc"):
        if field in button and not _is_web_link(button[field]):
            raise NhnError(-3310, "The linkMo/linkPc must include http:// or https://")


def _is_web_link(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) <= _MAX_LINK


def _recipients(recipients: Any) -> list[_Recipient]:
    """Each recipient with the NHN error its number gets, if any.

    A bad number fails that recipient only (its ``sendResults`` entry carries the code) unless every recipient has
    one, which fails the request with the first one's code, as a one-recipient request does.
    """
    if not isinstance(recipients, list) or not recipients:
        raise NhnError(-4011, "Not found recipientList.")
    if len(recipients) > _MAX_RECIPIENTS:
        raise NhnError(-2000, f"The 'recipientList' must be at less than or equal to {_MAX_RECIPIENTS}.")
    checked = [(recipient, _check_recipient(recipient)) for recipient in recipients]
    problems = [problem for _, problem in checked if problem is not None]
    if len(problems) == len(checked):
        raise problems[0]
    return checked


def _resend(recipient: dict[str, Any]) -> bool | None:
    parameter = recipient.get("resendParameter")
    if parameter is None:
        return None
    if not isinstance(parameter, dict) or not isinstance(parameter.get("isResend", False), bool):
        raise NhnError(-9994, "A method argument has not the expected type.")
    resend = parameter.get("isResend")
    return resend if isinstance(resend, bool) else None


def _check_recipient(recipient: Any) -> NhnError | None:
    """The recipient's own problem (its number); a wrong targeting or grouping key fails the whole request."""
    if not isinstance(recipient, dict):
        raise NhnError(-9994, "A method argument has not the expected type.")
    targeting = recipient.get("targeting", "I")
    if targeting not in ("I", "M", "N"):
        raise NhnError(-3298, "The targeting is invalid.")
    if targeting != "I":
        # M/N need Kakao's approval, which a sandbox sender profile does not have.
        raise NhnError(-4029, "To send 'M/N type' messages, you must first apply to have the feature enabled.")
    key = recipient.get("recipientGroupingKey")
    if key is not None and (not isinstance(key, str) or len(key) > _MAX_GROUPING_KEY):
        raise NhnError(-2000, f"The 'recipientGroupingKey' must be at less than or equal to {_MAX_GROUPING_KEY}.")
    number = recipient.get("recipientNo")
    if not isinstance(number, str) or not _MOBILE.fullmatch(number.replace("-", "")):
        return NhnError(-4019, _MESSAGES[-4019])
    return None
