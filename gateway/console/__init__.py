"""The support console at ``/admin``: Jinja pages, a stylesheet, session sign-in and CSRF-checked forms.

Only the console's routes carry the session and CSRF middleware, so the JSON API (bearer tokens) and the webhook
and callback routes are untouched by them.

See docs/ARCHITECTURE.md, "Support API and console".
"""

from __future__ import annotations

import os
from pathlib import Path

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from adapters.codes import explain_code
from gateway.console.campaigns import CampaignController
from gateway.console.labels import outcome_label, status_label
from gateway.console.pages import kst
from gateway.console.routes import ConsoleController
from gateway.console.session import console_middleware
from gateway.settings import Settings

__all__ = ("console_handlers", "console_templates")

_HERE = Path(__file__).parent


def console_handlers(settings: Settings) -> list[ControllerRouterHandler]:
    """The console's pages and static files.

    Without ``GATEWAY_SESSION_SECRET`` a random key is made here: sessions then end when the process restarts,
    and several worker processes do not share them.
    """
    secret = settings.session_secret or os.urandom(32)
    middleware = console_middleware(settings, secret)
    pages = type("Console", (ConsoleController,), {"middleware": middleware})
    campaigns = type("Campaigns", (CampaignController,), {"middleware": middleware})
    static: Router = create_static_files_router(
        path="/admin/static", directories=[_HERE / "static"], include_in_schema=False, name="console-static"
    )
    return [pages, campaigns, static]


def console_templates() -> TemplateConfig[JinjaTemplateEngine]:
    """The console's Jinja templates (autoescaped), with the helpers every page may use."""
    return TemplateConfig(directory=_HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_add_helpers)


def _add_helpers(engine: JinjaTemplateEngine) -> None:
    """Times in KST, the Korean words for the API's terms and the vendor codes' meanings, in every template."""
    engine.engine.globals.update(
        kst=kst, status_label=status_label, outcome_label=outcome_label, explain_code=explain_code
    )
