"""The dry-run preview of ``POST /v1/braze/messages`` (issue 12): what the gateway would send, sent nowhere.

A body with ``"dryRun": "true"`` (or the header ``Dry-Run: true``) is authenticated, validated and normalised
like any other; instead of being stored it is answered ``200`` with the normalised message, the vendor request
the adapter builds for it (credentials redacted, phone and email masked), every channel limit with its measured
value, what normalisation changed and when it would be sent. Braze's webhook composer shows this answer in its
"Test" tab, so a marketer sees the message before the campaign starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from adapters import registry
from adapters.base import Adapter
from gateway.api.masking import mask_contacts
from gateway.api.views import NormalisedView, masked_normalised_view
from gateway.channels.checks import Check, measure
from gateway.channels.lms import lms_from_kakao
from gateway.channels.quiet_hours import KST, quiet_until, quiet_window
from gateway.models import OutboundMessage
from gateway.normalise.changes import Change, describe_changes
from gateway.normalise.errors import FieldError
from gateway.normalise.policy import Policy
from gateway.normalise.unknown_keys import IgnoredField
from gateway.normalise.values import ValueReader

__all__ = (
    "PREVIEW_ID",
    "CheckView",
    "PreviewAnswer",
    "PreviewFallback",
    "ScheduleView",
    "VendorRequestView",
    "preview",
    "read_dry_run",
)

#: The message id a dry run puts in the vendor's correlation field: it is never stored, so it has no real id.
PREVIEW_ID = "dry-run"


class VendorRequestView(msgspec.Struct, kw_only=True):
    """The HTTP request the adapter builds: credentials redacted, phone numbers and emails masked."""

    method: str
    url: str
    headers: dict[str, str]
    body: Annotated[dict[str, Any], Meta(description="The JSON body exactly as it would be sent (masked).")]


class CheckView(msgspec.Struct, kw_only=True):
    """One channel limit and what this message measures against it."""

    name: Annotated[str, Meta(examples=["content"])]
    value: int
    limit: int
    unit: Annotated[str, Meta(examples=["characters", "line breaks", "bytes (CP949)"])]
    ok: bool
    severity: Annotated[
        Literal["error", "warning"],
        Meta(description="`error`: over the limit the message is refused (422); `warning`: sent but clipped."),
    ]


class ScheduleView(msgspec.Struct, kw_only=True):
    """When the message would go out if it were sent for real now."""

    action: Annotated[
        Literal["send", "hold", "suppress"],
        Meta(description="`send` now; `hold` until `at` (quiet hours); `suppress` (quiet hours, never sent)."),
    ]
    at: Annotated[str, Meta(description="ISO 8601 UTC: now, or when a held message would be sent.")]
    atKst: Annotated[str, Meta(examples=["2026-11-28 08:00 KST"])]
    reason: str


class PreviewFallback(msgspec.Struct, kw_only=True):
    """The LMS a kakao message would become if KakaoTalk cannot reach the user (``fallback: lms``)."""

    channel: str
    vendor: str
    normalised: NormalisedView
    vendorRequest: VendorRequestView
    checks: list[CheckView]


class PreviewAnswer(msgspec.Struct, kw_only=True):
    """A dry run: what would be sent, to whom (masked), through which vendor, within which limits, and when."""

    dryRun: Literal[True]
    channel: str
    vendor: str
    sandbox: Annotated[bool, Meta(description="The vendor is emulated here: a real send would not reach anyone.")]
    normalised: Annotated[NormalisedView, Meta(description="The normalised message, phone and email masked.")]
    vendorRequest: VendorRequestView
    checks: list[CheckView]
    changes: list[Change]
    schedule: ScheduleView
    fallback: PreviewFallback | None = None
    #: Body keys the gateway does not read (as a real send names them).
    ignoredFields: list[IgnoredField] = msgspec.field(default_factory=list)


def read_dry_run(header: str | None, body: Mapping[str, Any]) -> tuple[bool, list[FieldError]]:
    """Whether the ``Dry-Run`` header or the body's ``dryRun`` asks for a preview (yes/no values as Braze sends them).

    A value that is not yes/no is an error: a test meant as a dry run must never be taken for a real send.
    """
    reader = ValueReader()
    asked = [reader.flag("Dry-Run", header), reader.flag("dryRun", body.get("dryRun"))]
    return any(asked), reader.errors


def preview(
    body: Mapping[str, Any],
    message: OutboundMessage,
    *,
    vendor: str,
    adapters: Mapping[tuple[str, str], Adapter],
    policy: Policy,
    lms_vendor: str,
    emulated: bool,
    quiet_mode: Literal["hold", "suppress"],
    now: float,
    ignored: list[IgnoredField] | None = None,
) -> PreviewAnswer:
    """The preview of a normalised ``message`` that ``vendor`` would send.

    Args:
        body: The body as received (for what normalisation changed).
        message: The normalised message.
        vendor: Its vendor (configured for its channel: ingest checked).
        adapters: The configured adapters, which build the vendor requests.
        policy: Normalisation policy, for the fallback LMS and the default button name.
        lms_vendor: The vendor a kakao fallback LMS goes to.
        emulated: Whether ``vendor`` is emulated for this channel (sandbox mode).
        quiet_mode: ``GATEWAY_QUIET_HOURS``.
        now: The current POSIX time.
        ignored: The body keys the gateway does not read.
    """
    fallback = None
    if message.channel == "kakao" and message.fallback == "lms" and (lms_vendor, "lms") in adapters:
        lms = lms_from_kakao(message, policy)
        fallback = PreviewFallback(
            channel="lms",
            vendor=lms_vendor,
            normalised=masked_normalised_view(lms),
            vendorRequest=_request(adapters[(lms_vendor, "lms")], lms),
            checks=_checks(lms),
        )
    return PreviewAnswer(
        dryRun=True,
        channel=message.channel,
        vendor=vendor,
        sandbox=emulated,
        normalised=masked_normalised_view(message),
        vendorRequest=_request(adapters[(vendor, message.channel)], _with_upload_placeholder(message, vendor)),
        checks=_checks(message),
        changes=describe_changes(body, message, policy.default_button_name),
        schedule=_schedule(message, quiet_mode, now),
        fallback=fallback,
        ignoredFields=list(ignored or ()),
    )


def _with_upload_placeholder(message: OutboundMessage, vendor: str) -> OutboundMessage:
    """The message with its image as the vendor's upload will name it: a dry run fetches and uploads nothing.

    Where the vendor's kakao takes only images uploaded to it (docs/vendors.md, "Kakao images"), the request
    shows a placeholder in place of the vendor's image URL or id, naming the source image.
    """
    if message.channel != "kakao" or not message.image_url:
        return message
    product = registry.vendor(vendor).product_for("kakao")
    if product is None or product.kakao_images is None:
        return message
    placeholder = f"<{vendor}'s copy of {message.image_url}, uploaded when sent>"
    return msgspec.structs.replace(message, image_url=placeholder)


def _request(adapter: Adapter, message: OutboundMessage) -> VendorRequestView:
    """Ask the adapter for the request it would send (a pure build, no HTTP call), then mask it."""
    built = mask_contacts(adapter.build(message, PREVIEW_ID).redacted(), message.phone, message.email)
    return VendorRequestView(method=built["method"], url=built["url"], headers=built["headers"], body=built["body"])


def _checks(message: OutboundMessage) -> list[CheckView]:
    return [_check_view(check) for check in measure(message)]


def _check_view(check: Check) -> CheckView:
    return CheckView(
        name=check.name, value=check.value, limit=check.limit, unit=check.unit, ok=check.ok, severity=check.severity
    )


def _schedule(message: OutboundMessage, quiet_mode: Literal["hold", "suppress"], now: float) -> ScheduleView:
    until = quiet_until(message.channel, message.ad, now)
    if until is None:
        return ScheduleView(action="send", at=_iso(now), atKst=_kst(now), reason="sent now: outside quiet hours")
    window = quiet_window(message.channel)
    if quiet_mode == "suppress":
        reason = f"suppressed: advertising is not sent {window} (GATEWAY_QUIET_HOURS=suppress)"
        return ScheduleView(action="suppress", at=_iso(now), atKst=_kst(now), reason=reason)
    reason = f"held until {_kst(until)}: advertising is not sent {window}"
    return ScheduleView(action="hold", at=_iso(until), atKst=_kst(until), reason=reason)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _kst(ts: float) -> str:
    return datetime.fromtimestamp(ts, KST).strftime("%Y-%m-%d %H:%M KST")
