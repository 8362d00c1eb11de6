"""NHN Cloud's three products and their connection settings (built from ``GATEWAY_NHN_*`` by the package's spec)."""

from __future__ import annotations

import msgspec

#: The products' production base URLs (``GATEWAY_NHN_<PRODUCT>_URL`` overrides them).
NHN_KAKAO_URL = "https://kakaotalk-bizmessage.api.nhncloudservice.com"
NHN_SMS_URL = "https://sms.api.nhncloudservice.com"
NHN_EMAIL_URL = "https://email.api.nhncloudservice.com"

__all__ = (
    "NHN_EMAIL_URL",
    "NHN_KAKAO_URL",
    "NHN_SMS_URL",
    "NhnEmailConfig",
    "NhnKakaoConfig",
    "NhnSmsConfig",
)


class NhnKakaoConfig(msgspec.Struct, frozen=True, kw_only=True):
    """NHN Cloud KakaoTalk Bizmessage."""

    url: str = NHN_KAKAO_URL
    appkey: str
    secret: str
    sender_key: str


class NhnSmsConfig(msgspec.Struct, frozen=True, kw_only=True):
    """NHN Cloud SMS v3.0; ``send_no`` is the registered sender number."""

    url: str = NHN_SMS_URL
    appkey: str
    secret: str
    send_no: str


class NhnEmailConfig(msgspec.Struct, frozen=True, kw_only=True):
    """NHN Cloud Email v2.1."""

    url: str = NHN_EMAIL_URL
    appkey: str
    secret: str
    sender_address: str
    sender_name: str | None = None
