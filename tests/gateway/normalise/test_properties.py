"""Property tests of the normalisers on hostile text: they raise nothing but their own error, and what they
return respects the limits (issue 15)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.channels import kakao, lms
from gateway.normalise.content import normalise_markup, normalise_text
from gateway.normalise.inbound import InvalidMessage, Policy, normalise_body
from gateway.normalise.limits import FIELD_LIMITS, LINK_LIMIT
from gateway.normalise.links import LinkError, normalise_link
from gateway.normalise.recipients import RecipientError, normalise_email, normalise_phone
from gateway.normalise.values import invisible_only

_POLICY = Policy(sender_name="와디즈", opt_out_080="080-123-4567")
# Text as hostile senders write it: controls, format characters (bidi, zero-width), U+FFFD, entities, CR, Hangul.
_NASTY = st.sampled_from(
    [
        "\x00",
        "\x07",
        "\x7f",
        "\r",
        "\n",
        "\t",
        "\u200b",
        "\u200d",
        "\u202e",
        "\u2066",
        "\ufeff",
        "\u00ad",
        "\ufffd",
        "\ufe0f",
        "&#0;",
        "&#x202e;",
        "&amp;",
        "\\n",
        "{{",
        "%",
        "%FF",
        "한",
        "🎉",
        " ",
        "@",
        ".",
        "/",
        ":",
    ]
)
_TEXT = st.lists(st.one_of(_NASTY, st.text(max_size=4)), max_size=24).map("".join)
_LINK_PARTS = st.sampled_from(
    [
        "https://",
        "http://",
        "www.",
        "wadiz.kr",
        ".evil",
        "/web/",
        "?a=1",
        "#top",
        ":8080",
        "@",
        "javascript:",
        "xn--",
        "[::1]",
        "127.0.0.1",
        "와디즈.한국",
    ]
)
_LINKS = st.lists(st.one_of(_LINK_PARTS, _NASTY, st.text(max_size=3)), max_size=12).map("".join)
_INVISIBLE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u2060-\u2064\ufeff\ufffd]")


@settings(max_examples=400, deadline=None)
@given(raw=_TEXT)
def test_text_normalisation_never_raises_and_leaves_no_noise(raw: str) -> None:
    for text in (normalise_text(raw), normalise_markup(raw)):
        assert "\r" not in text
        assert "\ufffd" not in text
        assert text == text.strip()
        assert unicodedata.is_normalized("NFC", text)


@settings(max_examples=600, deadline=None)
@given(raw=_LINKS)
def test_link_normalisation_raises_only_link_errors_and_gives_a_plain_http_link(raw: str) -> None:
    try:
        link = normalise_link(raw)
    except LinkError:
        return
    assert link.startswith(("https://", "http://"))
    assert link.isascii()
    assert not any(unicodedata.category(character) in ("Cc", "Cf") or character == " " for character in link)
    host = link.split("://", 1)[1].split("/", 1)[0]
    assert host


@settings(max_examples=300, deadline=None)
@given(
    left=st.from_regex(r"\A[a-z0-9]{1,8}(\.[a-z0-9]{1,8})?\Z"),
    hidden=st.sampled_from(
        ["\x00", "\x1f", "\x7f", "\u00ad", "\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\ufe0f"]
    ),
    right=st.from_regex(r"\A[a-z0-9.]{0,8}[a-z0-9]\Z"),
    rest=st.sampled_from(["", "/", "/x?a=1", ":8080/x", "#top"]),
)
def test_an_invisible_character_inside_a_host_is_refused_never_removed(
    left: str, hidden: str, right: str, rest: str
) -> None:
    for scheme in ("https://", ""):
        try:
            normalise_link(f"{scheme}{left}{hidden}{right}{rest}")
        except LinkError:
            continue
        raise AssertionError(f"{left!r} {hidden!r} {right!r} was accepted")


@settings(max_examples=400, deadline=None)
@given(raw=st.one_of(_TEXT, st.from_regex(r"\A[+0-9() .\-]{0,24}\Z")))
def test_phone_normalisation_raises_only_recipient_errors_and_gives_digits(raw: str) -> None:
    try:
        phone = normalise_phone(raw)
    except RecipientError:
        return
    assert re.fullmatch(r"01\d{8,9}", phone)


@settings(max_examples=400, deadline=None)
@given(raw=st.one_of(_TEXT, st.emails().map(str)))
def test_email_normalisation_raises_only_recipient_errors_and_keeps_to_the_limit(raw: str) -> None:
    try:
        email = normalise_email(raw)
    except RecipientError:
        return
    assert "@" in email
    assert len(email) <= FIELD_LIMITS["email"]
    assert not _INVISIBLE_CHARACTERS.search(email)


_FIELDS = [
    "channel",
    "userId",
    "phone",
    "email",
    "content",
    "subject",
    "buttonName",
    "buttonLinkMobile",
    "buttonLinkPC",
    "imageUrl",
    "campaignId",
    "campaignName",
    "dispatchId",
    "idempotencyKey",
]
_BASE: dict[str, Any] = {
    "userId": "u-1",
    "phone": "010-1234-5678",
    "email": "a@wadiz.kr",
    "subject": "제목",
    "content": "안녕하세요",
}


@settings(max_examples=400, deadline=None)
@given(
    channel=st.sampled_from(["kakao", "lms", "email"]),
    changes=st.dictionaries(
        st.sampled_from(_FIELDS),
        st.one_of(_TEXT, _LINKS, st.text(min_size=250, max_size=2100), st.integers()),
        max_size=6,
    ),
)
def test_a_body_is_refused_with_errors_or_normalised_within_every_limit(channel: str, changes: dict[str, Any]) -> None:
    body = {**_BASE, "channel": channel, **changes}
    try:
        message = normalise_body(body, _POLICY)
    except InvalidMessage as exc:
        errors = exc.errors
        assert errors  # a 422 always names its fields
        return
    assert not invisible_only(message.user_id)
    assert len(message.user_id) <= FIELD_LIMITS["userId"]
    assert not invisible_only(message.content)
    braze = message.braze
    for value in (braze.campaign_id, braze.campaign_name, braze.dispatch_id):
        assert value is None or len(value) <= 256
    links = [link for button in message.buttons for link in (button.link_mobile, button.link_pc)]
    assert all(len(link) <= LINK_LIMIT for link in [*links, message.image_url or ""])
    if message.channel == "email":
        assert message.email
    else:
        assert message.phone
        assert re.fullmatch(r"01\d{8,9}", message.phone)
    if message.channel == "kakao":
        assert len(message.content) <= kakao.MAX_CHARACTERS
        assert all(len(button.name) <= kakao.MAX_BUTTON_NAME for button in message.buttons)
    elif message.channel == "lms":
        assert lms.cp949_bytes(message.content) <= lms.MAX_BODY_BYTES
        assert message.subject is None or lms.cp949_bytes(message.subject) <= lms.MAX_SUBJECT_BYTES
    else:
        assert message.subject
        assert not invisible_only(message.subject)
        assert len(message.subject) <= FIELD_LIMITS["subject"]
