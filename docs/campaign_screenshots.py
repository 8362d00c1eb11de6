"""Take the README's campaign screenshots (a report and the list of recent campaigns), on a laptop and a phone.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python docs/campaign_screenshots.py``. It starts a sandboxed
gateway with unit prices (the browser test's live server), sends the browser test's campaign through the
emulators, signs in as a viewer and saves PNGs next to this file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.conftest import VIEWER_TOKEN
from tests.live_server import live_gateway
from tests.test_campaign_browser import CAMPAIGN, CAMPAIGN_ENV, seed_campaign
from tests.test_console_browser import CHROMIUM, CHROMIUM_ARGS

__all__ = ("main",)

HERE = Path(__file__).parent
SIZES = (({"width": 1280, "height": 800}, ""), ({"width": 390, "height": 844}, "-phone"))


def main() -> None:
    with tempfile.TemporaryDirectory() as directory, live_gateway(Path(directory), **CAMPAIGN_ENV) as gateway:
        seed_campaign(gateway)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for viewport, suffix in SIZES:
                page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
                page.goto(f"{gateway.url}/admin/sign-in")
                page.get_by_label("직원 토큰 Staff token").fill(VIEWER_TOKEN)
                page.get_by_role("button", name="로그인 Sign in").click()
                for url, name in (
                    (f"{gateway.url}/admin/campaigns/{CAMPAIGN}", f"console-campaign{suffix}.png"),
                    (f"{gateway.url}/admin/campaigns", f"console-campaigns{suffix}.png"),
                ):
                    page.goto(url)
                    page.screenshot(path=HERE / name, full_page=True)
                    print(f"saved docs/{name}")
            browser.close()


if __name__ == "__main__":
    main()
