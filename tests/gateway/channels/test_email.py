from __future__ import annotations

import msgspec
import pytest

from gateway.channels.email import apply
from gateway.models import Button, OutboundMessage
from gateway.normalise.errors import FieldError

REMOVED = "email: removed scripts, event handlers, javascript: links or unsafe styles from the HTML"


def _email(
    content: str,
    *,
    subject: str | None = "여름 특가 안내",
    buttons: tuple[Button, ...] = (),
    image_url: str | None = None,
) -> OutboundMessage:
    return OutboundMessage(
        channel="email",
        user_id="u1",
        email="supporter@wadiz.kr",
        content=content,
        subject=subject,
        buttons=buttons,
        image_url=image_url,
    )


def test_html_is_sanitised_and_text_derived() -> None:
    result = apply(
        _email('<h1 style="color:#00c4c4">여름 특가</h1><p onclick="x()">지금 &amp; 확인<script>x()</script></p>')
    )
    assert result.errors == ()
    assert result.message.content == '<h1 style="color:#00c4c4">여름 특가</h1><p>지금 &amp; 확인</p>'
    assert result.message.text == "여름 특가\n\n지금 & 확인"
    assert REMOVED in result.message.notes


def test_clean_html_is_not_noted() -> None:
    assert apply(_email("<p>본문</p>")).message.notes == ()


def test_text_that_only_mentions_javascript_is_not_noted() -> None:
    assert apply(_email("<p>see the javascript: tutorial</p>")).message.notes == ()


@pytest.mark.parametrize(
    "markup",
    [
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<p style="background:url(javascript:alert(1))">x</p>',
        '<p style="width:expression(alert(1))">x</p>',
        "<style>p { background: url('javascript:alert(1)') }</style><p>x</p>",
        '<p onmouseover="alert(1)">x</p>',
        '<p style="xss:expr/*x*/ession(alert(1))">x</p>',
    ],
)
def test_removed_code_is_noted(markup: str) -> None:
    result = apply(_email(markup))
    assert REMOVED in result.message.notes
    assert "alert" not in result.message.content


def test_subject_is_required() -> None:
    assert apply(_email("<p>본문</p>", subject=None)).errors == (FieldError("subject", "an email needs a subject"),)
    assert apply(_email("<p>본문</p>", subject=" \n ")).errors == (FieldError("subject", "an email needs a subject"),)


def test_line_breaks_in_the_subject_become_spaces() -> None:
    message = apply(_email("<p>본문</p>", subject="여름\r\n특가\n안내")).message
    assert message.subject == "여름 특가 안내"
    assert "email: line breaks in the subject replaced by spaces" in message.notes


def test_plain_text_content_becomes_html() -> None:
    message = apply(_email("안녕하세요 <서포터>님\n여름 특가 & 혜택")).message
    assert message.content == "안녕하세요 &lt;서포터&gt;님<br>\n여름 특가 &amp; 혜택"
    assert message.text == "안녕하세요 <서포터>님\n여름 특가 & 혜택"


def test_content_with_only_a_script_is_an_error() -> None:
    assert apply(_email("<script>alert(1)</script>")).errors == (
        FieldError("content", "nothing is left of the HTML once scripts are removed"),
    )


def test_missing_buttons_are_appended_as_links() -> None:
    button = Button("지금 확인하기", "https://m.wadiz.kr/a", "https://www.wadiz.kr/a?utm_source=braze")
    message = apply(_email("<p>본문</p>", buttons=(button,))).message
    assert message.content.startswith("<p>본문</p><p ")
    assert '<a href="https://www.wadiz.kr/a?utm_source=braze"' in message.content
    assert message.text == "본문\n\n지금 확인하기 (https://www.wadiz.kr/a?utm_source=braze)"
    assert "email: 1 button(s) added as links below the content" in message.notes


def test_buttons_already_linked_are_not_repeated() -> None:
    buttons = (
        Button("PC 링크", "https://m.wadiz.kr/a", "https://www.wadiz.kr/a?x=1&utm_source=braze&utm_medium=email"),
        Button("모바일 링크", "https://m.wadiz.kr/b", "https://www.wadiz.kr/b"),
        Button("새 링크", "https://www.wadiz.kr/c", "https://www.wadiz.kr/c"),
    )
    markup = '<p><a href="https://www.wadiz.kr/a?x=1">가</a> <a href="m.wadiz.kr/b">나</a></p>'
    message = apply(_email(markup, buttons=buttons)).message
    assert message.content.count("<a ") == 3
    assert '<a href="https://www.wadiz.kr/c"' in message.content
    assert "email: 1 button(s) added as links below the content" in message.notes


def test_image_is_put_on_top_unless_shown() -> None:
    image = "https://static.wadiz.kr/banner.png?w=600&h=200"
    message = apply(_email("<p>본문</p>", image_url=image)).message
    assert message.content.startswith('<p><img src="https://static.wadiz.kr/banner.png?w=600&amp;h=200"')
    shown = f'<img src="{image.replace("&", "&amp;")}"><p>본문</p>'
    assert apply(_email(shown, image_url=image)).message.content == shown


@pytest.mark.parametrize(
    ("subject", "expected"), [("여름 특가 안내", "(광고) 여름 특가 안내"), ("(광고) 여름 특가", "(광고) 여름 특가")]
)
def test_an_advertising_subject_starts_with_the_ad_mark_once(subject: str, expected: str) -> None:
    result = apply(msgspec.structs.replace(_email("<p>특가</p>", subject=subject), ad=True))

    assert result.message.subject == expected
    assert ("email: (광고) put at the start of the advertising subject" in result.message.notes) is (
        subject != expected
    )


def test_a_subject_that_is_not_advertising_is_left_alone() -> None:
    assert apply(_email("<p>안내</p>")).message.subject == "여름 특가 안내"
