"""The callback routes with the vendors' documented bodies, on a gateway configured for real vendors.

Messages are put in the store as the dispatcher leaves them (accepted, with the vendor's id); the receipt applier
is run by hand to see what each callback did.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.dispatch.receipts import ReceiptApplier
from gateway.models import NewMessage, OutboundMessage, Status, StoredReceipt
from gateway.store.base import Store
from tests.conftest import REAL_NHN, Clock, make_settings

Client = AsyncTestClient[Litestar]
NHN_SIGNATURE = "static-signature-from-the-nhn-console"
SOLAPI_TOKEN = "s3cret-path-token-0123456789"
SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
REAL_VENDORS = {
    "GATEWAY_SANDBOX": "off",
    **REAL_NHN,
    "GATEWAY_SOLAPI_API_KEY": "solapi-key",
    "GATEWAY_SOLAPI_API_SECRET": "solapi-secret",
    "GATEWAY_NHN_WEBHOOK_SIGNATURE": NHN_SIGNATURE,
    "GATEWAY_SOLAPI_CALLBACK_TOKEN": SOLAPI_TOKEN,
    "GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY": base64.b64encode(
        SENDGRID_KEY.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode(),
    "GATEWAY_CALLBACK_MAX_BODY_BYTES": "65536",
}
_JSON = msgspec.json.Encoder()


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Litestar:
    return create_app(make_settings(tmp_path, **REAL_VENDORS), clock=clock, start_dispatcher=False)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[Client]:
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def accepted(app: Litestar, message_id: str, *, channel: str = "kakao", vendor: str = "nhn") -> None:
    """Store a message as the dispatcher leaves it once the vendor took it (as ``req-<id>``)."""
    store: Store = app.state.store
    now = app.state.clock()
    outbound = OutboundMessage(channel=channel, user_id="u-1", content="안녕하세요", phone="01012345678")  # type: ignore[arg-type]
    new = NewMessage(
        id=message_id,
        idempotency_key=message_id,
        vendor=vendor,
        message=outbound,
        raw_body=b"{}",
        status=Status.QUEUED,
        next_attempt_at=now,
        created_at=now,
    )
    await store.add(new, idempotency_window=3600)
    await store.transition(message_id, Status.ACCEPTED, "accepted", now=now, vendor_message_id=f"req-{message_id}")


async def status_of(app: Litestar, message_id: str) -> tuple[Status, list[str]]:
    """Apply the stored receipts, then return the message's status and timeline reasons."""
    await app.state.dispatcher.duty(ReceiptApplier).run_once()
    detail = await app.state.store.get(message_id)
    return detail.record.status, [event.reason for event in detail.events]


def kakao_hook(
    hook_id: str, message_id: str | None, code: str = "1000", *, request_id: str | None = None
) -> dict[str, Any]:
    return {
        "hookId": hook_id,
        "kakaoMessageType": "BRAND_MESSAGE_NORMAL",
        "requestId": request_id or f"req-{message_id}",
        "recipientSeq": 1,
        "recipientNo": "01012345678",
        "resultCode": code,
        "senderGroupingKey": None,
        "recipientGroupingKey": message_id,
        "requestDate": "2026-11-27T12:00:00",
        "receiveDate": "2026-11-27T12:00:03",
        "createDate": "2026-11-27T12:00:00",
        "isAddedChannel": code != "3019",
    }


def nhn_body(product: str, *hooks: dict[str, Any]) -> bytes:
    return _JSON.encode(
        {
            "hooksId": "20261127120005aBcDeFgHiJ0",
            "webhookConfigId": "cfg-1",
            "productName": product,
            "appKey": "kakao-app",
            "event": "MESSAGE_RESULT_UPDATE",
            "hooks": list(hooks),
        }
    )


def nhn_headers(signature: str | None = NHN_SIGNATURE) -> dict[str, str]:
    headers = {"Content-Type": "application/json;charset=UTF-8"}
    return headers | ({"X-Toast-Webhook-Signature": signature} if signature is not None else {})


def solapi_report(event_id: str, message_id: str, code: str = "4000") -> dict[str, Any]:
    return {
        "eventDataId": event_id,
        "retryCount": 0,
        "data": {
            "messageId": f"M4V{event_id}",
            "groupId": "G4V20261127120000",
            "type": "BMS_FREE",
            "to": "01012345678",
            "from": "0212345678",
            "statusCode": code,
            "statusMessage": {"4000": "수신완료", "3000": "이통사로 접수 예정", "3104": "카카오톡 미사용자"}[code],
            "dateProcessed": "2026-11-27T03:00:01.000Z",
            "dateReported": "2026-11-27T03:00:02.000Z",
            "dateReceived": "2026-11-27T03:00:02.000Z",
            "customFields": {"gatewayId": message_id},
            "kakaoOptions": {"pfId": "KA01PF"},
        },
    }


def sendgrid_event(event: str, message_id: str, event_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": "jiwoo@example.com",
        "timestamp": 1795755600,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": event,
        "sg_event_id": event_id,
        "sg_message_id": f"sg-{message_id}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
        "gateway_id": message_id,
        **extra,
    }


def signed(body: bytes, *, key: ec.EllipticCurvePrivateKey = SENDGRID_KEY, at: float | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "Content-Type": "application/json",
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


async def nothing_stored(app: Litestar) -> bool:
    pending: list[StoredReceipt] = await app.state.store.claim_receipts(
        now=app.state.clock() + 10**6, limit=10, lease=1
    )
    return pending == []


async def test_nhn_kakao_webhook_signed_correctly_is_stored_and_delivers(client: Client, app: Litestar) -> None:
    await accepted(app, "m-1")

    response = await client.post(
        "/v1/callbacks/nhn", content=nhn_body("KakaoTalk Bizmessage", kakao_hook("h1", "m-1")), headers=nhn_headers()
    )

    assert response.status_code == 200
    assert response.json() == {"received": 1, "new": 1}
    status, reasons = await status_of(app, "m-1")
    assert status is Status.DELIVERED
    assert reasons[-1] == "delivered: nhn 1000 success"


@pytest.mark.parametrize("signature", ["wrong-signature", "", None])
async def test_nhn_webhook_signed_wrongly_or_unsigned_is_401_and_stores_nothing(
    client: Client, app: Litestar, signature: str | None
) -> None:
    body = nhn_body("KakaoTalk Bizmessage", kakao_hook("h1", "m-1"))

    response = await client.post("/v1/callbacks/nhn", content=body, headers=nhn_headers(signature))

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The callback is not authenticated."
    assert await nothing_stored(app)


async def test_nhn_kakao_and_sms_each_signed_with_their_own_console_value(tmp_path: Path, clock: Clock) -> None:
    env = REAL_VENDORS | {
        "GATEWAY_NHN_KAKAO_WEBHOOK_SIGNATURE": "kakao-console-value",
        "GATEWAY_NHN_SMS_WEBHOOK_SIGNATURE": "sms-console-value",
    }
    app = create_app(make_settings(tmp_path, **env), clock=clock, start_dispatcher=False)
    kakao = nhn_body("KakaoTalk Bizmessage", kakao_hook("h1", "m-1"))
    sms_hook = {"hookId": "s1", "requestId": "r", "recipientSeq": 1, "messageStatus": "COMPLETED", "resultCode": "1000"}
    sms = nhn_body("SMS", sms_hook | {"recipientGroupingKey": "m-2"})
    async with AsyncTestClient(app) as client:
        answers = [
            (await client.post("/v1/callbacks/nhn", content=body, headers=nhn_headers(signature))).status_code
            for body, signature in [
                (kakao, "kakao-console-value"),
                (sms, "sms-console-value"),
                (kakao, "sms-console-value"),
                (sms, "kakao-console-value"),
                (kakao, NHN_SIGNATURE),
            ]
        ]
    assert answers == [200, 200, 401, 401, 401]


async def test_a_product_without_its_own_signature_uses_the_shared_one(tmp_path: Path, clock: Clock) -> None:
    env = REAL_VENDORS | {"GATEWAY_NHN_KAKAO_WEBHOOK_SIGNATURE": "kakao-console-value"}
    app = create_app(make_settings(tmp_path, **env), clock=clock, start_dispatcher=False)
    sms_hook = {"hookId": "s1", "requestId": "r", "recipientSeq": 1, "messageStatus": "COMPLETED", "resultCode": "1000"}
    async with AsyncTestClient(app) as client:
        response = await client.post(
            "/v1/callbacks/nhn",
            content=nhn_body("SMS", sms_hook | {"recipientGroupingKey": "m-2"}),
            headers=nhn_headers(),
        )
    assert response.status_code == 200


async def test_nhn_sms_webhook_ends_an_lms_delivered_or_failed(client: Client, app: Litestar) -> None:
    await accepted(app, "m-ok", channel="lms")
    await accepted(app, "m-bad", channel="lms")
    delivered = {"hookId": "s1", "requestId": "req-m-ok", "messageStatus": "COMPLETED", "resultCode": "1000"}
    failed = {"hookId": "s2", "requestId": "req-m-bad", "messageStatus": "FAILED", "resultCode": "3015"}
    dates = {"recipientSeq": 1, "requestDate": "2026-11-27 12:00:00.0", "receiveDate": "2026-11-27 12:00:04.0"}
    hooks = [delivered | dates | {"recipientGroupingKey": "m-ok"}, failed | dates | {"recipientGroupingKey": "m-bad"}]

    response = await client.post("/v1/callbacks/nhn", content=nhn_body("SMS", *hooks), headers=nhn_headers())

    assert response.json() == {"received": 2, "new": 2}
    assert (await status_of(app, "m-ok"))[0] is Status.DELIVERED
    assert (await status_of(app, "m-bad"))[0] is Status.FAILED


async def test_a_replayed_callback_is_answered_but_applied_once(client: Client, app: Litestar) -> None:
    await accepted(app, "m-1")
    body = nhn_body("KakaoTalk Bizmessage", kakao_hook("h1", "m-1"))

    first = await client.post("/v1/callbacks/nhn", content=body, headers=nhn_headers())
    await status_of(app, "m-1")
    again = await client.post("/v1/callbacks/nhn", content=body, headers=nhn_headers())
    status, reasons = await status_of(app, "m-1")

    assert (first.json(), again.json()) == ({"received": 1, "new": 1}, {"received": 1, "new": 0})
    assert status is Status.DELIVERED
    assert reasons.count("delivered: nhn 1000 success") == 1
    assert len((await app.state.store.get("m-1")).receipts) == 1


async def test_a_receipt_before_the_send_is_recorded_waits_for_it(client: Client, app: Litestar, clock: Clock) -> None:
    body = nhn_body("KakaoTalk Bizmessage", kakao_hook("h1", "m-1"))
    assert (await client.post("/v1/callbacks/nhn", content=body, headers=nhn_headers())).status_code == 200
    await app.state.dispatcher.duty(ReceiptApplier).run_once()  # no message yet: it waits

    await accepted(app, "m-1")
    clock.advance(1)
    status, _ = await status_of(app, "m-1")

    assert status is Status.DELIVERED


async def test_receipts_out_of_order_end_the_message_once(client: Client, app: Litestar) -> None:
    await accepted(app, "m-1", vendor="solapi")
    await client.post(f"/v1/callbacks/solapi/{SOLAPI_TOKEN}", json=[solapi_report("e2", "m-1", "4000")])
    await client.post(f"/v1/callbacks/solapi/{SOLAPI_TOKEN}", json=[solapi_report("e1", "m-1", "3000")])

    status, reasons = await status_of(app, "m-1")
    detail = await app.state.store.get("m-1")

    assert status is Status.DELIVERED
    assert reasons[-1].startswith("receipt after the message ended delivered, not applied: solapi 3000")
    assert [(r.receipt.code, r.state) for r in detail.receipts] == [("4000", "applied"), ("3000", "late")]


async def test_a_progress_report_then_the_final_one(client: Client, app: Litestar) -> None:
    await accepted(app, "m-1", vendor="solapi")
    reports = [solapi_report("e1", "m-1", "3000"), solapi_report("e2", "m-1", "4000")]

    response = await client.post(f"/v1/callbacks/solapi/{SOLAPI_TOKEN}", json=reports)
    status, reasons = await status_of(app, "m-1")

    assert response.json() == {"received": 2, "new": 2}
    assert status is Status.DELIVERED
    assert reasons[-2:] == ["in progress: solapi 3000 이통사로 접수 예정", "delivered: solapi 4000 수신완료"]


async def test_a_receipt_for_an_unknown_message_is_kept_not_lost(client: Client, app: Litestar, clock: Clock) -> None:
    response = await client.post(
        "/v1/callbacks/nhn", content=nhn_body("KakaoTalk Bizmessage", kakao_hook("h1", "nobody")), headers=nhn_headers()
    )
    applier = app.state.dispatcher.duty(ReceiptApplier)
    await applier.run_once()

    assert response.status_code == 200
    clock.advance(3 * 86400 + 1)
    [pending] = await app.state.store.claim_receipts(now=clock(), limit=10, lease=0)
    assert (pending.state, pending.receipt.correlation_id, pending.tries) == ("pending", "nobody", 1)
    await applier.run_once()
    assert await nothing_stored(app)  # settled as unmatched: kept, no longer tried


async def test_a_receipt_without_our_id_matches_by_the_vendor_message_id(client: Client, app: Litestar) -> None:
    await accepted(app, "m-1")
    hook = kakao_hook("h1", None, request_id="req-m-1")

    await client.post("/v1/callbacks/nhn", content=nhn_body("KakaoTalk Bizmessage", hook), headers=nhn_headers())

    assert (await status_of(app, "m-1"))[0] is Status.DELIVERED


async def test_a_mixed_solapi_batch_applies_the_good_reports_and_drops_the_malformed_ones(
    client: Client, app: Litestar
) -> None:
    await accepted(app, "m-1", vendor="solapi")
    await accepted(app, "m-2", vendor="solapi")
    no_event_id = {k: v for k, v in solapi_report("e9", "m-9").items() if k != "eventDataId"}
    no_status = solapi_report("e8", "m-8")
    del no_status["data"]["statusCode"]
    reports = [solapi_report("e1", "m-1"), no_event_id, no_status, "not a report", solapi_report("e2", "m-2", "3104")]

    response = await client.post(f"/v1/callbacks/solapi/{SOLAPI_TOKEN}", json=reports)

    # 200: Solapi resends a whole body on anything else, and the good reports are stored now.
    assert response.status_code == 200
    assert response.json() == {"received": 2, "new": 2, "malformed": 3}
    assert (await status_of(app, "m-1"))[0] is Status.DELIVERED
    assert (await status_of(app, "m-2"))[0] is Status.FAILED
    metric = 'gateway_receipts_total{outcome="malformed",vendor="solapi"}'
    assert metric in (await client.get("/metrics")).text


@pytest.mark.parametrize("token", ["wrong-token-0123456789", SOLAPI_TOKEN[:-1]])
async def test_solapi_with_a_wrong_path_token_is_404_and_stores_nothing(
    client: Client, app: Litestar, token: str
) -> None:
    response = await client.post(f"/v1/callbacks/solapi/{token}", json=[solapi_report("e1", "m-1")])

    assert response.status_code == 404
    assert await nothing_stored(app)


async def test_sendgrid_events_signed_correctly_end_the_email(client: Client, app: Litestar) -> None:
    await accepted(app, "m-1", channel="email", vendor="sendgrid")
    body = (
        _JSON.encode(
            [sendgrid_event("processed", "m-1", "ev1"), sendgrid_event("delivered", "m-1", "ev2", response="250 OK")]
        )
        + b"\r\n"
    )

    response = await client.post("/v1/callbacks/sendgrid", content=body, headers=signed(body))
    status, reasons = await status_of(app, "m-1")

    assert response.json() == {"received": 2, "new": 2}
    assert status is Status.DELIVERED
    assert reasons[-1] == "delivered: sendgrid delivered 250 OK"


async def test_a_sendgrid_bounce_fails_the_email_without_the_address(client: Client, app: Litestar) -> None:
    await accepted(app, "m-1", channel="email", vendor="sendgrid")
    body = _JSON.encode(
        [sendgrid_event("bounce", "m-1", "ev1", reason="550 5.1.1 jiwoo@example.com does not exist", type="bounce")]
    )

    await client.post("/v1/callbacks/sendgrid", content=body, headers=signed(body))
    status, reasons = await status_of(app, "m-1")

    assert status is Status.FAILED
    assert "jiwoo@example.com" not in reasons[-1]


async def test_a_sendgrid_retry_signed_hours_ago_is_taken_and_its_replay_applied_once(
    client: Client, app: Litestar
) -> None:
    await accepted(app, "m-1", vendor="sendgrid", channel="email")
    body = _JSON.encode([sendgrid_event("delivered", "m-1", "ev-old", timestamp=int(time.time()) - 20 * 3600)])
    headers = signed(body, at=time.time() - 20 * 3600)  # SendGrid retries for up to 24 h

    first = await client.post("/v1/callbacks/sendgrid", content=body, headers=headers)
    again = await client.post("/v1/callbacks/sendgrid", content=body, headers=headers)

    assert (first.status_code, first.json()) == (200, {"received": 1, "new": 1})
    assert (again.status_code, again.json()) == (200, {"received": 1, "new": 0})  # sg_event_id de-duplicates
    assert (await status_of(app, "m-1"))[0] is Status.DELIVERED


async def test_the_sendgrid_tolerance_is_a_setting(tmp_path: Path, clock: Clock) -> None:
    env = REAL_VENDORS | {"GATEWAY_SENDGRID_WEBHOOK_TOLERANCE": "600"}
    app = create_app(make_settings(tmp_path, **env), clock=clock, start_dispatcher=False)
    body = _JSON.encode([sendgrid_event("delivered", "m-1", "ev1")])
    async with AsyncTestClient(app) as client:
        old = await client.post("/v1/callbacks/sendgrid", content=body, headers=signed(body, at=time.time() - 3600))
        fresh = await client.post("/v1/callbacks/sendgrid", content=body, headers=signed(body))
    assert (old.status_code, fresh.status_code) == (401, 200)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signed(body, key=OTHER_KEY), id="another key"),
        pytest.param(lambda body: signed(body + b" "), id="another body"),
        pytest.param(lambda body: signed(body, at=time.time() - 26 * 3600), id="older than a day and an hour"),
        pytest.param(lambda body: {"Content-Type": "application/json"}, id="unsigned"),
    ],
)
async def test_sendgrid_events_not_signed_by_sendgrid_now_are_401(client: Client, app: Litestar, headers: Any) -> None:
    body = _JSON.encode([sendgrid_event("delivered", "m-1", "ev1")])

    response = await client.post("/v1/callbacks/sendgrid", content=body, headers=headers(body))

    assert response.status_code == 401
    assert await nothing_stored(app)


def _deep(levels: int) -> bytes:
    return b'{"a": ' + b"[" * levels + b"]" * levels + b"}"


# Each vendor's route, how a body is authenticated for it, and a valid body to spoil.
_ROUTES: dict[str, tuple[str, Any, bytes]] = {
    "nhn": ("/v1/callbacks/nhn", lambda body: nhn_headers(), nhn_body("KakaoTalk Bizmessage", kakao_hook("h1", "m-1"))),
    "solapi": (
        f"/v1/callbacks/solapi/{SOLAPI_TOKEN}",
        lambda body: {"Content-Type": "application/json"},
        _JSON.encode([solapi_report("e1", "m-1")]),
    ),
    "sendgrid": ("/v1/callbacks/sendgrid", signed, _JSON.encode([sendgrid_event("delivered", "m-1", "ev1")])),
}
# Authenticated but unreadable bodies, by what spoils them (the valid body is spoiled where a lambda is given).
_HOSTILE: dict[str, Any] = {
    "not json": b"{not json",
    "empty": b"",
    "a bare number": b"1",
    "invalid utf-8": b"\xff\xfe[]",
    "nul bytes": b"\x00\x00",
    "a number too large": b'[{"a": 1e999999}]',
    "wrong shape": b'{"eventDataId": "e1"}',
    "nested 33 levels": _deep(32),
    "nested 10,000 levels": _deep(10_000),
    "nested deep inside a valid body": lambda body: body[:-1] + b', "x": ' + _deep(2_000) + body[-1:],
    "a key twice": lambda body: body.replace(b"{", b'{"x": 1, "x": 2, ', 1),
}
# SendGrid and Solapi resend whatever is not answered 2xx (200 for Solapi): a poison body is answered 200 and
# dropped, or it would come back for a day. NHN documents no retries: the plain 400.
_UNREADABLE_STATUS = {"nhn": 400, "solapi": 200, "sendgrid": 200}


@pytest.mark.parametrize("spoil", list(_HOSTILE.values()), ids=list(_HOSTILE))
@pytest.mark.parametrize("vendor", list(_ROUTES))
async def test_an_unreadable_callback_stores_nothing_and_is_not_sent_again(
    client: Client, app: Litestar, vendor: str, spoil: Any
) -> None:
    path, authenticate, valid = _ROUTES[vendor]
    body = spoil(valid) if callable(spoil) else spoil

    response = await client.post(path, content=body, headers=authenticate(body))

    assert response.status_code == _UNREADABLE_STATUS[vendor], response.text
    if response.status_code == 200:
        assert response.json()["received"] == 0
        assert response.json()["refused"].startswith("The callback body cannot be read")
    else:
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await nothing_stored(app)


async def test_a_callback_nested_too_deep_is_refused_naming_the_limit(client: Client) -> None:
    response = await client.post("/v1/callbacks/nhn", content=_deep(1_000), headers=nhn_headers())

    assert response.status_code == 400
    assert "more than 32 levels deep" in response.json()["detail"]


async def test_a_valid_callback_body_passes_the_depth_and_key_checks(client: Client, app: Litestar) -> None:
    await accepted(app, "m-1", channel="email", vendor="sendgrid")
    body = _JSON.encode([sendgrid_event("delivered", "m-1", "ev1", category=["a", {"b": [1]}])])

    response = await client.post("/v1/callbacks/sendgrid", content=body, headers=signed(body))

    assert response.json() == {"received": 1, "new": 1}


async def test_a_body_over_the_callback_limit_is_413(client: Client, app: Litestar) -> None:
    hooks = [kakao_hook(f"h{n}", f"m-{n}") for n in range(200)]

    response = await client.post(
        "/v1/callbacks/nhn", content=nhn_body("KakaoTalk Bizmessage", *hooks), headers=nhn_headers()
    )

    assert response.status_code == 413
    assert await nothing_stored(app)


async def test_without_configured_secrets_every_callback_is_refused(tmp_path: Path, clock: Clock) -> None:
    env = {k: v for k, v in REAL_VENDORS.items() if "WEBHOOK" not in k and "CALLBACK_TOKEN" not in k}
    app = create_app(make_settings(tmp_path, **env), clock=clock, start_dispatcher=False)
    body = nhn_body("KakaoTalk Bizmessage", kakao_hook("h1", "m-1"))
    async with AsyncTestClient(app) as client:
        nhn = await client.post("/v1/callbacks/nhn", content=body, headers=nhn_headers())
        solapi = await client.post("/v1/callbacks/solapi/anything", json=[])
        sendgrid = await client.post("/v1/callbacks/sendgrid", content=b"[]", headers=signed(b"[]"))

    assert (nhn.status_code, solapi.status_code, sendgrid.status_code) == (401, 404, 401)


async def test_callbacks_may_be_larger_than_a_braze_message(tmp_path: Path, clock: Clock) -> None:
    env = REAL_VENDORS | {"GATEWAY_CALLBACK_MAX_BODY_BYTES": str(1024 * 1024), "GATEWAY_MAX_BODY_BYTES": "65536"}
    app = create_app(make_settings(tmp_path, **env), clock=clock, start_dispatcher=False)
    body = nhn_body("KakaoTalk Bizmessage", *[kakao_hook(f"h{n}", f"m-{n}") for n in range(1000)])
    assert 256 * 1024 < len(body) < 1024 * 1024
    async with AsyncTestClient(app) as client:
        response = await client.post("/v1/callbacks/nhn", content=body, headers=nhn_headers())

    assert response.json() == {"received": 1000, "new": 1000}


async def test_a_configured_sendgrid_key_is_used_while_sendgrid_is_emulated(tmp_path: Path, clock: Clock) -> None:
    key = REAL_VENDORS["GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY"]
    settings = make_settings(tmp_path, GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY=key)
    app = create_app(settings, clock=clock, start_dispatcher=False)
    assert "sendgrid" in app.state.settings.emulated
    body = _JSON.encode([sendgrid_event("delivered", "m-1", "ev1")])
    async with AsyncTestClient(app) as client:
        response = await client.post("/v1/callbacks/sendgrid", content=body, headers=signed(body))
        other = await client.post("/v1/callbacks/sendgrid", content=body, headers=signed(body, key=OTHER_KEY))

    assert response.status_code == 200, response.text
    assert other.status_code == 401
