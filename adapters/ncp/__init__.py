"""Naver Cloud SENS: LMS through the SMS API v2; results are polled, since SENS calls nobody back for SMS.

Requests are signed with ``x-ncp-apigw-signature-v2`` (docs/vendors.md, "Naver Cloud SENS").
"""

from __future__ import annotations

from collections.abc import Mapping

from adapters.base import Adapter
from adapters.contract import OUTCOME_REASONS, Channel, Reason, ReceiptOutcome
from adapters.ncp.adapter import CODE_TEXT, NcpLmsAdapter, result_poll
from adapters.ncp.config import NCP_URL, NcpConfig
from adapters.ncp.emulator import NcpEmulator
from adapters.spec import Poll, Product, ProductEnv, VendorSpec

__all__ = ("SPEC",)

_KEYS = ("GATEWAY_NCP_ACCESS_KEY", "GATEWAY_NCP_SECRET_KEY", "GATEWAY_NCP_SERVICE_ID")


def _load(env: ProductEnv, url: str) -> NcpConfig | None:
    access_key, secret_key, service_id, send_no = (env.need(name) for name in (*_KEYS, "GATEWAY_SMS_SENDER_NO"))
    if not (access_key and secret_key and service_id and send_no):
        return None
    return NcpConfig(url=url, access_key=access_key, secret_key=secret_key, service_id=service_id, send_no=send_no)


def _senders(config: NcpConfig) -> Mapping[Channel, Adapter]:
    return {"lms": NcpLmsAdapter(config)}


def _poll(config: NcpConfig) -> Poll:
    return result_poll(config)


def _reason(channel: Channel, outcome: ReceiptOutcome, code: str | None) -> Reason:
    """SENS publishes no result-code table: a failure is only that."""
    return OUTCOME_REASONS.get(outcome, Reason.OTHER)


SPEC = VendorSpec(
    title="Naver Cloud SENS",
    name="ncp",
    products=(
        Product(
            name="ncp",
            channels=("lms",),
            credentials=_KEYS,
            needs={"lms": ("GATEWAY_SMS_SENDER_NO",)},
            default_url=NCP_URL,
            load=_load,
            senders=_senders,
            emulator=lambda config, outcomes: NcpEmulator(config, outcomes=outcomes),
            code_text=CODE_TEXT,
            poll=_poll,
            poll_interval=("GATEWAY_NCP_POLL_INTERVAL", 60.0),
        ),
    ),
    reason=_reason,
)
