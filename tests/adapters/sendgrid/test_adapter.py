from __future__ import annotations

import base64

import httpx
import msgspec
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.base import VendorResponse, send
from adapters.batch import BatchAdapter, BatchItem, send_batch
from adapters.contract import Accepted, Outcome, Permanent, Retryable, Uncertain
from adapters.emulator import EmulatorTransport, Fault
from adapters.sendgrid.adapter import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SendGridAdapter,
    message_id_prefix,
    parse_callback,
    verify_signature,
)
from adapters.sendgrid.config import SendGridConfig
from adapters.sendgrid.emulator import SendGridEmulator
from gateway.models import OutboundMessage
from tests.adapters.batching import items

CONFIG = SendGridConfig(api_key="SG.key.secret", from_email="no-reply@wadiz.kr", from_name="와디즈")
NOW = 1_750_000_000.0
HTML = '<p>서포터님,</p><p>지금 가장 핫한 프로젝트는? <a href="https://www.wadiz.kr/web/campaign/detail/356850">보기</a></p>'
TEXT = "서포터님,\n지금 가장 핫한 프로젝트는? 보기: https://www.wadiz.kr/web/campaign/detail/356850"

# SendGrid's own Event Webhook test vector (sendgrid-python / -nodejs / -java / -csharp tests).
SG_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvF"
    "YPAZFceEu/1FwCM/QmGUhA=="
)
SG_OTHER_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj"
    "+y7GjUuFDb/R1NGe1OPzpA=="
)
SG_SIGNATURE = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
SG_BAD_SIGNATURE = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0="
SG_TIMESTAMP = "1588788367"
SG_PAYLOAD = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'


def email(**changes: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "channel": "email",
        "user_id": "u-20250610-0001",
        "email": "supporter@example.com",
        "subject": "지금 가장 핫한 프로젝트",
        "content": HTML,
        "text": TEXT,
    }
    return OutboundMessage(**{**fields, **changes})  # type: ignore[arg-type]


def adapter(config: SendGridConfig = CONFIG) -> SendGridAdapter:
    return SendGridAdapter(config, clock=lambda: NOW)


def test_html_email_request_matches_sendgrid_mail_send_shape() -> None:
    request = adapter().build(email(), "gw-1")

    assert request.method == "POST"
    assert request.url == "https://api.sendgrid.com/v3/mail/send"
    assert request.headers == {"Authorization": "Bearer SG.key.secret", "Content-Type": "application/json"}
    assert request.secret_headers == ("Authorization",)
    assert request.json == {
        "personalizations": [{"to": [{"email": "supporter@example.com"}], "custom_args": {"gateway_id": "gw-1"}}],
        "from": {"email": "no-reply@wadiz.kr", "name": "와디즈"},
        "subject": "지금 가장 핫한 프로젝트",
        "content": [{"type": "text/plain", "value": TEXT}, {"type": "text/html", "value": HTML}],
    }


def test_only_our_id_goes_into_non_personal_fields() -> None:
    body = adapter().build(email(), "gw-1").json

    assert body["personalizations"][0]["custom_args"] == {"gateway_id": "gw-1"}
    assert "categories" not in body
    assert "custom_args" not in body


def test_advertising_email_gets_sendgrid_s_unsubscribe_link_in_both_parts() -> None:
    request = adapter().build(email(ad=True, subject="(광고) 이번 주 추천"), "gw-1")

    assert request.json["subject"] == "(광고) 이번 주 추천"
    tracking = request.json["tracking_settings"]["subscription_tracking"]
    assert tracking["enable"] is True
    # <% %> is where SendGrid puts the link, in the text and in the HTML it appends.
    assert "<% %>" in tracking["text"]
    assert "<% [수신거부] %>" in tracking["html"]
    assert "Unsubscription" in tracking["html"]


def test_with_a_configured_unsubscribe_page_both_parts_link_to_it_instead() -> None:
    config = msgspec.structs.replace(CONFIG, unsubscribe_url="https://www.wadiz.kr/unsubscribe?u=1&c=2")
    request = adapter(config).build(email(ad=True, subject="(광고) 추천"), "gw-1")

    text, markup = (part["value"] for part in request.json["content"])
    assert "tracking_settings" not in request.json
    assert text.endswith("If you do not want to receive it, unsubscribe: https://www.wadiz.kr/unsubscribe?u=1&c=2")
    assert '<a href="https://www.wadiz.kr/unsubscribe?u=1&amp;c=2">[수신거부]</a>' in markup
    assert '<a href="https://www.wadiz.kr/unsubscribe?u=1&amp;c=2">[Unsubscription]</a>' in markup


def test_email_that_is_not_advertising_has_no_opt_out_link() -> None:
    config = msgspec.structs.replace(CONFIG, unsubscribe_url="https://www.wadiz.kr/unsubscribe")
    request = adapter(config).build(email(), "gw-1")

    assert "tracking_settings" not in request.json
    assert "unsubscribe" not in msgspec.json.encode(request.json["content"]).decode()


async def test_advertising_email_round_trip_through_the_emulator() -> None:
    sender = adapter()
    emulator = SendGridEmulator(CONFIG, clock=lambda: NOW)
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        result = await send(client, sender, sender.build(email(ad=True, subject="(광고) 추천"), "gw-ad"))

    assert isinstance(result.outcome, Accepted)


def test_sender_without_name_sends_only_the_address() -> None:
    config = SendGridConfig(api_key="k", from_email="no-reply@wadiz.kr")

    assert adapter(config).build(email(), "gw").json["from"] == {"email": "no-reply@wadiz.kr"}


def test_without_plain_text_only_the_html_part_is_sent() -> None:
    assert adapter().build(email(text=None), "gw").json["content"] == [{"type": "text/html", "value": HTML}]


def test_configured_url_is_used() -> None:
    config = SendGridConfig(url="http://sendgrid.test/", api_key="k", from_email="a@b.kr")

    assert adapter(config).build(email(), "gw").url == "http://sendgrid.test/v3/mail/send"


def test_stored_copy_redacts_the_key() -> None:
    stored = adapter().build(email(), "gw").redacted()

    assert stored["headers"]["Authorization"] == "[redacted]"


@pytest.mark.parametrize("change", [{"email": None}, {"subject": None}])
def test_email_without_address_or_subject_is_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="address and a subject"):
        adapter().build(email(**change), "gw")


def errors_body(*errors: tuple[str | None, str]) -> bytes:
    return msgspec.json.encode({"errors": [{"field": f, "message": m, "help": None} for f, m in errors]})


def test_202_is_accepted_with_the_x_message_id() -> None:
    outcome = adapter().classify(VendorResponse(202, {"X-Message-Id": "LRzXl_NHStOGhQ4kofSm_A"}, b""))

    assert outcome == Accepted("LRzXl_NHStOGhQ4kofSm_A", detail="queued (202)")


def test_400_is_permanent_and_names_every_field() -> None:
    body = errors_body(
        ("subject", "The subject is required."), ("from.email", "The from email does not contain a valid address.")
    )

    outcome = adapter().classify(VendorResponse(400, {}, body))

    assert outcome == Permanent(
        "http_400", "subject: The subject is required.; from.email: The from email does not contain a valid address."
    )


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "The provided authorization grant is invalid, expired, or revoked"),
        (403, "The from address does not match a verified Sender Identity."),
        (413, "The JSON payload you have included in your request is too large."),
    ],
)
def test_auth_sender_and_size_errors_are_permanent(status: int, message: str) -> None:
    outcome = adapter().classify(VendorResponse(status, {}, errors_body((None, message))))

    assert outcome == Permanent(f"http_{status}", message)


def test_error_details_never_keep_an_address() -> None:
    body = errors_body(("personalizations.0.to.0.email", "supporter@example.com is not a valid address"))

    outcome = adapter().classify(VendorResponse(400, {}, body))

    assert isinstance(outcome, Permanent)
    assert "supporter@example.com" not in outcome.detail


def test_429_waits_until_the_rate_limit_resets() -> None:
    headers = {"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 42)}

    outcome = adapter().classify(VendorResponse(429, headers, errors_body((None, "too many requests"))))

    assert outcome == Retryable("http_429", "too many requests", retry_after=42.0)


def test_429_without_reset_header_honours_retry_after() -> None:
    outcome = adapter().classify(VendorResponse(429, {"retry-after": "5"}, errors_body((None, "too many requests"))))

    assert outcome == Retryable("http_429", "too many requests", retry_after=5.0)


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(status: int) -> None:
    outcome = adapter().classify(VendorResponse(status, {}, b"<html>Bad Gateway</html>"))

    assert outcome == Retryable(f"http_{status}", "<html>Bad Gateway</html>")


def test_official_signature_vector_verifies() -> None:
    assert verify_signature(SG_PUBLIC_KEY, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD, now=int(SG_TIMESTAMP) + 5)


@pytest.mark.parametrize(
    ("key", "signature", "timestamp", "payload"),
    [
        (SG_OTHER_KEY, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD),
        (SG_PUBLIC_KEY, SG_BAD_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD),
        (SG_PUBLIC_KEY, SG_SIGNATURE, SG_TIMESTAMP, b"payload"),
        (SG_PUBLIC_KEY, SG_SIGNATURE, "timestamp", SG_PAYLOAD),
        (SG_PUBLIC_KEY, "not base64!", SG_TIMESTAMP, SG_PAYLOAD),
        ("-----BEGIN PUBLIC KEY-----", SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD),
        (base64.b64encode(b"not a key").decode(), SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD),
    ],
)
def test_tampered_or_malformed_calls_do_not_verify(key: str, signature: str, timestamp: str, payload: bytes) -> None:
    assert not verify_signature(key, signature, timestamp, payload, now=int(SG_TIMESTAMP))


@pytest.mark.parametrize("offset", [601, -601])
def test_stale_or_future_timestamps_do_not_verify(offset: int) -> None:
    assert not verify_signature(SG_PUBLIC_KEY, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD, now=int(SG_TIMESTAMP) + offset)


def test_max_age_is_configurable() -> None:
    later = int(SG_TIMESTAMP) + 3600

    assert verify_signature(SG_PUBLIC_KEY, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD, now=later, max_age=7200)


def test_keys_on_another_curve_are_refused() -> None:
    private = ec.generate_private_key(ec.SECP384R1())
    der = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    signature = private.sign(SG_TIMESTAMP.encode() + SG_PAYLOAD, ec.ECDSA(hashes.SHA256()))

    assert not verify_signature(
        base64.b64encode(der).decode(),
        base64.b64encode(signature).decode(),
        SG_TIMESTAMP,
        SG_PAYLOAD,
        now=int(SG_TIMESTAMP),
    )


def event(name: str, event_id: str, **extra: object) -> dict[str, object]:
    """An Event Webhook event as SendGrid posts it, with our custom arg flattened in."""
    return {
        "email": "supporter@example.com",
        "timestamp": 1_600_112_492,
        "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
        "event": name,
        "sg_event_id": event_id,
        "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
        "gateway_id": "gw-1",
        **extra,
    }


def test_callback_maps_each_event_to_its_outcome() -> None:
    body = [
        event("processed", "e1"),
        event("deferred", "e2", response="421 try again later", attempt="1"),
        event("delivered", "e3", response="250 OK"),
        event("bounce", "e4", type="bounce", status="5.1.1", reason="550 5.1.1 user unknown"),
        event("bounce", "e5", type="blocked", status="5.7.1", reason="550 5.7.1 blocked"),
        event("dropped", "e6", reason="Bounced Address"),
        event("blocked", "e7", reason="blocked by receiver"),
        event("open", "e8", useragent="Mozilla/5.0"),
    ]

    receipts = parse_callback(msgspec.json.encode(body) + b"\r\n")

    assert [(r.event_id, r.outcome, r.code) for r in receipts] == [
        ("e1", "progress", "processed"),
        ("e2", "progress", "deferred"),
        ("e3", "delivered", "delivered"),
        ("e4", "failed", "bounce"),
        ("e5", "failed", "blocked"),
        ("e6", "failed", "dropped"),
        ("e7", "failed", "blocked"),
        ("e8", "progress", "open"),
    ]
    assert [r.detail for r in receipts[1:4]] == ["421 try again later", "250 OK", "550 5.1.1 user unknown"]


def test_callback_correlates_by_custom_arg_and_message_id_prefix() -> None:
    (receipt,) = parse_callback(
        msgspec.json.encode([event("dropped", "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA")])
    )

    assert receipt.vendor == "sendgrid"
    assert receipt.event_id == "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA"
    assert receipt.correlation_id == "gw-1"
    assert receipt.vendor_message_id == "LRzXl_NHStOGhQ4kofSm_A"
    assert receipt.occurred_at == 1_600_112_492.0


def test_message_id_prefix_of_a_plain_id_is_itself() -> None:
    assert message_id_prefix("LRzXl_NHStOGhQ4kofSm_A") == "LRzXl_NHStOGhQ4kofSm_A"


def test_receipts_never_keep_the_address() -> None:
    body = [event("bounce", "e1", reason="550 5.1.1 <supporter@example.com>: Recipient address rejected")]

    (receipt,) = parse_callback(msgspec.json.encode(body))

    assert "supporter@example.com" not in repr(receipt)


def test_event_without_our_custom_arg_is_kept_uncorrelated() -> None:
    raw = event("delivered", "e1")
    del raw["gateway_id"]

    (receipt,) = parse_callback(msgspec.json.encode([raw]))

    assert receipt.correlation_id is None


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'{"event": "delivered", "sg_event_id": "e1"}', b'[{"event": "delivered"}]', b"[1]"],
)
def test_malformed_callback_raises_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="SendGrid"):
        parse_callback(body)


@pytest.fixture
def emulator() -> SendGridEmulator:
    return SendGridEmulator(CONFIG, clock=lambda: NOW)


async def deliver(emulator: SendGridEmulator, attempts: int = 1) -> list[Outcome]:
    """Send the same email ``attempts`` times through the emulator, building each attempt anew."""
    sender = adapter()
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        return [(await send(client, sender, sender.build(email(), "gw-rt"))).outcome for _ in range(attempts)]


async def test_round_trip_accepted_then_signed_delivered_event(emulator: SendGridEmulator) -> None:
    (outcome,) = await deliver(emulator)

    assert isinstance(outcome, Accepted)
    (callback,) = emulator.pending_callbacks()
    assert callback.path == "sendgrid"
    headers = callback.headers
    assert verify_signature(
        emulator.public_key, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER], callback.body, now=NOW
    )
    receipts = parse_callback(callback.body)
    assert [r.outcome for r in receipts] == ["progress", "delivered"]
    assert {r.correlation_id for r in receipts} == {"gw-rt"}
    assert {r.vendor_message_id for r in receipts} == {outcome.vendor_message_id}


async def test_round_trip_503_twice_then_success(emulator: SendGridEmulator) -> None:
    emulator.script(Fault(http_status=503), Fault(http_status=503))

    outcomes = await deliver(emulator, attempts=3)

    assert outcomes[:2] == [Retryable("http_503", "service unavailable")] * 2
    assert isinstance(outcomes[2], Accepted)


async def test_round_trip_429_waits_for_the_reset(emulator: SendGridEmulator) -> None:
    emulator.script(Fault(http_status=429, retry_after=30))

    outcomes = await deliver(emulator)

    assert outcomes[0] == Retryable("http_429", "too many requests", retry_after=30.0)


async def test_round_trip_read_timeout_is_uncertain(emulator: SendGridEmulator) -> None:
    emulator.script(Fault(timeout=True))

    outcomes = await deliver(emulator)

    assert outcomes[0] == Uncertain("timeout", "ReadTimeout after sending")


async def test_round_trip_vendor_error_is_permanent(emulator: SendGridEmulator) -> None:
    emulator.script(Fault(vendor_code="personalizations.0.to.0.email"))

    outcomes = await deliver(emulator)

    assert isinstance(outcomes[0], Permanent)
    assert outcomes[0].code == "http_400"


async def test_round_trip_bounce_reports_failed(emulator: SendGridEmulator) -> None:
    emulator.outcomes["supporter@example.com"] = "bounce"
    await deliver(emulator)

    receipts = parse_callback(emulator.pending_callbacks()[0].body)

    assert [(r.outcome, r.code) for r in receipts] == [("progress", "processed"), ("failed", "bounce")]


THREE = items(email(email="a@example.com"), email(email="b@example.com"), email(email="c@example.com"))


def test_a_batch_is_one_mail_with_a_personalization_per_message_in_order() -> None:
    request = adapter().build_batch(THREE)

    single = adapter().build(email(), "gw-1").json
    assert {k: v for k, v in request.json.items() if k != "personalizations"} == {
        k: v for k, v in single.items() if k != "personalizations"
    }
    assert request.json["personalizations"] == [
        {"to": [{"email": f"{name}@example.com"}], "custom_args": {"gateway_id": f"gw-{i}"}}
        for i, name in enumerate("abc", 1)
    ]


def test_a_single_send_is_the_one_message_batch() -> None:
    assert adapter().build(email(), "gw-1") == adapter().build_batch(
        [BatchItem(message=email(), message_id="gw-1", send_key="gw-1")]
    )


def test_messages_batch_only_with_one_mail() -> None:
    key = adapter().batch_key(email())

    assert adapter().batch_key(email(email="other@example.com", user_id="u-2")) == key
    assert adapter().batch_key(email(subject="다른 제목")) != key
    assert adapter().batch_key(email(content="<p>다른</p>")) != key
    assert adapter().batch_key(email(text=None)) != key
    assert adapter().batch_key(email(ad=True)) != key
    assert adapter().batch_key(email(email=None)) is None
    assert SendGridAdapter.max_batch == 1000
    assert isinstance(adapter(), BatchAdapter)
    with pytest.raises(ValueError, match="one mail"):
        adapter().build_batch(items(email(), email(email="other@example.com", subject="다른 제목")))


def test_one_address_twice_is_one_recipient_and_refused_in_one_request_as_sendgrid_refuses_it() -> None:
    twice = items(email(), email(email="Other@example.com"), email(email="SUPPORTER@example.com"))

    keys = [adapter().recipient_key(item.message) for item in twice]
    assert keys[0] == keys[2] != keys[1]  # addresses compared as SendGrid does, case aside
    with pytest.raises(ValueError, match="each address once"):
        adapter().build_batch(twice)


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (VendorResponse(202, {"X-Message-Id": "m-1"}, b""), Accepted),
        (VendorResponse(429, {"X-RateLimit-Reset": str(int(NOW) + 5)}, b""), Retryable),
        (VendorResponse(400, {}, errors_body(("subject", "bad"))), Permanent),
    ],
)
def test_sendgrid_answers_for_the_whole_request_so_every_message_gets_its_outcome(
    response: VendorResponse, kind: type
) -> None:
    outcomes = adapter().classify_batch(response, THREE)

    assert outcomes == [adapter().classify(response)] * 3
    assert isinstance(outcomes[0], kind)


async def test_round_trip_batch_each_message_reported_by_its_own_events(emulator: SendGridEmulator) -> None:
    emulator.outcomes["b@example.com"] = "bounce"
    sender = adapter()
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        result = await send_batch(client, sender, sender.build_batch(THREE), THREE)

    (outcome,) = set(result.outcomes)
    assert isinstance(outcome, Accepted)
    receipts = [r for r in parse_callback(emulator.pending_callbacks()[0].body) if r.outcome != "progress"]
    assert {(r.correlation_id, r.outcome) for r in receipts} == {
        ("gw-1", "delivered"),
        ("gw-2", "failed"),
        ("gw-3", "delivered"),
    }
    assert {r.vendor_message_id for r in receipts} == {outcome.vendor_message_id}


async def test_round_trip_more_than_1000_personalizations_are_refused(emulator: SendGridEmulator) -> None:
    sender = adapter()
    batch = [
        BatchItem(message=email(email=f"u{i}@example.com"), message_id=f"gw-{i}", send_key=f"k-{i}")
        for i in range(1001)
    ]
    async with httpx.AsyncClient(transport=EmulatorTransport([emulator])) as client:
        result = await send_batch(client, sender, sender.build_batch(batch), batch)

    (outcome,) = set(result.outcomes)
    assert isinstance(outcome, Permanent)
    assert "limited to 1000 personalizations" in outcome.detail
