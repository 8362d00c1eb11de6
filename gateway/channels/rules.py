"""One entry point to the channel rules, so ingest applies the right ones for every channel."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.channels import email, kakao, lms
from gateway.channels.common import ButtonFields, RuleResult
from gateway.models import OutboundMessage
from gateway.normalise.policy import Policy

__all__ = ("apply_channel_rules",)


def apply_channel_rules(message: OutboundMessage, policy: Policy, fields: Sequence[ButtonFields] = ()) -> RuleResult:
    """Apply the rules of ``message.channel``.

    Args:
        message: A message whose fields are individually normalised.
        policy: Supplies the advertising LMS sender name and opt-out number.
        fields: The body keys of each button, for error messages.

    Returns:
        The final message and every rule it breaks.
    """
    if message.channel == "kakao":
        return RuleResult(message, tuple(kakao.check(message, fields)))
    if message.channel == "lms":
        return lms.apply(message, policy)
    return email.apply(message)
