"""SendGrid: email through v3 ``mail/send``; delivery events arrive on the ECDSA-signed Event Webhook.

Emulated SendGrid signs its events with its own key pair, which the gateway then verifies with
(docs/vendors.md, "SendGrid").
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.base import Adapter, header_value
from adapters.contract import OUTCOME_REASONS, Channel, Reason, ReceiptOutcome
from adapters.emulator import Emulator
from adapters.sendgrid.adapter import (
    CODE_TEXT,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SendGridAdapter,
    parse_callback,
    reason,
    verify_signature,
)
from adapters.sendgrid.config import SENDGRID_URL, SendGridConfig
from adapters.sendgrid.emulator import SendGridEmulator
from adapters.spec import Callback, CallbackRequest, Product, ProductEnv, VendorSpec

__all__ = ("SPEC",)

_KEYS = ("GATEWAY_SENDGRID_API_KEY",)


def _load(env: ProductEnv, url: str) -> SendGridConfig | None:
    api_key, sender = env.need("GATEWAY_SENDGRID_API_KEY"), env.need("GATEWAY_EMAIL_FROM")
    if not (api_key and sender):
        return None
    return SendGridConfig(
        url=url,
        api_key=api_key,
        from_email=sender,
        from_name=env.get("GATEWAY_SENDER_NAME"),
        unsubscribe_url=env.get("GATEWAY_EMAIL_UNSUBSCRIBE_URL"),
    )


def _senders(config: SendGridConfig) -> Mapping[Channel, Adapter]:
    return {"email": SendGridAdapter(config)}


#: SendGrid retries a failed post "for up to 24 hours" and documents neither a tolerance nor whether a retry is
#: signed anew (docs/vendors.md, "SendGrid"): a day and an hour, so no retry is refused; a replay within it is
#: harmless, since events are de-duplicated by ``sg_event_id``.
TOLERANCE = 25 * 3600.0


def _signed(request: CallbackRequest, public_key: str | None) -> bool:
    signature = header_value(request.headers, SIGNATURE_HEADER)
    timestamp = header_value(request.headers, TIMESTAMP_HEADER)
    if not (public_key and signature and timestamp):
        return False
    return verify_signature(
        public_key, signature, timestamp, request.body, now=request.now, max_age=request.tolerance or TOLERANCE
    )


def _emulator_key(emulator: Emulator) -> str:
    assert isinstance(emulator, SendGridEmulator)  # the registry builds this product's emulator from this spec
    return emulator.public_key


def _reason(channel: Channel, outcome: ReceiptOutcome, code: str | None) -> Reason:
    """SendGrid sends email only; its event name is the code."""
    return OUTCOME_REASONS.get(outcome) or reason(code)


SPEC = VendorSpec(
    title="SendGrid",
    name="sendgrid",
    products=(
        Product(
            name="sendgrid",
            channels=("email",),
            credentials=_KEYS,
            needs={"email": ("GATEWAY_EMAIL_FROM",)},
            default_url=SENDGRID_URL,
            load=_load,
            senders=_senders,
            emulator=lambda config, outcomes: SendGridEmulator(config, outcomes=outcomes),
            code_text=CODE_TEXT,
        ),
    ),
    reason=_reason,
    callback=Callback(
        auth_variable="GATEWAY_SENDGRID_WEBHOOK_PUBLIC_KEY",
        products=frozenset({"sendgrid"}),
        summary="SendGrid Event Webhook",
        authentic=_signed,
        parse=parse_callback,
        resends=True,
        emulator_key=_emulator_key,
        tolerance=("GATEWAY_SENDGRID_WEBHOOK_TOLERANCE", TOLERANCE),
    ),
)
