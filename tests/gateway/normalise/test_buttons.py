from __future__ import annotations

from gateway.channels.common import ButtonFields
from gateway.models import Button
from gateway.normalise.buttons import LinkRules, read_buttons, read_link
from gateway.normalise.errors import FieldError
from gateway.normalise.links import Utm
from gateway.normalise.values import ValueReader


def test_single_cta_with_one_link_serving_both() -> None:
    reader = ValueReader()
    read = read_buttons({"buttonName": "보기", "buttonLinkPC": "wadiz.kr/a"}, reader, "자세히 보기", LinkRules())
    assert read.buttons == (Button("보기", "https://wadiz.kr/a", "https://wadiz.kr/a"),)
    assert read.fields == (ButtonFields("buttonName", "buttonLinkPC", "buttonLinkPC"),)
    assert reader.errors == []


def test_fields_of_list_entries() -> None:
    body = {"buttons": [{"linkMobile": "https://m.wadiz.kr/a", "linkPc": "https://wadiz.kr/a"}]}
    read = read_buttons(body, ValueReader(), "자세히 보기", LinkRules())
    assert read.buttons == (Button("자세히 보기", "https://m.wadiz.kr/a", "https://wadiz.kr/a"),)
    assert read.fields == (ButtonFields("buttons[0].name", "buttons[0].linkMobile", "buttons[0].linkPc"),)


def test_button_names_are_normalised_to_one_line() -> None:
    body = {"buttonName": " 지금\\n확인&amp;구매 ", "buttonLinkMobile": "https://wadiz.kr/a"}
    assert read_buttons(body, ValueReader(), "x", LinkRules()).buttons[0].name == "지금 확인&구매"


def test_invalid_buttons_are_left_out_and_reported() -> None:
    reader = ValueReader()
    body = {
        "buttonName": "보기",
        "buttonLinkMobile": "javascript:alert(1)",
        "buttonLinkPC": "https://wadiz.kr/a",
        "buttons": [{"name": "두번째", "linkMobile": "https://wadiz.kr/b"}],
    }
    read = read_buttons(body, reader, "x", LinkRules())
    assert read.buttons == (Button("두번째", "https://wadiz.kr/b", "https://wadiz.kr/b"),)
    assert [error.field for error in reader.errors] == ["buttonLinkMobile"]


def test_same_link_twice_is_reported_once() -> None:
    reader = ValueReader()
    link = "data:text/html,x"
    read_buttons({"buttonLinkMobile": link, "buttonLinkPC": link}, reader, "x", LinkRules())
    assert [error.field for error in reader.errors] == ["buttonLinkMobile"]


def test_count_includes_invalid_buttons() -> None:
    reader = ValueReader()
    entries = [{"name": "이름만"}] * 6
    assert read_buttons({"buttons": entries}, reader, "x", LinkRules()).buttons == ()
    assert reader.errors[0] == FieldError("buttons", "6 buttons; at most 5 are allowed")
    assert len(reader.errors) == 1 + 6 * 2  # the count, then both empty links of each


def test_read_link_with_rules() -> None:
    reader = ValueReader()
    rules = LinkRules(Utm("braze", "kakao", "c"), frozenset({"wadiz.kr"}))
    assert (
        read_link(reader, "l", "wadiz.kr/a", rules)
        == "https://wadiz.kr/a?utm_source=braze&utm_medium=kakao&utm_campaign=c"
    )
    assert read_link(reader, "l", "https://evil.example", rules) is None
    assert read_link(reader, "l", "https://wadiz.kr/{{ id }}", rules) is None
    assert [error.field for error in reader.errors] == ["l", "l"]
