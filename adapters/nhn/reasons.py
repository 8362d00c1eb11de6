"""What NHN's result codes mean for a message, by product (docs/vendors.md, "NHN Cloud")."""

from __future__ import annotations

from adapters.contract import OUTCOME_REASONS, Channel, Reason, ReceiptOutcome
from adapters.nhn.email import email_reason
from adapters.nhn.kakao import kakao_reason
from adapters.nhn.sms import sms_reason

__all__ = ("reason",)


def reason(channel: Channel, outcome: ReceiptOutcome, code: str | None) -> Reason:
    """The reason of an NHN receipt of ``channel`` with ``outcome`` and NHN's ``code``."""
    by_channel = {"kakao": kakao_reason, "lms": sms_reason, "email": email_reason}[channel]
    return OUTCOME_REASONS.get(outcome) or by_channel(code)
