"""Every route refuses an unauthenticated caller, except the few that must be public.

See docs/ARCHITECTURE.md, "Quality bars".
"""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient

#: Public by design: liveness, readiness, metrics (GATEWAY_METRICS_PUBLIC), what a person needs to sign in, and
#: the bare host, which only redirects to the console.
PUBLIC = {
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/admin/sign-in"),
    ("POST", "/admin/sign-in"),
    ("GET", "/admin/static/{file_path:path}"),
}
#: Refusals: not authenticated, not allowed (CSRF), unknown token path, or sent to the sign-in page.
REFUSED = {401, 403, 404}


async def test_no_route_answers_an_unauthenticated_caller(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    checked = []
    for route in app.routes:
        for method in sorted(set(getattr(route, "methods", ())) - {"OPTIONS", "HEAD"}):
            if (method, route.path) in PUBLIC:
                continue
            path = re.sub(r"\{[^}]+\}", "x", route.path)
            response = await client.request(method, path, follow_redirects=False)
            refused = response.status_code in REFUSED or (
                response.status_code in (302, 303) and response.headers["location"].startswith("/admin/sign-in")
            )
            assert refused, (method, route.path, response.status_code)
            checked.append((method, route.path))
    assert ("POST", "/v1/braze/messages") in checked
    assert ("GET", "/schema/openapi.json") in checked
    assert len(checked) > 25
