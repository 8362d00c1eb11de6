from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from gateway.models import BrazeContext, Button
from gateway.normalise.inbound import FieldError, InvalidMessage, Policy, normalise_body

_POLICY = Policy(sender_name="와디즈", opt_out_080="080-123-4567")
_LINK = "https://www.wadiz.kr/web/campaign/detail/356850"
_SPEC_CONTENT = (
    "서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.\n"
    "✨[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩🎉"
)
_SPEC_BODY: dict[str, Any] = {
    "channel": "kakao",
    "userId": "u-20250610-0001",
    "phone": "010-1234-5678",
    "content": _SPEC_CONTENT,
    "buttonName": "지금 확인하기",
    "buttonLinkMobile": _LINK,
    "buttonLinkPC": _LINK,
    "ad": "true",
    "fallback": "lms",
    "campaignId": "c1a2b3",
    "campaignName": "realtime-best-category",
    "dispatchId": "d-7f3e",
}


def _errors(body: dict[str, Any], policy: Policy = _POLICY) -> list[FieldError]:
    with pytest.raises(InvalidMessage) as caught:
        normalise_body(body, policy)
    return caught.value.errors


def _fields(body: dict[str, Any], policy: Policy = _POLICY) -> list[str]:
    return [error.field for error in _errors(body, policy)]


def test_spec_example_kakao() -> None:
    message = normalise_body(_SPEC_BODY, _POLICY)
    assert message.channel == "kakao"
    assert message.user_id == "u-20250610-0001"
    assert message.phone == "01012345678"
    assert message.email is None
    assert message.content == _SPEC_CONTENT
    assert message.buttons == (Button("지금 확인하기", _LINK, _LINK),)
    assert message.ad is True
    assert message.fallback == "lms"
    assert message.vendor is None
    assert message.subject is None
    assert message.braze == BrazeContext(
        campaign_id="c1a2b3", campaign_name="realtime-best-category", dispatch_id="d-7f3e"
    )
    assert message.notes == ()


def test_spec_example_with_utm_parameters_and_allowed_host() -> None:
    policy = Policy(utm_source="braze", link_hosts=frozenset({"wadiz.kr"}))
    message = normalise_body(_SPEC_BODY, policy)
    tagged = f"{_LINK}?utm_source=braze&utm_medium=kakao&utm_campaign=realtime-best-category"
    assert message.buttons == (Button("지금 확인하기", tagged, tagged),)


def test_spec_example_as_lms() -> None:
    message = normalise_body({**_SPEC_BODY, "channel": "lms"}, _POLICY)
    assert message.content == (
        "(광고)와디즈\n서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.\n"
        f"[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩\n\n지금 확인하기: {_LINK}\n무료거부 080-123-4567"
    )
    assert message.subject == "서포터님,"
    assert message.fallback == "none"
    assert message.buttons == ()


def test_form_style_body_of_strings() -> None:
    body = {
        "channel": " LMS ",
        "userId": "12345",
        "phone": "+82 10 1234 5678",
        "email": "",
        "content": "서포터님&nbsp;안녕하세요\\n여름 특가 &amp; 혜택\u200b을 확인하세요   ",
        "subject": "여름 특가",
        "buttonName": "",
        "buttonLinkMobile": "www.wadiz.kr/event/여름",
        "buttonLinkPC": "",
        "imageUrl": "",
        "ad": "N",
        "fallback": "lms",
        "vendor": "SOLAPI",
        "campaignId": "",
        "dispatchId": "d-1",
        "unknownKey": "kept in the raw body only",
    }
    message = normalise_body(body, _POLICY)
    assert message.channel == "lms"
    assert message.user_id == "12345"
    assert message.phone == "01012345678"
    assert message.ad is False
    assert message.fallback == "none"
    assert message.vendor == "solapi"
    assert message.subject == "여름 특가"
    assert message.content == (
        "서포터님 안녕하세요\n여름 특가 & 혜택을 확인하세요\n\n자세히 보기: https://www.wadiz.kr/event/%EC%97%AC%EB%A6%84"
    )
    assert message.braze == BrazeContext(dispatch_id="d-1")


def test_email_body() -> None:
    body = {
        "channel": "email",
        "userId": "u1",
        "email": " Supporter@Wadiz.KR ",
        "phone": "not used for email",
        "subject": "여름\n특가",
        "content": '<p onclick="x()">안녕하세요</p><script>x()</script>',
        "buttonLinkPC": "https://www.wadiz.kr/a",
        "ad": True,
    }
    message = normalise_body(body, _POLICY)
    assert message.email == "Supporter@wadiz.kr"
    assert message.phone is None
    # An advertising subject gets the (광고) mark, after its line break became a space.
    assert message.subject == "(광고) 여름 특가"
    assert message.content.startswith("<p>안녕하세요</p><p ")
    assert message.text == "안녕하세요\n\n자세히 보기 (https://www.wadiz.kr/a)"
    assert message.ad is True
    assert message.fallback == "none"


def test_email_html_entities_stay_escaped() -> None:
    body = {"channel": "email", "userId": "u1", "email": "a@wadiz.kr", "subject": "s", "content": "<p>&lt;b&gt;</p>"}
    assert normalise_body(body, _POLICY).content == "<p>&lt;b&gt;</p>"


def test_several_errors_are_all_reported() -> None:
    body = {
        "channel": "kakao",
        "userId": "",
        "phone": "02-123-4567",
        "content": "{{ ${first_name} }}님, " + "가" * 1300,
        "buttons": [
            {"name": "보기", "linkMobile": "javascript:alert(1)"},
            {"name": "이름만"},
            {"name": "{{ name }}", "linkMobile": "https://wadiz.kr/x"},
        ],
        "ad": "maybe",
        "fallback": "sms",
        "vendor": "sendgrid",
        "imageUrl": "ftp://files.wadiz.kr/a.png",
    }
    assert _errors(body) == [
        FieldError("userId", "missing; set it to the Braze external id ({{${user_id}}})"),
        FieldError("phone", "not a valid Korean mobile number (expected a form like 010-1234-5678)"),
        FieldError(
            "content",
            'contains Liquid that was not rendered: "{{ ${first_name} }}" (check the template and its defaults)',
        ),
        FieldError(
            "buttons[0].linkMobile", "javascript: links are not allowed; a link must start with https:// or http://"
        ),
        FieldError(
            "buttons[1].linkMobile",
            'empty: the button "이름만" has no link; set buttons[1].linkMobile or buttons[1].linkPc',
        ),
        FieldError(
            "buttons[1].linkPc",
            'empty: the button "이름만" has no link; set buttons[1].linkPc or buttons[1].linkMobile',
        ),
        FieldError(
            "buttons[2].name",
            'contains Liquid that was not rendered: "{{ name }}" (check the template and its defaults)',
        ),
        FieldError("imageUrl", "ftp: links are not allowed; a link must start with https:// or http://"),
        FieldError("ad", '"maybe" is not a yes/no value; use true or false'),
        FieldError("fallback", '"sms" is not allowed; use lms or none'),
        FieldError("vendor", '"sendgrid" cannot send kakao messages; use nhn or solapi'),
        FieldError("content", "1,322 characters; KakaoTalk allows at most 1,300"),
    ]


def test_errors_never_show_the_phone_or_email() -> None:
    kakao = _errors({**_SPEC_BODY, "phone": "010-9876-54"})
    email = _errors({"channel": "email", "userId": "u1", "email": "kim.supporter@@wadiz.kr", "content": "본문"})
    for error in [*kakao, *email]:
        assert "9876" not in error.message
        assert "kim.supporter" not in error.message


def test_missing_channel_and_content() -> None:
    assert _errors({"userId": "u1"}) == [
        FieldError("channel", "missing; use kakao, lms or email"),
        FieldError("content", "missing; the message has no text"),
    ]


def test_unknown_channel_still_reports_the_other_fields() -> None:
    assert _fields({"channel": "sms", "userId": "u1", "content": "{% if x %}"}) == ["channel", "content"]


def test_non_text_values_are_errors() -> None:
    assert _errors({**_SPEC_BODY, "channel": ["kakao"], "userId": {"id": 1}}) == [
        FieldError("channel", "must be text, not a list"),
        FieldError("userId", "must be text, not an object"),
    ]


def test_numbers_are_accepted_as_text() -> None:
    message = normalise_body({**_SPEC_BODY, "userId": 20250610, "campaignId": 42}, _POLICY)
    assert message.user_id == "20250610"
    assert message.braze.campaign_id == "42"


def test_recipient_required_per_channel() -> None:
    assert _fields({**_SPEC_BODY, "phone": ""}) == ["phone"]
    assert _fields({**_SPEC_BODY, "channel": "lms", "phone": None}) == ["phone"]
    email_body = {"channel": "email", "userId": "u1", "subject": "s", "content": "본문", "phone": "01012345678"}
    assert _errors(email_body) == [FieldError("email", "missing; an email needs the recipient's address")]


def test_content_blank_after_normalisation() -> None:
    assert _errors({**_SPEC_BODY, "content": " \\n\u200b&nbsp; "}) == [
        FieldError("content", "empty once blank space and invisible characters are removed")
    ]


def test_decomposed_hangul_content_is_composed() -> None:
    message = normalise_body({**_SPEC_BODY, "content": unicodedata.normalize("NFD", _SPEC_CONTENT)}, _POLICY)
    assert message.content == _SPEC_CONTENT


def test_unrendered_liquid_in_subject_and_links() -> None:
    body = {
        **_SPEC_BODY,
        "channel": "lms",
        "subject": "{{campaign.${name}}}",
        "buttonLinkMobile": "https://wadiz.kr/{{ project_id }}",
    }
    assert _errors(body) == [
        FieldError(
            "subject",
            'contains Liquid that was not rendered: "{{campaign.${name}}}" (check the template and its defaults)',
        ),
        FieldError(
            "buttonLinkMobile",
            'contains Liquid that was not rendered: "{{ project_id }}" (check the template and its defaults)',
        ),
    ]


def test_email_requires_a_subject() -> None:
    body = {"channel": "email", "userId": "u1", "email": "a@wadiz.kr", "content": "<p>본문</p>", "subject": ""}
    assert _errors(body) == [FieldError("subject", "an email needs a subject")]


def test_a_kakao_message_keeps_its_subject_as_the_title_of_its_fallback_lms() -> None:
    assert normalise_body({**_SPEC_BODY, "subject": "여름 특가"}, _POLICY).subject == "여름 특가"
    both = {**_SPEC_BODY, "subject": "여름 특가", "fallbackSubject": "문자 제목"}
    assert normalise_body(both, _POLICY).subject == "문자 제목"
    with pytest.raises(InvalidMessage) as caught:
        normalise_body({**_SPEC_BODY, "fallbackSubject": "{{ title }}"}, _POLICY)
    assert [error.field for error in caught.value.errors] == ["fallbackSubject"]


def test_a_connected_content_failure_names_both_empty_links_and_the_empty_title_line_is_let_through() -> None:
    failed = {
        **_SPEC_BODY,
        "buttonLinkMobile": "",
        "buttonLinkPC": "",
        "content": "서포터님,\n관심 카테고리에서 보세요.\n",
    }
    assert [error.field for error in _errors(failed)] == ["buttonLinkMobile", "buttonLinkPC"]
    # A trailing empty line is also what a marketer's own closing newline looks like: not an error (README).
    assert normalise_body({**_SPEC_BODY, "content": "서포터님,\n지금 확인해 보세요.\n"}, _POLICY).content == (
        "서포터님,\n지금 확인해 보세요."
    )


def test_button_list_and_single_cta_together() -> None:
    body = {
        **_SPEC_BODY,
        "buttons": [
            {"name": "모바일만", "linkMobile": "m.wadiz.kr/a"},
            {"linkPc": "https://www.wadiz.kr/b"},
            {"name": "", "linkMobile": "", "linkPc": ""},
            {"name": "둘 다", "linkMobile": "https://m.wadiz.kr/c", "linkPc": "https://www.wadiz.kr/c"},
        ],
    }
    assert normalise_body(body, _POLICY).buttons == (
        Button("지금 확인하기", _LINK, _LINK),
        Button("모바일만", "https://m.wadiz.kr/a", "https://m.wadiz.kr/a"),
        Button("자세히 보기", "https://www.wadiz.kr/b", "https://www.wadiz.kr/b"),
        Button("둘 다", "https://m.wadiz.kr/c", "https://www.wadiz.kr/c"),
    )


def test_default_button_name_comes_from_the_policy() -> None:
    body = {**_SPEC_BODY, "buttonName": ""}
    assert normalise_body(body, Policy(default_button_name="보러 가기")).buttons[0].name == "보러 가기"


def test_buttons_as_text_is_an_error() -> None:
    body = {**_SPEC_BODY, "buttons": '[{"name": "보기", "linkMobile": "https://wadiz.kr"}]'}
    assert _errors(body) == [
        FieldError(
            "buttons",
            "must be a list of {name, linkMobile, linkPc} in a raw JSON body, not text; "
            "for one button use buttonName, buttonLinkMobile and buttonLinkPC",
        )
    ]


def test_malformed_button_list() -> None:
    assert _errors({**_SPEC_BODY, "buttons": {"name": "x"}}) == [
        FieldError("buttons", "must be a list of {name, linkMobile, linkPc}")
    ]
    assert _errors({**_SPEC_BODY, "buttons": ["보기"]}) == [
        FieldError("buttons[0]", "must be an object {name, linkMobile, linkPc}")
    ]


def test_at_most_five_buttons_in_total() -> None:
    entry = {"name": "보기", "linkMobile": "https://wadiz.kr/a"}
    assert len(normalise_body({**_SPEC_BODY, "buttons": [entry] * 4}, _POLICY).buttons) == 5
    assert _errors({**_SPEC_BODY, "buttons": [entry] * 5}) == [
        FieldError("buttons", "6 buttons; at most 5 are allowed")
    ]
    lms = {**_SPEC_BODY, "channel": "lms", "buttons": [entry] * 5}
    assert _errors(lms) == [FieldError("buttons", "6 buttons; at most 5 are allowed")]


def test_a_link_given_once_is_named_by_its_key() -> None:
    long_link = "https://wadiz.kr/" + "a" * 1000
    body = {**_SPEC_BODY, "buttonLinkMobile": "", "buttonLinkPC": long_link}
    assert _errors(body) == [FieldError("buttonLinkPC", "1,017 characters; KakaoTalk allows at most 1,000 in a link")]


def test_kakao_button_name_limit() -> None:
    assert normalise_body({**_SPEC_BODY, "buttonName": "가" * 14}, _POLICY).buttons[0].name == "가" * 14
    assert _errors({**_SPEC_BODY, "buttonName": "가" * 15}) == [
        FieldError("buttonName", "15 characters; KakaoTalk allows at most 14 in a button name")
    ]


def test_link_host_allow_list() -> None:
    body = {**_SPEC_BODY, "buttonLinkPC": "https://evil.example/x"}
    assert _errors(body, Policy(link_hosts=frozenset({"wadiz.kr"}))) == [
        FieldError("buttonLinkPC", "links to evil.example are not allowed; allowed hosts: wadiz.kr")
    ]


def test_a_plain_http_kakao_image_is_refused_at_ingest() -> None:
    assert _fields({**_SPEC_BODY, "imageUrl": "http://static.wadiz.kr/a.png"}) == ["imageUrl"]
    email = normalise_body(
        {
            **_SPEC_BODY,
            "channel": "email",
            "email": "a@wadiz.kr",
            "subject": "s",
            "imageUrl": "http://static.wadiz.kr/a.png",
        },
        _POLICY,
    )
    assert email.image_url == "http://static.wadiz.kr/a.png"


def test_image_url() -> None:
    message = normalise_body({**_SPEC_BODY, "imageUrl": "static.wadiz.kr/배너.png"}, Policy(utm_source="braze"))
    assert message.image_url == "https://static.wadiz.kr/%EB%B0%B0%EB%84%88.png"
    lms = normalise_body({**_SPEC_BODY, "channel": "lms", "imageUrl": "https://static.wadiz.kr/a.png"}, _POLICY)
    assert lms.image_url is None
    assert "imageUrl ignored: an LMS carries no image" in lms.notes


@pytest.mark.parametrize(
    ("body", "policy"),
    [({"vendor": "solapi"}, _POLICY), ({}, Policy(kakao_vendor="solapi"))],
)
def test_a_kakao_image_through_solapi_is_kept_for_its_upload(body: dict[str, str], policy: Policy) -> None:
    message = normalise_body({**_SPEC_BODY, **body, "imageUrl": "https://static.wadiz.kr/a.png"}, policy)

    assert message.image_url == "https://static.wadiz.kr/a.png"
    assert not [note for note in message.notes if note.startswith("imageUrl")]


def test_a_kakao_image_through_a_vendor_without_image_uploads_is_left_out_with_a_note() -> None:
    policy = Policy(kakao_vendor="solapi", kakao_image_vendors=frozenset({"nhn"}))
    message = normalise_body({**_SPEC_BODY, "imageUrl": "https://static.wadiz.kr/a.png"}, policy)

    assert message.image_url is None
    assert "imageUrl ignored: Solapi sends kakao images only uploaded to it first; sent as text" in message.notes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[("true", True), ("Y", True), ("1", True), ("YES", True), (True, True), (1, True)],
        *[("false", False), ("n", False), ("0", False), ("No", False), (False, False), (0, False), ("", False)],
    ],
)
def test_ad_flag_spellings(value: object, expected: bool) -> None:
    body = {**_SPEC_BODY, "channel": "lms", "ad": value}
    assert normalise_body(body, _POLICY).ad is expected


def test_lms_is_not_advertising_by_default() -> None:
    body = {key: value for key, value in _SPEC_BODY.items() if key != "ad"}
    message = normalise_body({**body, "channel": "lms"}, _POLICY)
    assert message.ad is False
    assert message.content.startswith("서포터님,")


def test_kakao_is_always_advertising() -> None:
    message = normalise_body({**_SPEC_BODY, "ad": "false"}, _POLICY)
    assert message.ad is True
    assert message.notes == ("ad=false ignored: KakaoTalk brand messages are always advertising",)


def test_fallback_default_and_choices() -> None:
    assert normalise_body({**_SPEC_BODY, "fallback": ""}, Policy(default_fallback="none")).fallback == "none"
    assert normalise_body({**_SPEC_BODY, "fallback": "NONE"}, _POLICY).fallback == "none"
    assert normalise_body({**_SPEC_BODY, "fallback": ""}, _POLICY).fallback == "lms"


def test_vendor_must_serve_the_channel() -> None:
    assert normalise_body({**_SPEC_BODY, "vendor": "NHN"}, _POLICY).vendor == "nhn"
    restricted = Policy(channel_vendors={"kakao": ("solapi",), "lms": ("nhn",), "email": ("sendgrid",)})
    assert _errors({**_SPEC_BODY, "vendor": "nhn"}, restricted) == [
        FieldError("vendor", '"nhn" cannot send kakao messages; use solapi')
    ]


def test_lms_over_the_limit_with_other_errors() -> None:
    body = {**_SPEC_BODY, "channel": "lms", "phone": "1588-1234", "content": "가" * 1000}
    assert _fields(body) == ["phone", "content"]


def test_invalid_message_text_lists_every_error() -> None:
    with pytest.raises(InvalidMessage, match=r"^channel: missing; use kakao, lms or email; userId: missing"):
        normalise_body({"content": "본문"}, _POLICY)


_EMAIL_BODY: dict[str, Any] = {
    "channel": "email",
    "userId": "u1",
    "email": "a@wadiz.kr",
    "subject": "여름 특가",
    "content": "<p>본문</p>",
}
_INVISIBLE = ["\x00", "\x07", "\x00\x01", "\x7f", "\u200b", "\u202e", "\ufeff\u2060", "\ufffd\ufffd"]


@pytest.mark.parametrize("value", _INVISIBLE)
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_SPEC_BODY, "channel"),
        (_SPEC_BODY, "userId"),
        (_SPEC_BODY, "phone"),
        (_SPEC_BODY, "content"),
        ({**_SPEC_BODY, "channel": "lms"}, "content"),
        (_EMAIL_BODY, "email"),
        (_EMAIL_BODY, "content"),
        (_EMAIL_BODY, "subject"),
    ],
)
def test_a_required_field_of_control_or_format_characters_only_is_refused(
    body: dict[str, Any], field: str, value: str
) -> None:
    assert field in _fields({**body, field: value})


def test_content_that_cleans_down_to_nothing_is_refused() -> None:
    # &#xfffd; and &#x202e; unescape to invisible characters only once the entities are read.
    for content in ("&#xfffd;&#x202e;", "&#8203;"):
        assert _errors({**_SPEC_BODY, "content": content}) == [
            FieldError("content", "empty once blank space and invisible characters are removed")
        ]


def test_replacement_characters_are_removed_from_content() -> None:
    assert normalise_body({**_SPEC_BODY, "content": "안녕\ufffd하세요"}, _POLICY).content == "안녕하세요"


def test_lms_content_of_emoji_only_is_refused() -> None:
    assert _errors(
        {
            **_SPEC_BODY,
            "channel": "lms",
            "content": "🎉✨🎉",
            "buttonName": None,
            "buttonLinkMobile": None,
            "buttonLinkPC": None,
        }
    ) == [FieldError("content", "nothing is left once the characters carriers cannot carry are removed")]


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("userId", 256),
        ("campaignId", 256),
        ("campaignName", 256),
        ("dispatchId", 256),
        ("canvasId", 256),
        ("canvasStepId", 256),
        ("sendId", 256),
        ("idempotencyKey", 1000),
        ("buttonName", 100),
        ("phone", 40),
    ],
)
def test_text_fields_have_length_limits(field: str, limit: int) -> None:
    lms = {**_SPEC_BODY, "channel": "lms", "phone": "010-1234-5678" + " " * (limit - 13)}
    # Checked once cleaned: control characters do not count, visible ones over the limit do.
    normalise_body({**lms, field: lms[field] if field == "phone" else "x" * limit + "\x00" * 10}, _POLICY)
    assert _errors({**lms, field: "x" * (limit + 1)}) == [
        FieldError(field, f"{limit + 1:,} characters; at most {limit:,} are allowed")
    ]


def test_email_field_limits() -> None:
    assert "subject" in _fields({**_EMAIL_BODY, "subject": "제목" * 200})
    assert "email" in _fields({**_EMAIL_BODY, "email": "a" * 250 + "@wadiz.kr"})
    assert _errors({**_EMAIL_BODY, "content": "<p>" + "x" * 200_001 + "</p>"}) == [
        FieldError("content", "200,008 characters; an email allows at most 200,000")
    ]


def test_link_length_limit() -> None:
    link = "https://www.wadiz.kr/" + "x" * 2000
    assert _errors({**_SPEC_BODY, "channel": "lms", "buttonLinkMobile": link, "buttonLinkPC": None}) == [
        FieldError("buttonLinkMobile", "2,021 characters once encoded; a link may have at most 2,000")
    ]


def test_a_link_with_an_invisible_character_in_its_host_is_refused() -> None:
    assert _fields({**_SPEC_BODY, "buttonLinkMobile": "https://wadiz.kr\u202e.evil", "buttonLinkPC": None}) == [
        "buttonLinkMobile"
    ]
    assert _fields({**_SPEC_BODY, "imageUrl": "https://cdn.wadiz.kr\x00.evil/a.png"}) == ["imageUrl"]


def test_an_invisible_button_name_gets_the_default_name() -> None:
    message = normalise_body({**_SPEC_BODY, "buttonName": "\u200b\u202e"}, _POLICY)
    assert message.buttons[0].name == "자세히 보기"
