"""Turning a received Braze body into an :class:`~gateway.models.OutboundMessage`.

Every problem of a body is reported at once, each naming the body's key, in words a marketer reading Braze's
Message Activity Log can act on. Nothing here reads settings: the :class:`Policy` is passed in.

See docs/ARCHITECTURE.md, "Ingest", "Normalisation", "Channels".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

from gateway.channels.rules import apply_channel_rules
from gateway.models import BrazeContext, Channel, OutboundMessage
from gateway.normalise.buttons import LinkRules, ReadButtons, read_buttons, read_link
from gateway.normalise.content import normalise_markup, normalise_text
from gateway.normalise.errors import FieldError, InvalidMessage
from gateway.normalise.idempotency import idempotency_key
from gateway.normalise.limits import FIELD_LIMITS
from gateway.normalise.links import Utm
from gateway.normalise.policy import Policy, policy_from_settings
from gateway.normalise.recipients import RecipientError, normalise_email, normalise_phone
from gateway.normalise.unknown_keys import BRAZE_KEYS
from gateway.normalise.values import ValueReader, invisible_only

__all__ = (
    "FieldError",
    "InvalidMessage",
    "Policy",
    "idempotency_key",
    "normalise_body",
    "policy_from_settings",
)

_CHANNELS: tuple[Channel, ...] = ("kakao", "lms", "email")


def normalise_body(body: Mapping[str, Any], policy: Policy) -> OutboundMessage:
    """Validate and normalise a Braze body, then apply its channel's rules.

    Args:
        body: The decoded JSON object (or form fields); every value may be a string, ``""`` means missing.
        policy: Defaults, link rules and the advertising LMS text.

    Returns:
        The final message (for LMS the content already carries the advertising text); ``notes`` say what was
        changed.

    Raises:
        InvalidMessage: With every problem found.
    """
    reader = ValueReader()
    notes: list[str] = []
    channel = _channel(reader, body)
    user_id = _user_id(reader, body)
    phone, email = _recipient(reader, body, channel)
    content = _content(reader, body, channel)
    subject = _subject(reader, body, channel)
    braze = BrazeContext(
        **{attr: reader.text(key, body.get(key), limit=FIELD_LIMITS[key]) for attr, key in BRAZE_KEYS.items()}
    )
    reader.text("idempotencyKey", body.get("idempotencyKey"), limit=FIELD_LIMITS["idempotencyKey"])
    buttons = _buttons(reader, body, policy, channel, braze.campaign_name)
    image_url = _image(reader, body, channel, notes, text_only=_text_only_kakao(body, policy))
    ad = _ad(reader, body, channel, notes)
    fallback = _fallback(reader, body, channel, policy)
    vendor = _vendor(reader, body, channel, policy)
    if channel is None:
        raise InvalidMessage(reader.errors)
    draft = OutboundMessage(
        channel=channel,
        user_id=user_id,
        content=content,
        phone=phone,
        email=email,
        subject=subject,
        buttons=buttons.buttons,
        image_url=image_url,
        ad=ad,
        fallback=fallback,
        vendor=vendor,
        braze=braze,
        notes=tuple(notes),
    )
    result = apply_channel_rules(draft, policy, buttons.fields)
    if reader.errors or result.errors:
        raise InvalidMessage([*reader.errors, *result.errors])
    return result.message


def _channel(reader: ValueReader, body: Mapping[str, Any]) -> Channel | None:
    raw = reader.required("channel", body.get("channel"), "use kakao, lms or email")
    return None if raw is None else cast("Channel | None", reader.choice("channel", raw, _CHANNELS))


def _user_id(reader: ValueReader, body: Mapping[str, Any]) -> str:
    user_id = reader.required(
        "userId", body.get("userId"), "set it to the Braze external id ({{${user_id}}})", limit=FIELD_LIMITS["userId"]
    )
    if user_id is None:
        return ""
    reader.rendered("userId", user_id)
    return user_id


def _content(reader: ValueReader, body: Mapping[str, Any], channel: Channel | None) -> str:
    raw = reader.required("content", body.get("content"), "the message has no text")
    if raw is None:
        return ""
    content = normalise_markup(raw) if channel == "email" else normalise_text(raw)
    # Entities unescape to characters too (&#8203; is a zero-width space): judged again once cleaned.
    if invisible_only(content):
        reader.fail("content", "empty once blank space and invisible characters are removed")
    elif channel == "email" and len(content) > FIELD_LIMITS["content"]:
        reader.fail("content", f"{len(content):,} characters; an email allows at most {FIELD_LIMITS['content']:,}")
    reader.rendered("content", content)
    return content


def _subject(reader: ValueReader, body: Mapping[str, Any], channel: Channel | None) -> str | None:
    """The subject; email's requirement is a channel rule.

    KakaoTalk shows no title: a kakao message keeps ``fallbackSubject`` (else ``subject``) as the title of the
    LMS it may fall back to.
    """
    key = "fallbackSubject" if channel == "kakao" and body.get("fallbackSubject") not in (None, "") else "subject"
    raw = reader.text(key, body.get(key), limit=FIELD_LIMITS[key])
    if raw is None:
        return None
    subject = normalise_text(raw)
    reader.rendered(key, subject)
    return None if invisible_only(subject) else subject


def _buttons(
    reader: ValueReader, body: Mapping[str, Any], policy: Policy, channel: Channel | None, campaign: str | None
) -> ReadButtons:
    utm = Utm(policy.utm_source, channel, campaign) if policy.utm_source and channel else None
    return read_buttons(body, reader, policy.default_button_name, LinkRules(utm, policy.link_hosts))


def _image(
    reader: ValueReader, body: Mapping[str, Any], channel: Channel | None, notes: list[str], *, text_only: str | None
) -> str | None:
    """The image link; normalised like a CTA link, but without UTM parameters or the host allow-list (CDNs).

    ``text_only`` names the kakao vendor when it takes an image only as a file uploaded to it first (its spec has
    no ``kakao_images``): its kakao messages go out as text.
    """
    raw = reader.text("imageUrl", body.get("imageUrl"), controls=True)
    if raw is None:
        return None
    image_url = read_link(reader, "imageUrl", raw, LinkRules())
    if channel == "lms":
        notes.append("imageUrl ignored: an LMS carries no image")
        return None
    if channel == "kakao" and text_only is not None:
        notes.append(f"imageUrl ignored: {text_only} sends kakao images only uploaded to it first; sent as text")
        return None
    if channel == "kakao" and image_url is not None and image_url.startswith("http://"):
        # The gateway downloads a kakao image to upload it, and only over https (docs/vendors.md, Kakao images).
        reader.fail("imageUrl", "a kakao image must be an https:// link")
        return None
    return image_url


def _recipient(reader: ValueReader, body: Mapping[str, Any], channel: Channel | None) -> tuple[str | None, str | None]:
    """The phone (kakao, lms) or email (email) of the recipient; the other one is not kept."""
    if channel in ("kakao", "lms"):
        hint = "KakaoTalk and LMS need the recipient's mobile number"
        phone = reader.required("phone", body.get("phone"), hint, limit=FIELD_LIMITS["phone"])
        if phone is None:
            return None, None
        try:
            return normalise_phone(phone), None
        except RecipientError as exc:
            reader.fail("phone", str(exc))
            return None, None
    if channel == "email":
        email = reader.required(
            "email", body.get("email"), "an email needs the recipient's address", limit=FIELD_LIMITS["email"]
        )
        if email is None:
            return None, None
        try:
            return None, normalise_email(email)
        except RecipientError as exc:
            reader.fail("email", str(exc))
    return None, None


def _ad(reader: ValueReader, body: Mapping[str, Any], channel: Channel | None, notes: list[str]) -> bool:
    ad = reader.flag("ad", body.get("ad"))
    if channel == "kakao":
        if ad is False:
            notes.append("ad=false ignored: KakaoTalk brand messages are always advertising")
        return True
    return bool(ad)


def _fallback(
    reader: ValueReader, body: Mapping[str, Any], channel: Channel | None, policy: Policy
) -> Literal["lms", "none"]:
    """Kakao's fallback (the policy's default when not given); other channels never fall back."""
    if channel != "kakao":
        return "none"
    fallback = reader.choice("fallback", body.get("fallback"), ("lms", "none"))
    return cast('Literal["lms", "none"]', fallback or policy.default_fallback)


def _text_only_kakao(body: Mapping[str, Any], policy: Policy) -> str | None:
    """The title of the vendor a kakao body goes to when it sends no images, read leniently (:func:`_vendor`
    reports a bad value in its turn); ``None`` when it sends them."""
    asked = body.get("vendor")
    vendor = asked.strip().lower() if isinstance(asked, str) and asked.strip() else policy.kakao_vendor
    return None if vendor in policy.kakao_image_vendors else policy.vendor_titles.get(vendor, vendor)


def _vendor(reader: ValueReader, body: Mapping[str, Any], channel: Channel | None, policy: Policy) -> str | None:
    vendor = reader.text("vendor", body.get("vendor"))
    if vendor is None or channel is None:
        return None
    allowed = policy.channel_vendors.get(channel, ())
    if vendor.lower() in allowed:
        return vendor.lower()
    reader.fail("vendor", f'"{vendor[:20]}" cannot send {channel} messages; use {" or ".join(allowed)}')
    return None
