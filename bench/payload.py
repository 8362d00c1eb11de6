"""The request body of the ingest benchmark: the README's example, with a per-request id spliced in."""

from __future__ import annotations

import json
from typing import Literal

__all__ = ("ID_MARK", "Channel", "body_parts")

Channel = Literal["kakao", "lms"]

#: Where the per-request id goes; the load generator replaces every occurrence.
ID_MARK = "@@ID@@"

_CONTENT = (
    "서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.\n"
    "✨[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩🎉"
)
_LINK = "https://www.wadiz.kr/web/campaign/detail/356850"


def _spec_example() -> dict[str, str]:
    """The README's kakao body, with ``userId`` and ``dispatchId`` unique per request so none is a duplicate."""
    return {
        "channel": "kakao",
        "userId": f"bench-{ID_MARK}",
        "phone": "010-1234-5678",
        "content": _CONTENT,
        "buttonName": "지금 확인하기",
        "buttonLinkMobile": _LINK,
        "buttonLinkPC": _LINK,
        "ad": "true",
        "fallback": "lms",
        "campaignId": "c1a2b3",
        "campaignName": "realtime-best-category",
        "dispatchId": f"d-{ID_MARK}",
    }


def body_parts(channel: Channel) -> list[str]:
    """The JSON body split at each :data:`ID_MARK`: join the parts with the id to get one request's body.

    ``lms`` is the same message as a non-advertising LMS, which quiet hours do not hold, so a run with the
    dispatcher on delivers at any time of day; ``kakao`` is the README's example as is.
    """
    body = _spec_example()
    if channel == "lms":
        body.update(channel="lms", subject="지금 가장 핫한 프로젝트", ad="false")
        del body["fallback"]
    # ensure_ascii=False keeps the Hangul as UTF-8, the size Braze really sends.
    return json.dumps(body, ensure_ascii=False).split(ID_MARK)
