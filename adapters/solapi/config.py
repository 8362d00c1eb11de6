"""Solapi's connection settings (built from ``GATEWAY_SOLAPI_*`` by the package's spec)."""

from __future__ import annotations

import msgspec

__all__ = ("SOLAPI_URL", "SolapiConfig")

#: The production base URL (``GATEWAY_SOLAPI_URL`` overrides it).
SOLAPI_URL = "https://api.solapi.com"


class SolapiConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Solapi; ``pf_id`` is the Kakao channel id, ``send_no`` the registered sender number."""

    url: str = SOLAPI_URL
    api_key: str
    api_secret: str
    pf_id: str
    send_no: str
