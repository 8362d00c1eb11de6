"""SendGrid's connection settings (built from ``GATEWAY_SENDGRID_*`` by the package's spec)."""

from __future__ import annotations

import msgspec

__all__ = ("SENDGRID_URL", "SendGridConfig")

#: The production base URL (``GATEWAY_SENDGRID_URL`` overrides it).
SENDGRID_URL = "https://api.sendgrid.com"


class SendGridConfig(msgspec.Struct, frozen=True, kw_only=True):
    """SendGrid v3."""

    url: str = SENDGRID_URL
    api_key: str
    from_email: str
    from_name: str | None = None
    #: The opt-out page of advertising mail (``GATEWAY_EMAIL_UNSUBSCRIBE_URL``); without it SendGrid's subscription
    #: tracking link is used.
    unsubscribe_url: str | None = None
