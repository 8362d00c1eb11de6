"""The single NHN callback endpoint: KakaoTalk Bizmessage and SMS webhooks arrive at one URL.

Both products sign with a static ``X-Toast-Webhook-Signature`` value typed into each product's own console, so
the two may differ; they share the envelope, whose ``productName`` says which product's hooks follow (and so
which value must sign it).
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from adapters.contract import Receipt
from adapters.nhn import kakao as nhn_kakao
from adapters.nhn import sms as nhn_sms
from adapters.nhn.common import verify_callback

__all__ = ("parse_callback", "product_of", "verify_callback")

_PARSERS: dict[str, Callable[[bytes], list[Receipt]]] = {
    nhn_kakao.PRODUCT.lower(): nhn_kakao.parse_callback,
    nhn_sms.PRODUCT.lower(): nhn_sms.parse_callback,
}


_PRODUCTS = {nhn_kakao.PRODUCT.lower(): "nhn_kakao", nhn_sms.PRODUCT.lower(): "nhn_sms"}


class _Envelope(msgspec.Struct, frozen=True, rename="camel"):
    product_name: str


def product_of(body: bytes) -> str | None:
    """The product (``nhn_kakao``, ``nhn_sms``) a webhook body names, or ``None`` when it names none of them."""
    try:
        product = msgspec.json.decode(body, type=_Envelope).product_name
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return _PRODUCTS.get(product.lower())


def parse_callback(body: bytes) -> list[Receipt]:
    """Parse any NHN webhook into receipts, by its ``productName``.

    Raises:
        ValueError: The body is malformed or comes from a product without delivery receipts.
    """
    try:
        product = msgspec.json.decode(body, type=_Envelope).product_name
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"malformed NHN webhook: {exc}") from exc
    parser = _PARSERS.get(product.lower())
    if parser is None:
        raise ValueError(f"NHN webhook from {product!r}, which sends no delivery receipts here")
    return parser(body)
