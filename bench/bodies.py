"""Braze bodies of the normalise and delivery benchmarks: the README's kakao body, an advertising LMS, an HTML email.

Each is a dict of strings, as Braze's key/value editor sends it; :func:`braze_body` makes one per recipient.
"""

from __future__ import annotations

from typing import Literal

__all__ = ("BodyKind", "braze_body")

BodyKind = Literal["kakao", "lms-ad", "lms", "email"]

_CONTENT = (
    "서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.\n"
    "✨[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩🎉"
)
_LINK = "https://www.wadiz.kr/web/campaign/detail/{project}"
_PROJECT = 356850
# A marketer's HTML: a styled paragraph, the project image and a CTA link, entities included.
_HTML = (
    '<div style="font-family:sans-serif"><p>서포터님, 안녕하세요 &amp; 반가워요!</p>\n'
    "<p>헤어케어 카테고리에서 지금 가장 핫한 프로젝트는?</p>\n"
    '<p><img src="https://cdn.wadiz.kr/images/{project}.jpg" alt="프로젝트 이미지" width="600"></p>\n'
    "<h2>✨[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩🎉</h2>\n"
    '<p><a href="{link}">지금 확인하기</a></p>\n'
    '<p style="color:#999">수신을 원하지 않으시면 <a href="https://www.wadiz.kr/unsubscribe">수신거부</a></p></div>'
)


def braze_body(kind: BodyKind, user: str, *, project: int = _PROJECT) -> dict[str, str]:
    """One rendered Braze body.

    Args:
        kind: ``kakao``: the README's example; ``lms-ad``: the same text as an advertising LMS (prefix, opt-out
            line and emoji removal apply); ``lms``: the same, not advertising (no quiet hours); ``email``: an HTML
            email with the CTA as a button too.
        user: The Braze user id (also makes ``dispatchId`` unique, so no two bodies share an idempotency key).
        project: The project number in the CTA link: a new number per body defeats the link cache.
    """
    link = _LINK.format(project=project)
    body = {
        "channel": "kakao",
        "userId": user,
        "phone": "010-1234-5678",
        "content": _CONTENT,
        "buttonName": "지금 확인하기",
        "buttonLinkMobile": link,
        "buttonLinkPC": link,
        "ad": "true",
        "fallback": "lms",
        "campaignId": "c1a2b3",
        "campaignName": "realtime-best-category",
        "dispatchId": f"d-{user}",
    }
    if kind in ("lms-ad", "lms"):
        del body["fallback"]
        body.update(channel="lms", subject="지금 가장 핫한 프로젝트", ad="true" if kind == "lms-ad" else "false")
    elif kind == "email":
        del body["phone"], body["fallback"]
        body.update(
            channel="email",
            email="supporter@example.com",
            subject="지금 가장 핫한 프로젝트를 확인해 보세요",
            content=_HTML.format(project=project, link=link),
            ad="false",
        )
    return body
