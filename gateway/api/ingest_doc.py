"""The OpenAPI description of the Braze webhook body (docs/ARCHITECTURE.md, "Ingest").

The ingest handler reads the raw body itself (JSON or form, string-typed values, errors naming each field), so
Litestar cannot derive the body's schema from a parameter; this operation class adds it to the documentation.
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)

from gateway.normalise.json_body import MAX_JSON_DEPTH
from gateway.normalise.limits import FIELD_LIMITS, LINK_LIMIT, NAME_LIMIT
from gateway.settings import CHANNEL_VENDORS

__all__ = ("IngestOperation",)

_FIELDS = {
    "channel": "`kakao`, `lms` or `email`.",
    "userId": "Braze `external_id`.",
    "phone": "Recipient mobile number in any common Korean form; required for kakao and lms.",
    "email": "Recipient address; required for email.",
    "content": "Rendered text (kakao: at most 1,300 characters; lms: 2,000 EUC-KR bytes with the advertising text) "
    "or HTML (email: at most 200,000 characters).",
    "subject": "LMS title; email subject (required for email); kakao: the title of the fallback LMS.",
    "fallbackSubject": "kakao only: the title of the fallback LMS (else `subject`, else the content's first line).",
    "buttonName": "The single CTA button's name.",
    "buttonLinkMobile": "The single CTA button's mobile link.",
    "buttonLinkPC": "The single CTA button's PC link.",
    "imageUrl": "Image for kakao (image bubble) or email.",
    "ad": 'Advertising: `"true"`/`"Y"`/`"1"` or `"false"`/`"N"`/`"0"`; kakao is always advertising.',
    "fallback": "kakao only: `lms` or `none`; default from `GATEWAY_DEFAULT_FALLBACK`.",
    "vendor": "This message's vendor instead of the channel's configured one: "
    + "; ".join(f"{channel} " + ", ".join(f"`{name}`" for name in names) for channel, names in CHANNEL_VENDORS.items())
    + ".",
    "campaignId": "Braze campaign id.",
    "campaignName": "Braze campaign name.",
    "dispatchId": "Braze dispatch id (shared by every user of one send).",
    "canvasId": "Braze Canvas id.",
    "canvasStepId": "Braze Canvas step id.",
    "sendId": "Braze send id.",
    "idempotencyKey": "Explicit idempotency key (the `Idempotency-Key` header wins), scoped to the user and the "
    "channel; reused for a different message by the same user: 409.",
    "dryRun": '`"true"` (or the header `Dry-Run: true`): validate and preview, answer 200 with what would be sent; '
    "nothing is stored or sent.",
}
_BUTTON = Schema(
    type=OpenAPIType.OBJECT,
    properties={
        "name": Schema(type=OpenAPIType.STRING, max_length=NAME_LIMIT),
        "linkMobile": Schema(type=OpenAPIType.STRING, max_length=LINK_LIMIT),
        "linkPc": Schema(type=OpenAPIType.STRING, max_length=LINK_LIMIT),
    },
)
# Limits count characters once control characters are removed and blank space trimmed.
_TEXT_FIELDS: dict[str, Schema | Reference] = {
    name: Schema(type=OpenAPIType.STRING, description=text, max_length=FIELD_LIMITS.get(name))
    for name, text in _FIELDS.items()
}
_REQUIRED = ["channel", "userId", "content"]
_JSON = Schema(
    type=OpenAPIType.OBJECT,
    description=(
        "Every value may arrive as a string; unknown keys are accepted, kept in the stored raw body and listed in "
        "the answer's `ignoredFields`. A key given twice, or arrays and objects nested more than "
        f"{MAX_JSON_DEPTH} levels deep, are a 400. A required field of nothing but blank space, control or format "
        "characters is missing (422)."
    ),
    properties={
        **_TEXT_FIELDS,
        "buttons": Schema(
            type=OpenAPIType.ARRAY, items=_BUTTON, max_items=5, description="More than one CTA (raw JSON only)."
        ),
    },
    required=_REQUIRED,
)
_FORM = Schema(type=OpenAPIType.OBJECT, properties=_TEXT_FIELDS, required=_REQUIRED)
_EXAMPLE = {
    "channel": "kakao",
    "userId": "u-20250610-0001",
    "phone": "010-1234-5678",
    "content": "서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.",
    "buttonName": "지금 확인하기",
    "buttonLinkMobile": "https://www.wadiz.kr/web/campaign/detail/356850",
    "buttonLinkPC": "https://www.wadiz.kr/web/campaign/detail/356850",
    "ad": "true",
    "fallback": "lms",
    "campaignId": "c1a2b3",
    "dispatchId": "d-7f3e",
}
_BODY = RequestBody(
    required=True,
    description='One rendered Braze webhook body (see the README, "The Braze side").',
    content={
        "application/json": OpenAPIMediaType(schema=_JSON, example=_EXAMPLE),
        "application/x-www-form-urlencoded": OpenAPIMediaType(schema=_FORM),
    },
)


_DRY_RUN = Parameter(
    name="Dry-Run",
    param_in="header",
    required=False,
    schema=Schema(type=OpenAPIType.STRING),
    description="`true` (or another yes value: `Y`, `1`): validate and preview, answering 200 with what would be "
    "sent; nothing is stored or sent. The same as `dryRun` in the body.",
)


@dataclass
class IngestOperation(Operation):
    """The ingest operation, with the Braze body as its request body and the ``Dry-Run`` header."""

    def __post_init__(self) -> None:
        self.request_body = _BODY
        self.parameters = [*(self.parameters or []), _DRY_RUN]
