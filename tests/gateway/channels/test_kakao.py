from __future__ import annotations

from msgspec.structs import replace

from gateway.channels.common import CTA_FIELDS, ButtonFields
from gateway.channels.kakao import check
from gateway.models import Button, OutboundMessage
from gateway.normalise.errors import FieldError

_LINK = "https://www.wadiz.kr/web/campaign/detail/356850"


def _kakao(content: str = "서포터님, 지금 확인해 보세요 🎉", buttons: tuple[Button, ...] = ()) -> OutboundMessage:
    return OutboundMessage(
        channel="kakao", user_id="u1", phone="01012345678", content=content, buttons=buttons, ad=True
    )


def _button(name: str = "지금 확인하기", mobile: str = _LINK, pc: str = _LINK) -> Button:
    return Button(name=name, link_mobile=mobile, link_pc=pc)


def test_a_valid_message_breaks_no_rule() -> None:
    assert check(_kakao(buttons=(_button(),))) == []


def test_content_at_the_character_limit() -> None:
    assert check(_kakao("가" * 1300)) == []
    assert check(_kakao("🎉" * 1300)) == []


def test_content_over_the_character_limit() -> None:
    assert check(_kakao("가" * 1301)) == [FieldError("content", "1,301 characters; KakaoTalk allows at most 1,300")]


def test_line_breaks_at_and_over_the_limit() -> None:
    assert check(_kakao("\n".join(["줄"] * 100))) == []
    assert check(_kakao("\n".join(["줄"] * 101))) == [
        FieldError("content", "100 line breaks; KakaoTalk allows at most 99")
    ]


def test_an_image_bubble_has_the_text_bubble_s_limits() -> None:
    image = "https://cdn.example.com/a.png"
    assert check(replace(_kakao("가" * 1300), image_url=image)) == []
    assert check(replace(_kakao("가" * 1301), image_url=image)) == [
        FieldError("content", "1,301 characters; KakaoTalk allows at most 1,300")
    ]
    assert check(replace(_kakao("\n".join(["줄"] * 100)), image_url=image)) == []
    assert check(replace(_kakao("\n".join(["줄"] * 101)), image_url=image)) == [
        FieldError("content", "100 line breaks; KakaoTalk allows at most 99")
    ]


def test_both_content_limits_are_reported() -> None:
    errors = check(_kakao("\n" * 100 + "가" * 1201))
    assert [e.message for e in errors] == [
        "1,301 characters; KakaoTalk allows at most 1,300",
        "100 line breaks; KakaoTalk allows at most 99",
    ]


def test_button_count_at_and_over_the_limit() -> None:
    assert check(_kakao(buttons=(_button(),) * 5)) == []
    assert check(_kakao(buttons=(_button(),) * 6)) == [FieldError("buttons", "6 buttons; at most 5 are allowed")]


def test_button_name_at_and_over_the_limit() -> None:
    assert check(_kakao(buttons=(_button("가" * 14),))) == []
    assert check(_kakao(buttons=(_button("가" * 15),)), [CTA_FIELDS]) == [
        FieldError("buttonName", "15 characters; KakaoTalk allows at most 14 in a button name")
    ]


def test_link_at_and_over_the_limit() -> None:
    at_limit = "https://wadiz.kr/" + "a" * (1000 - len("https://wadiz.kr/"))
    assert len(at_limit) == 1000
    assert check(_kakao(buttons=(_button(mobile=at_limit, pc=at_limit),))) == []
    over = at_limit + "b"
    assert check(_kakao(buttons=(_button(mobile=over),))) == [
        FieldError("buttons[0].linkMobile", "1,001 characters; KakaoTalk allows at most 1,000 in a link")
    ]


def test_links_must_be_http() -> None:
    errors = check(_kakao(buttons=(_button(), _button(pc="ftp://wadiz.kr/x"))))
    assert errors == [FieldError("buttons[1].linkPc", "KakaoTalk links must start with http:// or https://")]


def test_every_button_needs_a_mobile_link() -> None:
    assert check(_kakao(buttons=(_button(mobile=""),))) == [
        FieldError("buttons[0].linkMobile", "a KakaoTalk button needs a mobile link")
    ]


def test_field_names_follow_the_given_keys_and_list_positions() -> None:
    long_name = _button("가" * 15)
    errors = check(_kakao(buttons=(long_name, long_name)), [CTA_FIELDS])
    assert [e.field for e in errors] == ["buttonName", "buttons[1].name"]


def test_a_link_that_serves_both_is_reported_once() -> None:
    over = "https://wadiz.kr/" + "a" * 1000
    keys = ButtonFields("buttonName", "buttonLinkPC", "buttonLinkPC")
    assert check(_kakao(buttons=(_button(mobile=over, pc=over),)), [keys]) == [
        FieldError("buttonLinkPC", "1,017 characters; KakaoTalk allows at most 1,000 in a link")
    ]


def test_emoji_are_kept() -> None:
    message = _kakao("✨[14억+ 앵콜] 헤어팩🎉")
    assert check(message) == []
    assert message.content == "✨[14억+ 앵콜] 헤어팩🎉"
