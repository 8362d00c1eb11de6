from __future__ import annotations

import msgspec
import pytest

from gateway.channels.lms import (
    apply,
    cp949_bytes,
    cut_to_bytes,
    derive_subject,
    lms_from_kakao,
    strip_uncarriable,
)
from gateway.models import BrazeContext, Button, OutboundMessage
from gateway.normalise.errors import FieldError
from gateway.normalise.policy import Policy

_POLICY = Policy(sender_name="와디즈", opt_out_080="080-123-4567")
_PREFIX = "(광고)와디즈\n"
_SUFFIX = "\n무료거부 080-123-4567"
_LINK = "https://www.wadiz.kr/web/campaign/detail/356850"
_SPEC_CONTENT = (
    "서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.\n"
    "✨[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩🎉"
)


def _lms(
    content: str, *, subject: str | None = None, ad: bool = False, buttons: tuple[Button, ...] = ()
) -> OutboundMessage:
    return OutboundMessage(
        channel="lms", user_id="u1", phone="01012345678", content=content, subject=subject, ad=ad, buttons=buttons
    )


def _spec_kakao(content: str = _SPEC_CONTENT, buttons: tuple[Button, ...] | None = None) -> OutboundMessage:
    return OutboundMessage(
        channel="kakao",
        user_id="u-20250610-0001",
        phone="01012345678",
        content=content,
        buttons=(Button("지금 확인하기", _LINK, _LINK),) if buttons is None else buttons,
        ad=True,
        fallback="lms",
        vendor="solapi",
        braze=BrazeContext(campaign_id="c1a2b3", campaign_name="realtime-best-category", dispatch_id="d-7f3e"),
    )


@pytest.mark.parametrize(
    ("text", "size"),
    [("가", 2), ("a", 1), ("\n", 1), ("똠", 2), ("서포터님, hi!\n", 14), ("", 0), ("★※①", 6), ("🎉", 1)],
)
def test_cp949_bytes(text: str, size: int) -> None:
    assert cp949_bytes(text) == size


def test_euc_kr_codec_would_miscount() -> None:
    assert len("똠".encode("euc_kr")) == 8
    assert cp949_bytes("똠방각하") == 8


def test_strip_uncarriable_removes_emoji_and_symbols() -> None:
    assert strip_uncarriable("✨[14억+ 앵콜] 헤어팩🎉") == ("[14억+ 앵콜] 헤어팩", 2)
    assert strip_uncarriable("신상 ✔ 입고 ❤") == ("신상 입고", 2)
    assert strip_uncarriable("👍🏽 좋아요") == ("좋아요", 2)


def test_strip_uncarriable_keeps_carriable_text_untouched() -> None:
    text = "★특가★ ※ 한정 ① 50% → 똠 ♡  두 칸"
    assert strip_uncarriable(text) == (text, 0)


def test_strip_uncarriable_tidies_lines_emptied_by_removal() -> None:
    assert strip_uncarriable("🎉🎉\n본문 🎉\n끝") == ("본문\n끝", 3)
    assert strip_uncarriable("특가 🎉 🎉 마감") == ("특가 마감", 2)
    assert strip_uncarriable("본문\n\n✨ 혜택") == ("본문\n\n혜택", 1)


def test_cut_to_bytes_never_splits_a_character() -> None:
    assert cut_to_bytes("가나다", 5) == "가나"
    assert cut_to_bytes("a가나", 4) == "a가"
    assert cut_to_bytes("abc", 3) == "abc"
    assert cut_to_bytes("abc", 0) == ""
    assert cut_to_bytes("똠방각하", 7) == "똠방각"
    # An uncarriable character counts as the one-byte "?" a carrier would show.
    assert cut_to_bytes("a🎉가나", 4) == "a🎉가"


def test_derive_subject_from_first_line_within_40_bytes() -> None:
    assert derive_subject("\n\n  여름 특가 안내  \n본문") == "여름 특가 안내"
    assert derive_subject("가" * 25) == "가" * 20
    assert derive_subject("a" + "가" * 25) == "a" + "가" * 19
    assert derive_subject("  \n ") is None


def test_plain_lms_at_and_over_the_byte_limit() -> None:
    at_limit = apply(_lms("가" * 999 + "ab"), _POLICY)
    assert at_limit.errors == ()
    assert cp949_bytes(at_limit.message.content) == 2000
    over = apply(_lms("가" * 1000 + "a"), _POLICY)
    assert over.errors == (
        FieldError("content", "2,001 bytes; LMS allows at most 2,000 (EUC-KR bytes: Hangul 2, other characters 1)"),
    )


def test_advertising_lms_format() -> None:
    result = apply(_lms("여름 특가 안내\n지금 확인하세요", ad=True), _POLICY)
    assert result.errors == ()
    assert result.message.content == "(광고)와디즈\n여름 특가 안내\n지금 확인하세요\n무료거부 080-123-4567"


def test_advertising_text_counts_within_the_limit() -> None:
    overhead = cp949_bytes(_PREFIX + _SUFFIX)
    body = "a" * (2000 - overhead)
    assert apply(_lms(body, ad=True), _POLICY).errors == ()
    errors = apply(_lms(body + "a", ad=True), _POLICY).errors
    assert errors == (
        FieldError(
            "content",
            "2,001 bytes with the advertising prefix and opt-out line; "
            "LMS allows at most 2,000 (EUC-KR bytes: Hangul 2, other characters 1)",
        ),
    )


def test_subject_at_and_over_the_limit() -> None:
    assert apply(_lms("본문", subject="가" * 20), _POLICY).message.subject == "가" * 20
    errors = apply(_lms("본문", subject="가" * 20 + "a"), _POLICY).errors
    assert errors == (
        FieldError(
            "subject", "41 bytes; an LMS subject allows at most 40 (EUC-KR bytes: Hangul 2, other characters 1)"
        ),
    )


def test_subject_is_single_line_without_emoji() -> None:
    message = apply(_lms("본문", subject="🎉 여름\n특가"), _POLICY).message
    assert message.subject == "여름 특가"
    assert any("from the subject" in note for note in message.notes)


def test_missing_subject_is_derived_from_the_first_line_before_the_ad_prefix() -> None:
    message = apply(_lms("🎉 여름 특가 안내\n본문", ad=True), _POLICY).message
    assert message.subject == "여름 특가 안내"
    assert "LMS: subject taken from the first line of the content" in message.notes


def test_emoji_are_removed_and_noted() -> None:
    message = apply(_lms("헤어팩🎉 ✨신상"), _POLICY).message
    assert message.content == "헤어팩 신상"
    assert "LMS: removed 2 character(s) the carriers cannot carry (emoji or symbols)" in message.notes


def test_buttons_are_written_out_and_image_dropped() -> None:
    message = OutboundMessage(
        channel="lms",
        user_id="u1",
        phone="01012345678",
        content="본문",
        buttons=(Button("보기🎉", "https://m.wadiz.kr/a", "https://wadiz.kr/a"),),
        image_url="https://i.wadiz.kr/a.png",
    )
    result = apply(message, _POLICY).message
    assert result.content == "본문\n\n보기: https://m.wadiz.kr/a"
    assert result.buttons == ()
    assert result.image_url is None


def test_rare_syllables_are_kept_and_noted() -> None:
    message = apply(_lms("똠방각하"), _POLICY).message
    assert message.content == "똠방각하"
    assert any("outside KS X 1001 (똠)" in note for note in message.notes)


def test_missing_advertising_settings_are_noted() -> None:
    message = apply(_lms("본문", ad=True), Policy()).message
    assert message.content == "(광고)\n본문"
    assert "LMS: no sender name configured for the advertising prefix" in message.notes
    assert "LMS: no 080 opt-out number configured for the advertising suffix" in message.notes


def test_fallback_of_the_spec_example() -> None:
    lms = lms_from_kakao(_spec_kakao(), _POLICY)
    assert lms.content == (
        "(광고)와디즈\n서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.\n"
        "[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩\n\n"
        f"지금 확인하기: {_LINK}\n무료거부 080-123-4567"
    )
    assert cp949_bytes(lms.content) <= 2000
    assert lms.channel == "lms"
    assert lms.fallback == "none"
    assert lms.ad is True
    assert lms.vendor is None
    assert lms.buttons == ()
    assert (lms.user_id, lms.phone) == ("u-20250610-0001", "01012345678")
    assert lms.braze.dispatch_id == "d-7f3e"
    assert lms.subject == "서포터님,"
    assert lms.notes == ("LMS: removed 2 character(s) the carriers cannot carry",)


def test_fallback_is_titled_with_the_kakao_messages_subject_cut_to_40_bytes() -> None:
    titled = msgspec.structs.replace(_spec_kakao(), subject="지금 가장 핫한 프로젝트🎉")
    assert lms_from_kakao(titled, _POLICY).subject == "지금 가장 핫한 프로젝트"
    long = lms_from_kakao(msgspec.structs.replace(_spec_kakao(), subject="가" * 30), _POLICY)
    assert long.subject == "가" * 20
    assert "LMS: subject cut to 40 bytes (EUC-KR bytes: Hangul 2, other characters 1)" in long.notes


def test_fallback_uses_the_mobile_link() -> None:
    kakao = _spec_kakao("본문", (Button("앱에서 보기", "https://m.wadiz.kr/a", "https://www.wadiz.kr/a"),))
    assert "앱에서 보기: https://m.wadiz.kr/a\n" in lms_from_kakao(kakao, _POLICY).content


def test_fallback_trims_long_text_and_keeps_the_buttons() -> None:
    lms = lms_from_kakao(_spec_kakao("가" * 1300), _POLICY)
    assert cp949_bytes(lms.content) <= 2000
    assert cp949_bytes(lms.content) >= 1990
    assert lms.content.startswith(_PREFIX + "가")
    assert lms.content.endswith(f"가…\n\n지금 확인하기: {_LINK}{_SUFFIX}")
    assert len(lms.notes) == 1
    assert lms.notes[0].startswith("LMS: text trimmed from 2,600 to ")
    assert lms.notes[0].endswith(" bytes to fit 2,000 bytes")


def test_fallback_at_the_limit_is_not_trimmed() -> None:
    block = f"\n\n지금 확인하기: {_LINK}"
    room = 2000 - cp949_bytes(_PREFIX + _SUFFIX + block)
    lms = lms_from_kakao(_spec_kakao("a" * room), _POLICY)
    assert cp949_bytes(lms.content) == 2000
    assert lms.notes == ()
    trimmed = lms_from_kakao(_spec_kakao("a" * (room + 1)), _POLICY)
    assert cp949_bytes(trimmed.content) == 2000
    # "…" takes 2 bytes: the text gives up two characters for it.
    assert trimmed.content.startswith(_PREFIX + "a" * (room - 2) + "…\n\n지금 확인하기: ")


def test_fallback_leaves_out_buttons_that_cannot_fit() -> None:
    long_link = "https://wadiz.kr/" + "a" * 900
    buttons = tuple(Button(f"버튼{i}", long_link, long_link) for i in range(5))
    # The text keeps half the budget; the first button fits beside it.
    lms = lms_from_kakao(_spec_kakao("가" * 1300, buttons), _POLICY)
    assert cp949_bytes(lms.content) <= 2000
    assert "버튼0: " in lms.content
    assert "버튼1: " not in lms.content
    assert "LMS: left out 4 button link(s) that did not fit in 2,000 bytes" in lms.notes
    short_text = lms_from_kakao(_spec_kakao("본문", buttons), _POLICY)
    assert "버튼0: " in short_text.content
    assert "버튼1: " in short_text.content
    assert "버튼2: " not in short_text.content
    assert "LMS: left out 3 button link(s) that did not fit in 2,000 bytes" in short_text.notes


def test_only_kakao_falls_back() -> None:
    with pytest.raises(ValueError, match="only a kakao message"):
        lms_from_kakao(_lms("본문"), _POLICY)
