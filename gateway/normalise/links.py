"""CTA link normalisation (docs/ARCHITECTURE.md, "Normalisation")."""

from __future__ import annotations

import functools
import ipaddress
import re
import stringprep
import unicodedata
from urllib.parse import SplitResult, quote, unquote_plus, urlsplit, urlunsplit

import msgspec

__all__ = ("LinkError", "Utm", "host_allowed", "normalise_link")

# What a browser ignores anywhere in a URL (WHATWG URL): "java\tscript:" must not slip through as a path.
_IGNORED = re.compile("[\t\n\r]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
# A scheme has no dot here, so a scheme-less "wadiz.kr:8080/x" is read as host and port.
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+\-]*):")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
# Only these can be IP addresses; parsing every host as one would cost an exception per link.
_IP_LIKE = re.compile(r"^[\d.]+$|:")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Reserved characters and "%" stay as they are, so an already encoded link is not encoded twice.
_PATH_SAFE = "/:@!$&'()*+,;=%~"
_QUERY_SAFE = _PATH_SAFE + "?"
_MAX_HOST = 253


class LinkError(ValueError):
    """A link that cannot be sent; the message is written for a marketer."""


class Utm(msgspec.Struct, frozen=True):
    """UTM parameters to append: ``utm_source``, ``utm_medium`` (the channel), ``utm_campaign``."""

    source: str
    medium: str
    campaign: str | None = None


# One send renders the same CTA links for every user: a small cache saves the parsing on the ingest path.
@functools.lru_cache(maxsize=4096)
def normalise_link(raw: str, *, utm: Utm | None = None, allowed_hosts: frozenset[str] | None = None) -> str:
    """Normalise a CTA link to an absolute, percent-encoded http(s) URL.

    Invisible characters (control and format characters) around the link are trimmed, and removed from its path,
    query and fragment; one inside the scheme or host is an error, never removed: removing it would join what
    stood on either side into another host (``wadiz.kr\u202e.evil`` is not ``wadiz.kr.evil``).

    Args:
        raw: The link as rendered.
        utm: UTM parameters to append; a parameter already in the link is kept as it is.
        allowed_hosts: When given, the link's host must be one of these or a subdomain of one.

    Returns:
        The link with a scheme, a lower-case ASCII (IDNA) host, and spaces and non-ASCII characters
        percent-encoded in the path, query and fragment.

    Raises:
        LinkError: The link is empty, not http(s), has no valid host or an invisible character in it, carries a
            user name, or points to a host outside ``allowed_hosts``.
    """
    text = _trim(_IGNORED.sub("", raw))
    if not text:
        raise LinkError("the link is empty")
    parts = _split(_with_scheme(text))
    if any(_hidden(character) for character in parts.netloc):
        raise LinkError(
            "the link's host contains an invisible character (a control or format character such as U+202E); "
            "type the link again"
        )
    if parts.username is not None or parts.password is not None:
        raise LinkError("a link must not contain a user name or password (the part before '@')")
    host = _ascii_host(parts.hostname or "")
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    if allowed_hosts is not None and not host_allowed(host, allowed_hosts):
        raise LinkError(f"links to {host} are not allowed; allowed hosts: {', '.join(sorted(allowed_hosts))}")
    query = _encode(_visible(parts.query), _QUERY_SAFE)
    if utm is not None:
        query = _with_utm(query, utm)
    path, fragment = _encode(_visible(parts.path), _PATH_SAFE), _encode(_visible(parts.fragment), _QUERY_SAFE)
    return urlunsplit((parts.scheme.lower(), netloc, path, query, fragment))


def _hidden(character: str) -> bool:
    """Whether ``character`` shows nothing: a control or format character (Cc, Cf), or one IDNA maps to nothing."""
    if character.isascii():
        return _CONTROL.match(character) is not None
    return unicodedata.category(character) in ("Cc", "Cf") or stringprep.in_table_b1(character)


def _trim(text: str) -> str:
    """``text`` without blank space and invisible characters at either end (one pasted before "https://")."""
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or _hidden(text[start])):
        start += 1
    while end > start and (text[end - 1].isspace() or _hidden(text[end - 1])):
        end -= 1
    return text[start:end]


def _visible(part: str) -> str:
    """A path, query or fragment without invisible characters (zero-width, bidi, soft hyphen, control)."""
    if part.isascii():
        return _CONTROL.sub("", part)
    return "".join(character for character in part if not _hidden(character))


def host_allowed(host: str, allowed_hosts: frozenset[str]) -> bool:
    """Whether ``host`` is one of ``allowed_hosts`` or a subdomain of one (both compared as ASCII)."""
    for allowed in allowed_hosts:
        try:
            name = _ascii_host(allowed)
        except LinkError:
            continue
        if host == name or host.endswith("." + name):
            return True
    return False


def _with_scheme(text: str) -> str:
    """Add ``https://`` to a scheme-less link; reject any scheme but http(s)."""
    match = _SCHEME.match(text)
    if match is None:
        return "https:" + text if text.startswith("//") else "https://" + text
    scheme = match.group(1).lower()
    if scheme not in ("http", "https"):
        raise LinkError(f"{scheme}: links are not allowed; a link must start with https:// or http://")
    return text


def _ascii_host(hostname: str) -> str:
    """Return the host in lower-case ASCII (IDNA for non-ASCII names); IP literals are kept."""
    host = hostname.strip().lower().rstrip(".")
    if not host:
        raise LinkError("the link has no host name (expected something like https://www.example.com/...)")
    if _IP_LIKE.search(host):
        try:
            return _ip_literal(ipaddress.ip_address(host))
        except ValueError:
            pass
    if len(host) > _MAX_HOST:
        raise LinkError("the link's host name is too long")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise LinkError("the link's host name is not a valid domain name") from None
    if not all(_LABEL.match(label) for label in host.split(".")):
        raise LinkError("the link's host name is not a valid domain name")
    return host


def _ip_literal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def _split(text: str) -> SplitResult:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - urllib checks the port when it is read
    except ValueError:
        raise LinkError("the link is malformed (check the host name and the port)") from None
    return parts


def _encode(part: str, safe: str) -> str:
    """Percent-encode spaces, non-ASCII and unsafe characters; existing ``%XX`` escapes are kept."""
    return quote(_LONE_PERCENT.sub("%25", part), safe=safe)


def _with_utm(query: str, utm: Utm) -> str:
    """Append the UTM parameters the query does not already have."""
    present = {unquote_plus(pair.split("=", 1)[0]) for pair in query.split("&") if pair}
    wanted = (("utm_source", utm.source), ("utm_medium", utm.medium), ("utm_campaign", utm.campaign))
    added = [f"{key}={quote(value, safe='')}" for key, value in wanted if value and key not in present]
    return "&".join([query, *added] if query else added)
