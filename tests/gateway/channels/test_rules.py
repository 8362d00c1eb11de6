from __future__ import annotations

from gateway.channels.common import CTA_FIELDS, button_count_error, fields_for, list_fields
from gateway.channels.rules import apply_channel_rules
from gateway.models import Button, OutboundMessage
from gateway.normalise.errors import FieldError
from gateway.normalise.policy import Policy

_POLICY = Policy(sender_name="와디즈", opt_out_080="080-123-4567")


def test_kakao_rules_keep_the_message() -> None:
    message = OutboundMessage(channel="kakao", user_id="u1", phone="01012345678", content="가" * 1301, ad=True)
    result = apply_channel_rules(message, _POLICY)
    assert result.message is message
    assert result.errors == (FieldError("content", "1,301 characters; KakaoTalk allows at most 1,300"),)


def test_lms_rules_add_the_advertising_text() -> None:
    message = OutboundMessage(channel="lms", user_id="u1", phone="01012345678", content="본문", ad=True)
    result = apply_channel_rules(message, _POLICY)
    assert result.message.content == "(광고)와디즈\n본문\n무료거부 080-123-4567"


def test_email_rules_derive_the_text() -> None:
    message = OutboundMessage(channel="email", user_id="u1", email="a@wadiz.kr", content="<p>본문</p>", subject="제목")
    assert apply_channel_rules(message, _POLICY).message.text == "본문"


def test_button_field_names() -> None:
    assert fields_for(3, [CTA_FIELDS]) == [CTA_FIELDS, list_fields(1), list_fields(2)]
    assert list_fields(0).link_pc == "buttons[0].linkPc"


def test_button_count_error() -> None:
    assert button_count_error(5) is None
    assert button_count_error(6) == FieldError("buttons", "6 buttons; at most 5 are allowed")


def test_buttons_are_fine_for_kakao() -> None:
    button = Button("보기", "https://wadiz.kr/a", "https://wadiz.kr/a")
    message = OutboundMessage(channel="kakao", user_id="u1", content="본문", buttons=(button,) * 5, ad=True)
    assert apply_channel_rules(message, _POLICY).errors == ()
