from __future__ import annotations

import unicodedata

import pytest

from gateway.normalise.content import find_unrendered, normalise_markup, normalise_text, single_line, tidy


def test_decomposed_hangul_is_composed() -> None:
    nfd = unicodedata.normalize("NFD", "서포터님")
    assert len(nfd) > len("서포터님")
    assert normalise_text(nfd) == "서포터님"


@pytest.mark.parametrize("raw", ["첫 줄\r\n둘째 줄", "첫 줄\r둘째 줄", "첫 줄\\n둘째 줄", "첫 줄\n둘째 줄"])
def test_line_breaks_become_lf(raw: str) -> None:
    assert normalise_text(raw) == "첫 줄\n둘째 줄"


def test_entities_are_unescaped() -> None:
    assert normalise_text("R&amp;D &lt;신상&gt; &#39;특가&#39; &#x1F389;") == "R&D <신상> '특가' 🎉"


def test_non_breaking_space_becomes_a_space() -> None:
    assert normalise_text("지금&nbsp;확인\u00a0하세요") == "지금 확인 하세요"


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"])
def test_zero_width_characters_are_removed(char: str) -> None:
    assert normalise_text(f"{char}지금{char} 확인{char}") == "지금 확인"


def test_escaped_zero_width_space_is_removed() -> None:
    assert normalise_text("지금&#8203;확인") == "지금확인"


def test_emoji_zwj_sequences_are_kept() -> None:
    family = "👨\u200d👩\u200d👧"
    assert normalise_text(f"가족 {family} 할인") == f"가족 {family} 할인"


def test_emoji_are_kept() -> None:
    assert normalise_text("✨[14억+ 앵콜] 헤어팩🎉") == "✨[14억+ 앵콜] 헤어팩🎉"


def test_trailing_spaces_are_stripped_per_line() -> None:
    assert normalise_text("첫 줄   \n  둘째 줄\t\n셋째\u3000") == "첫 줄\n  둘째 줄\n셋째"


def test_more_than_two_blank_lines_collapse_to_two() -> None:
    assert normalise_text("위\n\n\n\n\n\n아래") == "위\n\n\n아래"
    assert normalise_text("위\n\n\n아래") == "위\n\n\n아래"
    assert normalise_text("위\n  \n \n\t\n\n아래") == "위\n\n\n아래"


def test_leading_and_trailing_blank_space_is_trimmed() -> None:
    assert normalise_text("\ufeff \n\n  안녕하세요 \n\n ") == "안녕하세요"


def test_blank_text_normalises_to_empty() -> None:
    assert normalise_text(" \\n \u200b &nbsp; ") == ""


def test_markup_keeps_entities_and_tags() -> None:
    assert normalise_markup("\ufeff<p>R&amp;D &lt;b&gt;</p>\r\n") == "<p>R&amp;D &lt;b&gt;</p>"
    assert normalise_markup(unicodedata.normalize("NFD", "<b>한글</b>")) == "<b>한글</b>"


def test_tidy_and_single_line() -> None:
    assert tidy(" a \n\n\n\n\nb ") == "a\n\n\nb"
    assert single_line("  여름 \n 특가\r\n세일 ") == "여름 특가 세일"


@pytest.mark.parametrize(
    ("text", "snippet"),
    [
        ("{{ ${first_name} }}님, 안녕하세요", "{{ ${first_name} }}"),
        ("안녕하세요 {{first_name | default: '서포터'}}님", "{{first_name | default: '서포터'}}"),
        ("{% if vip %}VIP{% endif %} 혜택", "{% if vip %}"),
        ("{{campaign.${name}}} 안내", "{{campaign.${name}}}"),
        ("가격: ${price}원", "${price}"),
        ("오늘만 {{ 특가", "{{ 특가"),
        ("오늘만 {% 특가\n다음 줄", "{% 특가"),
    ],
)
def test_unrendered_liquid_is_found(text: str, snippet: str) -> None:
    assert find_unrendered(text) == snippet


def test_unrendered_snippet_is_shortened() -> None:
    snippet = find_unrendered("{{ " + "가" * 60 + " }}")
    assert snippet is not None
    assert len(snippet) == 40
    assert snippet.startswith("{{ 가")
    assert snippet.endswith("…")


def test_unrendered_liquid_after_entity_unescape_is_found() -> None:
    assert find_unrendered(normalise_text("&#123;&#123; name &#125;&#125;")) == "{{ name }}"


@pytest.mark.parametrize("text", ["가격 $100 {할인} 50%", "{ {띄어쓴 괄호} }", "이메일: a@b.com", "}} 닫는 괄호만"])
def test_rendered_text_passes(text: str) -> None:
    assert find_unrendered(text) is None
