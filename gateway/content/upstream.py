"""One call to a Connected Content upstream: a JSON object of bounded size, within a time budget."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import msgspec

__all__ = ("UpstreamError", "fetch_object")

_DECODER = msgspec.json.Decoder()
#: Uncompressed answers: the size limit then bounds what is read, not only what a small compressed body inflates to.
_HEADERS = {"Accept": "application/json", "Accept-Encoding": "identity"}


class UpstreamError(Exception):
    """The upstream gave no usable answer.

    Attributes:
        reason: A short label for metrics (``timeout``, ``network``, ``status``, ``too_large``, ``not_json``,
            ``not_object``, ``missing_list``).
        detail: What went wrong, for the problem details Braze shows in its logs; never the upstream's URL, which
            may carry a key.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


async def fetch_object(
    client: httpx.AsyncClient,
    url: str,
    params: list[tuple[str, str]],
    *,
    time_limit: float,
    max_bytes: int,
    list_path: tuple[str, ...] | None,
) -> bytes:
    """GET ``url`` with ``params`` added to its query; the body when it is a JSON object Braze can use.

    Args:
        client: The HTTP client (its own timeouts bound each phase; ``time_limit`` bounds the whole call).
        url: The upstream URL; its own query parameters are kept, and win over ``params`` of the same name.
        params: The query parameters passed on.
        time_limit: Seconds for the whole call, body included.
        max_bytes: The largest body accepted; reading stops as soon as it is exceeded.
        list_path: Keys under which the object must hold a JSON list, if any.

    Raises:
        UpstreamError: A timeout, a network error, a status other than 2xx, a body over ``max_bytes``, or a body
            that is not a JSON object (with a list at ``list_path``).
    """
    try:
        async with asyncio.timeout(time_limit):
            body = await _read(client, url, params, max_bytes)
    except (TimeoutError, httpx.TimeoutException):
        raise UpstreamError("timeout", f"The upstream did not answer within {time_limit:g} s.") from None
    except httpx.HTTPError as exc:
        raise UpstreamError("network", f"The upstream could not be reached ({type(exc).__name__}).") from None
    _check(body, list_path)
    return body


async def _read(client: httpx.AsyncClient, url: str, params: list[tuple[str, str]], max_bytes: int) -> bytes:
    # The URL's own parameters (the upstream's key, say) are kept and win over a request's parameter of the same
    # name: given ``params``, httpx would drop them, and merging the other way round would let a caller replace them.
    base = httpx.URL(url)
    target = base.copy_with(params=httpx.QueryParams(tuple(params)).merge(base.params))
    async with client.stream("GET", target, headers=_HEADERS) as response:
        if not response.is_success:
            raise UpstreamError("status", f"The upstream answered HTTP {response.status_code}.")
        too_large = UpstreamError("too_large", f"The upstream's answer is larger than {max_bytes:,} bytes.")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise too_large
        chunks = []
        received = 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if received > max_bytes:
                # Leaving the block closes the connection: the rest of the body is never read.
                raise too_large
            chunks.append(chunk)
    return b"".join(chunks)


def _check(body: bytes, list_path: tuple[str, ...] | None) -> None:
    try:
        value: Any = _DECODER.decode(body)
    except msgspec.DecodeError:
        raise UpstreamError("not_json", "The upstream's answer is not JSON.") from None
    if not isinstance(value, dict):
        raise UpstreamError("not_object", "The upstream's answer is not a JSON object, which Braze needs.")
    for key in list_path or ():
        value = value.get(key) if isinstance(value, dict) else None
    if list_path and not isinstance(value, list):
        where = ".".join(list_path)
        raise UpstreamError("missing_list", f"The upstream's answer has no JSON list at {where}.")
