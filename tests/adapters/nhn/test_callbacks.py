from __future__ import annotations

import msgspec
import pytest

from adapters.nhn.callbacks import parse_callback, verify_callback


def envelope(product: str, hooks: list[dict[str, object]]) -> bytes:
    return msgspec.json.encode(
        {"hooksId": "hs-1", "productName": product, "appKey": "k", "event": "MESSAGE_RESULT_UPDATE", "hooks": hooks}
    )


def test_bizmessage_hooks_are_read_with_kakao_codes() -> None:
    body = envelope("KakaoTalk Bizmessage", [{"hookId": "h-1", "resultCode": "3019", "recipientGroupingKey": "gw-1"}])

    [receipt] = parse_callback(body)

    assert (receipt.event_id, receipt.outcome, receipt.code, receipt.correlation_id) == (
        "h-1",
        "failed",
        "3019",
        "gw-1",
    )


def test_sms_hooks_are_read_with_carrier_codes() -> None:
    hook: dict[str, object] = {
        "hookId": "h-2",
        "messageStatus": "COMPLETED",
        "resultCode": "1000",
        "recipientGroupingKey": "gw-2",
    }

    [receipt] = parse_callback(envelope("SMS", [hook]))

    assert (receipt.event_id, receipt.outcome, receipt.correlation_id) == ("h-2", "delivered", "gw-2")


def test_a_product_without_receipts_is_refused() -> None:
    with pytest.raises(ValueError, match="'Email'"):
        parse_callback(envelope("Email", []))


@pytest.mark.parametrize("body", [b"", b"[1]", b'{"hooks": []}'])
def test_malformed_body_is_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match="malformed NHN webhook"):
        parse_callback(body)


def test_signature_check_is_shared_by_both_products() -> None:
    assert verify_callback({"X-Toast-Webhook-Signature": "sig"}, "sig")
    assert not verify_callback({"X-Toast-Webhook-Signature": "sig"}, "other")
