"""Each channel limit with the value a message measures against it, for the dry-run preview (issue 12).

The limits are the channel rules' own constants, so the preview and the 422 at ingest never disagree. Email has
no hard size limit at the vendors that a 256 KiB Braze body could reach; its check is Gmail's clipping of HTML
beyond 102 KB (``docs/marketer.md``), which is a warning: the message is sent, but Gmail shows a "view entire
message" link instead of its end.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from gateway.channels import kakao, lms
from gateway.channels.common import MAX_BUTTONS
from gateway.models import OutboundMessage

__all__ = ("GMAIL_CLIP_BYTES", "Check", "measure")

#: Gmail clips an HTML part larger than 102 KB (docs/marketer.md).
GMAIL_CLIP_BYTES = 102 * 1024


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One limit and what the message measures against it.

    Attributes:
        severity: ``error``: over the limit the gateway answers 422; ``warning``: sent, but not shown whole.
    """

    name: str
    value: int
    limit: int
    unit: str
    severity: Literal["error", "warning"] = "error"

    @property
    def ok(self) -> bool:
        return self.value <= self.limit


def measure(message: OutboundMessage) -> list[Check]:
    """The checks of ``message``'s channel, measured on the final (normalised) message."""
    if message.channel == "kakao":
        return _kakao(message)
    if message.channel == "lms":
        return _lms(message)
    return _email(message)


def _kakao(message: OutboundMessage) -> list[Check]:
    checks = [
        Check(name="content", value=len(message.content), limit=kakao.MAX_CHARACTERS, unit="characters"),
        Check(name="content", value=message.content.count("\n"), limit=kakao.MAX_LINE_BREAKS, unit="line breaks"),
        Check(name="buttons", value=len(message.buttons), limit=MAX_BUTTONS, unit="buttons"),
    ]
    for number, button in enumerate(message.buttons, start=1):
        checks.append(
            Check(name=f"button {number} name", value=len(button.name), limit=kakao.MAX_BUTTON_NAME, unit="characters")
        )
        longest = max(len(button.link_mobile), len(button.link_pc))
        checks.append(Check(name=f"button {number} link", value=longest, limit=kakao.MAX_LINK, unit="characters"))
    return checks


def _lms(message: OutboundMessage) -> list[Check]:
    subject = lms.cp949_bytes(message.subject or "")
    return [
        Check(name="subject", value=subject, limit=lms.MAX_SUBJECT_BYTES, unit="bytes (CP949)"),
        Check(name="content", value=lms.cp949_bytes(message.content), limit=lms.MAX_BODY_BYTES, unit="bytes (CP949)"),
    ]


def _email(message: OutboundMessage) -> list[Check]:
    size = len(message.content.encode())
    return [Check(name="html", value=size, limit=GMAIL_CLIP_BYTES, unit="bytes (UTF-8)", severity="warning")]
