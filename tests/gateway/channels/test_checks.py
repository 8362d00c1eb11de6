"""Channel limits with measured values, for the dry-run preview."""

from __future__ import annotations

from gateway.channels import kakao, lms
from gateway.channels.checks import GMAIL_CLIP_BYTES, Check, measure
from gateway.models import Button, OutboundMessage


def test_kakao_counts_characters_line_breaks_buttons_and_names() -> None:
    message = OutboundMessage(
        channel="kakao",
        user_id="u",
        content="🎉가\n나",
        buttons=(Button("지금 확인하기", "https://a.kr/x", "https://a.kr/longer"),),
    )
    checks = measure(message)

    assert checks == [
        Check(name="content", value=4, limit=kakao.MAX_CHARACTERS, unit="characters"),
        Check(name="content", value=1, limit=kakao.MAX_LINE_BREAKS, unit="line breaks"),
        Check(name="buttons", value=1, limit=5, unit="buttons"),
        Check(name="button 1 name", value=7, limit=kakao.MAX_BUTTON_NAME, unit="characters"),
        Check(name="button 1 link", value=19, limit=kakao.MAX_LINK, unit="characters"),
    ]
    assert all(check.ok for check in checks)


def test_lms_counts_cp949_bytes() -> None:
    message = OutboundMessage(channel="lms", user_id="u", content="가a\n똠", subject="제목")
    assert measure(message) == [
        Check(name="subject", value=4, limit=lms.MAX_SUBJECT_BYTES, unit="bytes (CP949)"),
        Check(name="content", value=6, limit=lms.MAX_BODY_BYTES, unit="bytes (CP949)"),
    ]


def test_email_html_over_gmails_clipping_size_is_a_warning() -> None:
    message = OutboundMessage(channel="email", user_id="u", content="<p>" + "가" * 40_000 + "</p>")
    (check,) = measure(message)
    assert (check.value, check.limit, check.severity, check.ok) == (120_007, GMAIL_CLIP_BYTES, "warning", False)
