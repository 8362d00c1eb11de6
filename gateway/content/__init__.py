"""Connected Content cache (issue 13): ``GET /v1/content/{source}`` answers an upstream's JSON from memory.

Braze calls the customer's API for every user at send time and waits at most 2 s; the gateway answers those calls
from a bounded in-process cache instead (docs/content.md).
"""

from __future__ import annotations

from gateway.content.routes import get_content
from gateway.content.service import ContentService

__all__ = ("ContentService", "get_content")
