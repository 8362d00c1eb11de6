"""Per-vendor connection settings, built by ``gateway.settings`` from the environment."""

from __future__ import annotations

import msgspec

#: The vendors' production base URLs (``GATEWAY_*_URL`` overrides them).
NHN_KAKAO_URL = "https://kakaotalk-bizmessage.api.nhncloudservice.com"
NHN_SMS_URL = "https://sms.api.nhncloudservice.com"
NHN_EMAIL_URL = "https://email.api.nhncloudservice.com"
SOLAPI_URL = "https://api.solapi.com"
SENDGRID_URL = "https://api.sendgrid.com"

__all__ = (
    "NHN_EMAIL_URL",
    "NHN_KAKAO_URL",
    "NHN_SMS_URL",
    "SENDGRID_URL",
    "SOLAPI_URL",
    "NhnEmailConfig",
    "NhnKakaoConfig",
    "NhnSmsConfig",
    "SendGridConfig",
    "SolapiConfig",
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


class SolapiConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Solapi; ``pf_id`` is the Kakao channel id, ``send_no`` the registered sender number."""

    url: str = SOLAPI_URL
    api_key: str
    api_secret: str
    pf_id: str
    send_no: str


class SendGridConfig(msgspec.Struct, frozen=True, kw_only=True):
    """SendGrid v3."""

    url: str = SENDGRID_URL
    api_key: str
    from_email: str
    from_name: str | None = None
