from __future__ import annotations

import re

import httpx
import msgspec

from adapters.nhn.emulator_common import NhnError, error_body, nhn_id, webhook


def test_ids_look_like_nhns_and_differ() -> None:
    ids = {nhn_id() for _ in range(100)}

    assert len(ids) == 100
    assert all(re.fullmatch(r"20\d{12}[A-Za-z0-9]{10}0", i) for i in ids)


def test_error_envelope() -> None:
    assert error_body(-2019, "RecipientNo is invalid.") == {
        "header": {"resultCode": -2019, "resultMessage": "RecipientNo is invalid.", "isSuccessful": False}
    }


def test_refusal_becomes_nhns_answer() -> None:
    request = httpx.Request("POST", "https://sms.api.nhncloudservice.com/x")

    response = NhnError(-9998, "Not exist API.", http_status=404).response(request)

    assert response.status_code == 404
    assert msgspec.json.decode(response.content) == error_body(-9998, "Not exist API.")


def test_webhook_calls_hold_at_most_100_hooks_each() -> None:
    hooks = [{"hookId": str(i)} for i in range(250)]

    calls = webhook("SMS", "appkey", hooks, "sig")

    bodies = [msgspec.json.decode(call.body) for call in calls]
    assert [len(b["hooks"]) for b in bodies] == [100, 100, 50]
    assert [h["hookId"] for b in bodies for h in b["hooks"]] == [str(i) for i in range(250)]
    assert len({b["hooksId"] for b in bodies}) == 3
    assert all(call.headers["X-Toast-Webhook-Signature"] == "sig" for call in calls)


def test_no_hooks_no_calls() -> None:
    assert webhook("SMS", "appkey", [], "sig") == []
