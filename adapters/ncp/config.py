"""Naver Cloud SENS connection settings (built from ``GATEWAY_NCP_*`` by the package's spec)."""

from __future__ import annotations

import msgspec

__all__ = ("NCP_URL", "NcpConfig")

#: The production base URL (``GATEWAY_NCP_URL`` overrides it).
NCP_URL = "https://sens.apigw.ntruss.com"


class NcpConfig(msgspec.Struct, frozen=True, kw_only=True):
    """SENS SMS API v2: the account's access and secret keys, the project's SMS service id, the sender number."""

    url: str = NCP_URL
    access_key: str
    secret_key: str
    service_id: str
    send_no: str
