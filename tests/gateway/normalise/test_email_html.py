from __future__ import annotations

import pytest

from gateway.models import Button
from gateway.normalise.email_html import (
    html_to_text,
    link_targets,
    looks_like_html,
    render_buttons_html,
    sanitise_html,
    text_to_html,
)


def test_script_is_removed_with_its_content() -> None:
    assert sanitise_html("<p>안녕<script>alert('x')</script>하세요</p>") == "<p>안녕하세요</p>"


def test_event_handlers_are_removed() -> None:
    cleaned = sanitise_html('<a href="https://wadiz.kr" onclick="steal()" onmouseover="x()">보기</a>')
    assert cleaned == '<a href="https://wadiz.kr">보기</a>'
    assert sanitise_html('<img src="https://i.wadiz.kr/a.png" onerror="alert(1)">') == (
        '<img src="https://i.wadiz.kr/a.png">'
    )


def test_javascript_urls_are_removed() -> None:
    assert sanitise_html('<a href="javascript:alert(1)">보기</a>') == "<a>보기</a>"
    assert sanitise_html('<a href=" JaVaScRiPt:alert(1)">보기</a>') == "<a>보기</a>"
    assert sanitise_html('<img src="javascript:alert(1)">') == "<img>"


def test_styles_and_table_layout_are_kept() -> None:
    markup = (
        '<table width="600" cellpadding="0" cellspacing="0" border="0" bgcolor="#ffffff" style="margin:0 auto">'
        '<tbody><tr><td align="center" valign="top" style="padding:24px;font-size:16px" colspan="2">'
        '<h1 style="color:#00c4c4">여름 특가</h1><div class="body"><span style="font-weight:bold">단독</span> '
        "<strong>50%</strong> <em>할인</em></div>"
        '<a href="https://www.wadiz.kr/web/main" target="_blank" style="color:#fff">보러 가기</a>'
        '<img src="https://static.wadiz.kr/banner.png" alt="배너" width="600" height="200">'
        "</td></tr></tbody></table>"
    )
    assert sanitise_html(markup) == markup


def test_style_element_is_kept() -> None:
    markup = '<style>@media (max-width:600px){.col{width:100%!important}}</style><div class="col">본문</div>'
    assert sanitise_html(markup) == markup


def test_comments_and_unknown_tags_are_dropped() -> None:
    assert sanitise_html("<!--[if mso]><table><![endif]--><form><p>본문</p></form>") == "<p>본문</p>"
    assert sanitise_html("<iframe src='https://evil.example'>x</iframe><p>본문</p>") == "<p>본문</p>"


def test_svg_style_mutation_is_neutralised() -> None:
    cleaned = sanitise_html("<svg><style>&lt;/style&gt;&lt;img src=x onerror=alert(1)&gt;</style></svg>")
    assert "onerror" not in cleaned


def test_looks_like_html() -> None:
    assert looks_like_html("<p>안녕</p>")
    assert looks_like_html("<!DOCTYPE html><html>")
    assert not looks_like_html("1 < 2 그리고 3 > 2")
    assert not looks_like_html("안녕하세요\n서포터님")


def test_text_to_html_escapes_and_breaks_lines() -> None:
    assert text_to_html("R&D <신상>\n둘째 줄") == "R&amp;D &lt;신상&gt;<br>\n둘째 줄"


def test_html_to_text_blocks_links_and_entities() -> None:
    markup = (
        "<html><head><title>제목</title><style>p{color:red}</style></head><body>"
        "<h1>여름 &amp; 특가</h1><p>첫 줄<br>둘째   줄</p>"
        '<p><a href="https://www.wadiz.kr/a?x=1&amp;y=2">지금 보기</a></p>'
        "<ul><li>하나</li><li>둘</li></ul>"
        "<table><tr><td>가</td><td>나</td></tr><tr><td>다</td><td>라</td></tr></table>"
        '<img src="https://i.wadiz.kr/b.png" alt="배너">'
        "<script>alert(1)</script></body></html>"
    )
    assert html_to_text(markup) == (
        "여름 & 특가\n\n첫 줄\n둘째 줄\n\n지금 보기 (https://www.wadiz.kr/a?x=1&y=2)\n\n"
        "- 하나\n- 둘\n\n가 나\n다 라\n\n배너"
    )


def test_html_to_text_link_without_text_or_same_text() -> None:
    assert html_to_text('<a href="https://wadiz.kr/x"><img src="https://i/x.png"></a>') == "https://wadiz.kr/x"
    assert html_to_text('<a href="https://wadiz.kr/x">https://wadiz.kr/x</a>') == "https://wadiz.kr/x"
    assert html_to_text('<a href="mailto:help@wadiz.kr">문의</a>') == "문의"


def test_html_to_text_keeps_preformatted_text() -> None:
    assert html_to_text("<pre>a\n  b</pre>") == "a\n  b"


def test_render_buttons_html_escapes() -> None:
    rendered = render_buttons_html(
        [Button(name="<지금> & 확인", link_mobile="https://m.wadiz.kr/a", link_pc="https://wadiz.kr/a?x=1&y=2")]
    )
    assert '<a href="https://wadiz.kr/a?x=1&amp;y=2"' in rendered
    assert "&lt;지금&gt; &amp; 확인</a>" in rendered
    assert sanitise_html(rendered) == rendered
    assert link_targets(rendered) == ["https://wadiz.kr/a?x=1&y=2"]
    assert html_to_text(rendered) == "<지금> & 확인 (https://wadiz.kr/a?x=1&y=2)"


def test_render_no_buttons() -> None:
    assert render_buttons_html([]) == ""


@pytest.mark.parametrize(
    ("markup", "links"),
    [
        ('<A HREF=https://e.com/x TITLE="go">y</A>', ["https://e.com/x"]),
        (
            "<a title='a>b href=\"https://evil.example\"' href='https://e.com/?a=1&b=2'>x</a>",
            ["https://e.com/?a=1&b=2"],
        ),
        ('<a data-href="https://evil.example" href="https://e.com/d">d</a>', ["https://e.com/d"]),
        ('<a\nclass="btn"\nhref = "https://e.com/n">n</a><abbr title="x">a</abbr>', ["https://e.com/n"]),
        ('<a href="javascript:alert(1)">j</a><a name="top">t</a><area href="https://e.com/area">', []),
        (
            '<a href="https://e.com/1">1</a> <p><a style="x" href="https://e.com/2">2</a></p>',
            ["https://e.com/1", "https://e.com/2"],
        ),
    ],
)
def test_link_targets_reads_every_link_of_sanitised_markup(markup: str, links: list[str]) -> None:
    assert link_targets(sanitise_html(markup)) == links


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<p style="background:url(javascript:alert(1))">x</p>', "<p>x</p>"),
        ('<p style="width: expression (alert(1))">x</p>', "<p>x</p>"),
        ('<p style="-moz-binding:url(x.xml#y)">x</p>', "<p>x</p>"),
        ('<p style="background:url(java\\73 cript:x)">x</p>', "<p>x</p>"),
        ("<style>p{behavior:url(x.htc)}</style><p>x</p>", "<p>x</p>"),
        ('<p style="xss:expr/*x*/ession(alert(1))">x</p>', "<p>x</p>"),
        ('<p style="behavior/**/:url(x.htc)">x</p>', "<p>x</p>"),
        ('<p style="background:url(vbscript:msgbox(1))">x</p>', "<p>x</p>"),
        ('<p style="width:ｅｘｐｒｅｓｓｉｏｎ(alert(1))">x</p>', "<p>x</p>"),
        ("<style>@import url(https://evil.example/x.css);</style><p>x</p>", "<p>x</p>"),
        ("<p style=\"background:url('/*');width:expression(alert(1));x:url('*/')\">x</p>", "<p>x</p>"),
        ('<p style="a:\\2f\\2a;width:expression(alert(1));b:\\2a\\2f">x</p>', "<p>x</p>"),
        ('<style>p{a:url("/*")} p{width:expression(alert(1))} q{b:url("*/")}</style><p>x</p>', "<p>x</p>"),
        ('<p style="width:\\ff45 xpression(alert(1))">x</p>', "<p>x</p>"),
        (
            "<style>@media (max-width:600px){p{color:red}}</style>",
            "<style>@media (max-width:600px){p{color:red}}</style>",
        ),
        ('<p style="color:#00c4c4;font-size:14px">x</p>', '<p style="color:#00c4c4;font-size:14px">x</p>'),
    ],
)
def test_css_that_runs_code_is_dropped_and_other_css_kept(markup: str, expected: str) -> None:
    assert sanitise_html(markup) == expected
