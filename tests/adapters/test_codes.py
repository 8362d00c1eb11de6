"""Every vendor code an adapter acts on has a plain explanation for support staff."""

from __future__ import annotations

import pytest

from adapters.codes import explain_code
from adapters.nhn import email as nhn_email
from adapters.nhn import kakao as nhn_kakao
from adapters.nhn import sms as nhn_sms
from adapters.sendgrid import adapter as sendgrid
from adapters.solapi import adapter as solapi

# What each adapter decides on: fallbacks, retries, delivered and failed reports, and the codes it names.
_KNOWN = [
    *(("nhn", "kakao", code) for code in nhn_kakao.KAKAO_RESULT_TEXT),
    *(("nhn", "kakao", code) for code in nhn_kakao.KAKAO_UNDELIVERABLE | nhn_kakao.KAKAO_RETRY_LATER),
    *(("nhn", "kakao", str(code)) for code in nhn_kakao._RULES.retryable | nhn_kakao._RULES.duplicate),
    *(("nhn", "lms", str(code)) for code in nhn_sms._RULES.retryable),
    *(("nhn", "lms", code) for code in (*nhn_sms._FAILED_STATUSES, nhn_sms.CARRIER_DELIVERED, "-2023", "-2312")),
    *(("nhn", "email", code) for code in (*nhn_email.EMAIL_FAILED, nhn_email.EMAIL_DELIVERED, "SST0", "SST1")),
    *(("nhn", "email", str(code)) for code in nhn_email._RULES.retryable),
    *(("solapi", channel, code) for channel in ("kakao", "lms") for code in solapi._RETRYABLE_CODES),
    *(("solapi", "kakao", code) for code in (*solapi.SOLAPI_KAKAO_UNDELIVERABLE, *solapi._IN_PROGRESS, "4000")),
    *(("solapi", "lms", code) for code in ("1062", "1029", "1014", "4000")),
    *(("sendgrid", "email", code) for code in sendgrid._OUTCOMES),
]


@pytest.mark.parametrize(("vendor", "channel", "code"), _KNOWN)
def test_every_code_an_adapter_knows_is_explained_in_korean_and_english(vendor: str, channel: str, code: str) -> None:
    text = explain_code(vendor, channel, code)

    assert text is not None
    korean, english = text.split(" · ", 1)
    assert any("가" <= char <= "힣" for char in korean)
    assert english.isascii()


def test_the_same_code_means_what_its_vendor_says() -> None:
    assert "LMS" in (explain_code("nhn", "kakao", "3018") or "")
    assert explain_code("nhn", "lms", "3018") is None
    assert "emoji" in (explain_code("nhn", "lms", "-2023") or "")


def test_codes_the_adapters_make_up_are_explained_too() -> None:
    assert "HTTP 503" in (explain_code("sendgrid", "email", "http_503") or "")
    assert "HTTP 404" in (explain_code("nhn", "kakao", "http-404") or "")
    assert "could not be read" in (explain_code("nhn", "lms", "malformed-response") or "")
    assert explain_code("nhn", "kakao", None) is None
    assert explain_code("nhn", "kakao", "no-such-code") is None
