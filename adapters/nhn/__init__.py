"""NHN Cloud: KakaoTalk Bizmessage (kakao), SMS (LMS) and Email, each its own product with its own keys.

Bizmessage and SMS call back to one webhook URL signed with a static ``X-Toast-Webhook-Signature``; Email has no
delivery webhook, so its results are polled (docs/vendors.md, "NHN Cloud").
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.base import Adapter
from adapters.contract import Channel
from adapters.nhn import email, kakao, sms
from adapters.nhn.callbacks import parse_callback, product_of
from adapters.nhn.common import RESEND_AFTER, verify_callback
from adapters.nhn.config import NHN_EMAIL_URL, NHN_KAKAO_URL, NHN_SMS_URL, NhnEmailConfig, NhnKakaoConfig, NhnSmsConfig
from adapters.nhn.email import NhnEmailAdapter, result_poll
from adapters.nhn.emulator_email import NhnEmailEmulator
from adapters.nhn.emulator_kakao import NhnKakaoEmulator
from adapters.nhn.emulator_sms import NhnSmsEmulator
from adapters.nhn.images import kakao_images
from adapters.nhn.kakao import NhnKakaoAdapter
from adapters.nhn.lookup import email_lookup, kakao_lookup, sms_lookup
from adapters.nhn.reasons import reason
from adapters.nhn.sms import NhnSmsAdapter
from adapters.spec import Callback, CallbackRequest, Capabilities, Product, ProductEnv, VendorSpec

__all__ = ("SPEC",)

_KAKAO_KEYS = ("GATEWAY_NHN_KAKAO_APPKEY", "GATEWAY_NHN_KAKAO_SECRET", "GATEWAY_NHN_SENDER_KEY")
_SMS_KEYS = ("GATEWAY_NHN_SMS_APPKEY", "GATEWAY_NHN_SMS_SECRET")
_EMAIL_KEYS = ("GATEWAY_NHN_EMAIL_APPKEY", "GATEWAY_NHN_EMAIL_SECRET")


def _kakao(env: ProductEnv, url: str) -> NhnKakaoConfig | None:
    appkey, secret, sender_key = (env.need(name) for name in _KAKAO_KEYS)
    if not (appkey and secret and sender_key):
        return None
    return NhnKakaoConfig(url=url, appkey=appkey, secret=secret, sender_key=sender_key)


def _sms(env: ProductEnv, url: str) -> NhnSmsConfig | None:
    appkey, secret, send_no = (env.need(name) for name in (*_SMS_KEYS, "GATEWAY_SMS_SENDER_NO"))
    if not (appkey and secret and send_no):
        return None
    return NhnSmsConfig(url=url, appkey=appkey, secret=secret, send_no=send_no)


def _email(env: ProductEnv, url: str) -> NhnEmailConfig | None:
    appkey, secret, sender = (env.need(name) for name in (*_EMAIL_KEYS, "GATEWAY_EMAIL_FROM"))
    if not (appkey and secret and sender):
        return None
    return NhnEmailConfig(
        url=url, appkey=appkey, secret=secret, sender_address=sender, sender_name=env.get("GATEWAY_SENDER_NAME")
    )


def _kakao_senders(config: NhnKakaoConfig) -> Mapping[Channel, Adapter]:
    return {"kakao": NhnKakaoAdapter(config)}


def _sms_senders(config: NhnSmsConfig) -> Mapping[Channel, Adapter]:
    return {"lms": NhnSmsAdapter(config)}


def _email_senders(config: NhnEmailConfig) -> Mapping[Channel, Adapter]:
    return {"email": NhnEmailAdapter(config)}


def _signed(request: CallbackRequest, secret: str | None) -> bool:
    return verify_callback(request.headers, secret)


SPEC = VendorSpec(
    title="NHN Cloud",
    name="nhn",
    products=(
        Product(
            name="nhn_kakao",
            channels=("kakao",),
            credentials=_KAKAO_KEYS,
            default_url=NHN_KAKAO_URL,
            load=_kakao,
            senders=_kakao_senders,
            emulator=lambda config, outcomes: NhnKakaoEmulator(config, outcomes=dict(outcomes or {})),
            code_text=kakao.CODE_TEXT,
            lookup=kakao_lookup,
            kakao_images=kakao_images,
        ),
        Product(
            name="nhn_sms",
            channels=("lms",),
            credentials=_SMS_KEYS,
            needs={"lms": ("GATEWAY_SMS_SENDER_NO",)},
            default_url=NHN_SMS_URL,
            load=_sms,
            senders=_sms_senders,
            emulator=lambda config, outcomes: NhnSmsEmulator(config, outcomes=dict(outcomes or {})),
            code_text=sms.CODE_TEXT,
            lookup=sms_lookup,
        ),
        Product(
            name="nhn_email",
            channels=("email",),
            credentials=_EMAIL_KEYS,
            needs={"email": ("GATEWAY_EMAIL_FROM",)},
            default_url=NHN_EMAIL_URL,
            load=_email,
            senders=_email_senders,
            emulator=lambda config, outcomes: NhnEmailEmulator(config, outcomes=dict(outcomes or {})),
            code_text=email.CODE_TEXT,
            lookup=email_lookup,
            poll=result_poll,
            poll_interval=("GATEWAY_NHN_EMAIL_POLL_INTERVAL", 60.0),
        ),
    ),
    reason=reason,
    callback=Callback(
        auth_variable="GATEWAY_NHN_WEBHOOK_SIGNATURE",
        products=frozenset({"nhn_kakao", "nhn_sms"}),
        summary="NHN Cloud KakaoTalk Bizmessage and SMS webhooks",
        authentic=_signed,
        parse=parse_callback,
        # Each console has its own signature field (docs/vendors.md, "NHN Cloud").
        product_variables={
            "nhn_kakao": "GATEWAY_NHN_KAKAO_WEBHOOK_SIGNATURE",
            "nhn_sms": "GATEWAY_NHN_SMS_WEBHOOK_SIGNATURE",
        },
        product_of=product_of,
    ),
    # The kakao send key is NHN's idempotency key: a resend waits until NHN has forgotten the first one.
    capabilities=Capabilities(kakao_images=True, resend_after=RESEND_AFTER),
)
