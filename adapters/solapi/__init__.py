"""Solapi: kakao brand messages (``BMS_FREE``) and LMS through one API key; reports come to a secret URL.

Solapi signs nothing on its reports, so the callback path carries a secret token (docs/vendors.md, "Solapi"). A kakao
image from any URL is uploaded to Solapi's storage first (:mod:`adapters.solapi.images`).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from adapters.base import Adapter
from adapters.contract import OUTCOME_REASONS, Channel, Reason, ReceiptOutcome
from adapters.solapi.adapter import (
    CODE_TEXT,
    SolapiKakaoAdapter,
    SolapiLmsAdapter,
    parse_callback,
    reason,
    split_reports,
)
from adapters.solapi.config import SOLAPI_URL, SolapiConfig
from adapters.solapi.emulator import SolapiEmulator
from adapters.solapi.images import kakao_images
from adapters.solapi.lookup import solapi_lookup
from adapters.spec import Callback, CallbackRequest, Capabilities, Product, ProductEnv, VendorSpec

__all__ = ("SPEC",)

_KEYS = ("GATEWAY_SOLAPI_API_KEY", "GATEWAY_SOLAPI_API_SECRET")


def _load(env: ProductEnv, url: str) -> SolapiConfig | None:
    api_key, api_secret, send_no = (env.need(name) for name in (*_KEYS, "GATEWAY_SMS_SENDER_NO"))
    if not (api_key and api_secret and send_no):
        return None
    # Without a kakao channel id Solapi still sends LMS.
    pf_id = env.need("GATEWAY_SOLAPI_PF_ID") or ""
    return SolapiConfig(url=url, api_key=api_key, api_secret=api_secret, pf_id=pf_id, send_no=send_no)


def _senders(config: SolapiConfig) -> Mapping[Channel, Adapter]:
    senders: dict[Channel, Adapter] = {"lms": SolapiLmsAdapter(config)}
    if config.pf_id:
        senders["kakao"] = SolapiKakaoAdapter(config)
    return senders


def _token_matches(request: CallbackRequest, secret: str | None) -> bool:
    """The path token, compared in constant time; nothing configured matches nothing."""
    if not request.token or not secret:
        return False
    return hmac.compare_digest(request.token.encode(), secret.encode())


def _reason(channel: Channel, outcome: ReceiptOutcome, code: str | None) -> Reason:
    """Solapi's kakao and LMS status codes do not overlap, so the code alone says it."""
    return OUTCOME_REASONS.get(outcome) or reason(code)


SPEC = VendorSpec(
    title="Solapi",
    name="solapi",
    products=(
        Product(
            name="solapi",
            channels=("kakao", "lms"),
            credentials=_KEYS,
            needs={"kakao": ("GATEWAY_SOLAPI_PF_ID", "GATEWAY_SMS_SENDER_NO"), "lms": ("GATEWAY_SMS_SENDER_NO",)},
            default_url=SOLAPI_URL,
            load=_load,
            senders=_senders,
            emulator=lambda config, outcomes: SolapiEmulator(config, outcomes=outcomes),
            code_text=CODE_TEXT,
            lookup=solapi_lookup,
            kakao_images=kakao_images,
        ),
    ),
    reason=_reason,
    capabilities=Capabilities(kakao_images=True),
    callback=Callback(
        auth_variable="GATEWAY_SOLAPI_CALLBACK_TOKEN",
        products=frozenset({"solapi"}),
        summary="Solapi single-report webhook",
        authentic=_token_matches,
        parse=parse_callback,
        split=split_reports,
        resends=True,
        path_token=True,
    ),
)
