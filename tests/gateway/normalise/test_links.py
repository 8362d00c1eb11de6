from __future__ import annotations

import sys
import unicodedata

import pytest

from gateway.normalise.links import LinkError, Utm, host_allowed, normalise_link

_WADIZ = frozenset({"wadiz.kr"})


def test_a_clean_link_is_unchanged() -> None:
    link = "https://www.wadiz.kr/web/campaign/detail/356850"
    assert normalise_link(link) == link


def test_link_is_trimmed() -> None:
    assert normalise_link("  https://www.wadiz.kr/web \n") == "https://www.wadiz.kr/web"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("www.wadiz.kr/web/campaign/detail/356850", "https://www.wadiz.kr/web/campaign/detail/356850"),
        ("wadiz.kr/x", "https://wadiz.kr/x"),
        ("wadiz.kr", "https://wadiz.kr"),
        ("//wadiz.kr/x", "https://wadiz.kr/x"),
        ("wadiz.kr:8080/x", "https://wadiz.kr:8080/x"),
    ],
)
def test_scheme_less_links_get_https(raw: str, expected: str) -> None:
    assert normalise_link(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "\u200bhttps://www.wadiz.kr/x",
        "\ufeffhttps://www.wadiz.kr/x",
        "https://www.wadiz.kr/x\u200b",
        "https://www.wadiz.kr/\u00adx\u2060",
        "\u2066https://www.wadiz.kr/x\u2069",
        "\u200ehttps://www.wadiz.kr/x\u202a",
        "https://www.wadiz.kr/\x00x\x7f",
    ],
)
def test_invisible_characters_around_the_link_and_in_its_path_are_removed(raw: str) -> None:
    assert normalise_link(raw) == "https://www.wadiz.kr/x"


@pytest.mark.parametrize(
    "raw",
    [
        "https://wadiz.kr\u202e.evil",
        "https://www.wa\u200ddiz.kr/x",
        "https://wadiz.kr\x00.evil/x",
        "https://wadiz\ufe0f.kr/x",
        "ht\u200btps://evil.example/x",
        "https://wadiz.kr\u00ad:8080/x",
    ],
)
def test_an_invisible_character_in_the_host_is_refused_never_removed(raw: str) -> None:
    with pytest.raises(LinkError, match="invisible character"):
        normalise_link(raw)


def test_scheme_and_host_are_lower_cased_path_is_not() -> None:
    assert normalise_link("HTTPS://WWW.Wadiz.KR/Web/Detail") == "https://www.wadiz.kr/Web/Detail"


def test_http_is_kept() -> None:
    assert normalise_link("http://wadiz.kr/x") == "http://wadiz.kr/x"


@pytest.mark.parametrize(
    ("raw", "scheme"),
    [
        ("javascript:alert(1)", "javascript"),
        ("JavaScript:alert(document.cookie)", "javascript"),
        ("java\tscript:alert(1)", "javascript"),
        ("data:text/html,<script>alert(1)</script>", "data"),
        ("mailto:help@wadiz.kr", "mailto"),
        ("ftp://files.wadiz.kr/a", "ftp"),
        ("tel:01012345678", "tel"),
    ],
)
def test_other_schemes_are_rejected(raw: str, scheme: str) -> None:
    with pytest.raises(LinkError, match=f"^{scheme}: links are not allowed; a link must start with https://"):
        normalise_link(raw)


@pytest.mark.parametrize("raw", ["", "   ", "\n"])
def test_empty_link_is_rejected(raw: str) -> None:
    with pytest.raises(LinkError, match="empty"):
        normalise_link(raw)


@pytest.mark.parametrize("raw", ["https://", "http:/x", "https:wadiz.kr", "https:///path"])
def test_link_without_host_is_rejected(raw: str) -> None:
    with pytest.raises(LinkError, match="no host name"):
        normalise_link(raw)


@pytest.mark.parametrize(
    "raw", ["https://wad iz.kr/x", "https://-wadiz.kr/", "https://wadiz..kr/", "https://wa*diz.kr"]
)
def test_invalid_host_is_rejected(raw: str) -> None:
    with pytest.raises(LinkError, match="not a valid domain name"):
        normalise_link(raw)


@pytest.mark.parametrize("raw", ["https://wadiz.kr:abc/", "https://wadiz.kr:99999/", "https://[::1/x"])
def test_malformed_link_is_rejected(raw: str) -> None:
    with pytest.raises(LinkError, match="malformed"):
        normalise_link(raw)


def test_user_info_is_rejected() -> None:
    with pytest.raises(LinkError, match="user name or password"):
        normalise_link("https://www.wadiz.kr@evil.example/login")


def test_spaces_and_korean_path_are_percent_encoded() -> None:
    assert (
        normalise_link("https://www.wadiz.kr/기획전/여름 특가?q=헤어 팩#상세 정보")
        == "https://www.wadiz.kr/%EA%B8%B0%ED%9A%8D%EC%A0%84/%EC%97%AC%EB%A6%84%20%ED%8A%B9%EA%B0%80"
        "?q=%ED%97%A4%EC%96%B4%20%ED%8C%A9#%EC%83%81%EC%84%B8%20%EC%A0%95%EB%B3%B4"
    )


def test_existing_escapes_are_not_encoded_twice() -> None:
    link = "https://www.wadiz.kr/%EA%B8%B0%ED%9A%8D?q=a%20b&r=%2F#x%20y"
    assert normalise_link(link) == link


def test_lone_percent_is_encoded() -> None:
    assert normalise_link("https://wadiz.kr/sale?off=50%") == "https://wadiz.kr/sale?off=50%25"


def test_reserved_characters_in_query_are_kept() -> None:
    link = "https://wadiz.kr/p?a=1&b=x+y&c=/d:e@f,g;h=i?j"
    assert normalise_link(link) == link


def test_idn_host_is_punycoded() -> None:
    assert normalise_link("https://한국.kr/이벤트") == "https://xn--3e0b707e.kr/%EC%9D%B4%EB%B2%A4%ED%8A%B8"
    assert normalise_link("bücher.de/a") == "https://xn--bcher-kva.de/a"


def test_full_width_host_is_mapped() -> None:
    assert normalise_link("https://ＷＡＤＩＺ．ＫＲ/x") == "https://wadiz.kr/x"


def test_port_and_ip_hosts_are_kept() -> None:
    assert normalise_link("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"
    assert normalise_link("https://[2001:DB8::1]/x") == "https://[2001:db8::1]/x"


def test_query_and_fragment_are_kept() -> None:
    link = "https://www.wadiz.kr/web/detail/1?ref=braze&tab=story#reward"
    assert normalise_link(link) == link


def test_utm_parameters_are_appended_before_the_fragment() -> None:
    link = normalise_link("https://wadiz.kr/a?x=1#top", utm=Utm("braze", "kakao", "realtime-best-category"))
    assert link == "https://wadiz.kr/a?x=1&utm_source=braze&utm_medium=kakao&utm_campaign=realtime-best-category#top"


def test_utm_parameters_start_a_query() -> None:
    assert normalise_link("https://wadiz.kr/a", utm=Utm("braze", "lms")) == (
        "https://wadiz.kr/a?utm_source=braze&utm_medium=lms"
    )


def test_utm_parameters_do_not_overwrite_existing_ones() -> None:
    link = normalise_link(
        "https://wadiz.kr/a?utm_source=newsletter&utm_campaign=summer", utm=Utm("braze", "email", "x")
    )
    assert link == "https://wadiz.kr/a?utm_source=newsletter&utm_campaign=summer&utm_medium=email"


def test_utm_values_are_encoded() -> None:
    link = normalise_link("https://wadiz.kr/a", utm=Utm("braze", "kakao", "여름 특가&세일"))
    assert link == (
        "https://wadiz.kr/a?utm_source=braze&utm_medium=kakao&utm_campaign=%EC%97%AC%EB%A6%84%20%ED%8A%B9%EA%B0%80%26%EC%84%B8%EC%9D%BC"
    )


@pytest.mark.parametrize(
    "raw", ["https://wadiz.kr/a", "https://www.wadiz.kr/a", "https://m.event.wadiz.kr/a", "WADIZ.KR/a"]
)
def test_allowed_hosts_and_subdomains_pass(raw: str) -> None:
    assert normalise_link(raw, allowed_hosts=_WADIZ).endswith("wadiz.kr/a")


@pytest.mark.parametrize("raw", ["https://evil.example/a", "https://notwadiz.kr/a", "https://wadiz.kr.evil.example/a"])
def test_other_hosts_are_rejected(raw: str) -> None:
    with pytest.raises(LinkError, match=r"are not allowed; allowed hosts: wadiz\.kr$"):
        normalise_link(raw, allowed_hosts=_WADIZ)


def test_allow_list_accepts_idn_entries() -> None:
    assert host_allowed("xn--3e0b707e.kr", frozenset({"한국.kr"}))
    assert not host_allowed("xn--3e0b707e.kr", frozenset({"wadiz.kr", "not a host"}))


def test_every_unicode_format_character_is_removed() -> None:
    format_characters = "".join(
        chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"
    )
    assert normalise_link(f"https://www.wadiz.kr/x{format_characters}") == "https://www.wadiz.kr/x"
