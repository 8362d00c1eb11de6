"""What normalisation changed, in words, for the dry-run preview."""

from __future__ import annotations

from gateway.models import Button, OutboundMessage
from gateway.normalise.changes import Change, describe_changes
from gateway.normalise.content import text_changes

LINK = "https://www.wadiz.kr/web/campaign/detail/356850"


def test_text_changes_name_each_step_that_changed_something() -> None:
    assert text_changes("안녕하세요") == []
    assert text_changes("a\\nb") == ["typed \\n turned into line breaks"]
    assert text_changes("a\r\nb") == ["CR/CRLF line ends turned into LF"]
    assert text_changes("a\u200bb") == ["zero-width characters removed"]
    assert text_changes("\u1100\u1161") == ["decomposed Hangul (as pasted from macOS) composed (NFC)"]
    assert text_changes("a  \nb") == ["blank space trimmed (leading and trailing, trailing spaces, extra blank lines)"]
    assert text_changes("Tom &amp; Jerry") == ["HTML entities such as &amp; written as characters"]


def test_markup_keeps_entities_and_typed_backslash_n() -> None:
    assert text_changes("<p>Tom &amp; \\n</p>", markup=True) == []
    assert text_changes(" <p>a</p>\r\n", markup=True) == [
        "CR/CRLF line ends turned into LF",
        "blank space trimmed (leading and trailing, trailing spaces, extra blank lines)",
    ]


def test_buttons_from_the_list_are_matched_to_their_keys() -> None:
    message = OutboundMessage(
        channel="kakao",
        user_id="u",
        content="hi",
        phone="01012345678",
        buttons=(Button("자세히 보기", LINK, LINK), Button("둘", LINK, "https://wadiz.kr/")),
    )
    body = {
        "phone": "01012345678",
        "content": "hi",
        "buttons": [{"linkMobile": LINK}, {"name": "둘", "linkMobile": LINK, "linkPc": "wadiz.kr/"}],
    }

    changes = describe_changes(body, message, "자세히 보기")

    assert changes == [
        Change(field="buttons[0].name", change="no name given: the default name used", after="자세히 보기"),
        Change(field="buttons[0].linkPc", change="not given: the buttons[0].linkMobile link serves both"),
        Change(
            field="buttons[1].linkPc",
            change="link rewritten: https:// added",
            before="wadiz.kr/",
            after="https://wadiz.kr/",
        ),
    ]


def test_notes_are_changes_too_and_contacts_are_never_shown() -> None:
    message = OutboundMessage(
        channel="email", user_id="u", content="<p>x</p>", email="jane@example.com", notes=("email: image added",)
    )
    changes = describe_changes({"email": " Jane@EXAMPLE.com", "content": "<p>x</p>"}, message, "자세히 보기")

    assert Change(field=None, change="email: image added") in changes
    email = next(change for change in changes if change.field == "email")
    assert email.before is None
    assert email.after is None
