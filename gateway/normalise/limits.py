"""Length limits of the Braze body's text fields, in characters, checked after cleaning (README "Body fields").

Each channel's own limits (KakaoTalk's 1,300 characters, LMS's 2,000 EUC-KR bytes, button names, link lengths)
are channel rules in :mod:`gateway.channels`; these bound what every channel takes, so that no field, however
long the body, reaches the store or a vendor without a limit.
"""

from __future__ import annotations

__all__ = ("FIELD_LIMITS", "LINK_LIMIT", "NAME_LIMIT")

#: A link (CTA button or image), normalised: about what browsers and link shorteners keep working with.
LINK_LIMIT = 2000
#: A button name; KakaoTalk's own limit (14) is stricter, LMS writes it out as a line, email as a link text.
NAME_LIMIT = 100
_BRAZE_ID = 256

#: The limit of each top-level key; ``content`` is an email's (HTML) limit, text channels have stricter ones.
FIELD_LIMITS: dict[str, int] = {
    "userId": 256,
    "phone": 40,
    # RFC 5321's limit on a forward path, which email-validator applies too.
    "email": 254,
    "content": 200_000,
    "subject": 255,
    "fallbackSubject": 255,
    "buttonName": NAME_LIMIT,
    "buttonLinkMobile": LINK_LIMIT,
    "buttonLinkPC": LINK_LIMIT,
    "imageUrl": LINK_LIMIT,
    "campaignId": _BRAZE_ID,
    "campaignName": _BRAZE_ID,
    "dispatchId": _BRAZE_ID,
    "canvasId": _BRAZE_ID,
    "canvasStepId": _BRAZE_ID,
    "sendId": _BRAZE_ID,
    "idempotencyKey": 1000,
}
