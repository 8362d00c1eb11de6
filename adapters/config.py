"""Per-vendor connection settings, built by ``gateway.settings`` from the environment."""

from __future__ import annotations

import msgspec

__all__ = ("NhnEmailConfig", "NhnKakaoConfig", "NhnSmsConfig", "SendGridConfig", "SolapiConfig")


class NhnKakaoConfig(msgspec.Struct, frozen=True, kw_only=True):
    """NHN Cloud KakaoTalk Bizmessage."""

    url: str = "https://kakaotalk-bizmessage.api.nhncloudservice.com"
    appkey: str
    secret: str
    sender_key: str


class NhnSmsConfig(msgspec.Struct, frozen=True, kw_only=True):
    """NHN Cloud SMS v3.0; ``send_no`` is the registered sender number."""

    url: str = "https://sms.api.nhncloudservice.com"
    appkey: str
    secret: str
    send_no: str


class NhnEmailConfig(msgspec.Struct, frozen=True, kw_only=True):
    """NHN Cloud Email v2.1."""

    url: str = "https://email.api.nhncloudservice.com"
    appkey: str
    secret: str
    sender_address: str
    sender_name: str | None = None


class SolapiConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Solapi; ``pf_id`` is the Kakao channel id, ``send_no`` the registered sender number."""

    url: str = "https://api.solapi.com"
    api_key: str
    api_secret: str
    pf_id: str
    send_no: str


class SendGridConfig(msgspec.Struct, frozen=True, kw_only=True):
    """SendGrid v3."""

    url: str = "https://api.sendgrid.com"
    api_key: str
    from_email: str
    from_name: str | None = None
