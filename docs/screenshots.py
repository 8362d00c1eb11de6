"""Take the README's console screenshots: the search page and a message page, on a laptop and on a phone.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python docs/screenshots.py``. It starts a sandboxed
gateway (the browser test's live server), sends a few messages through the emulators (one delivered, one that
NHN rejects for good, one whose receipt says Kakao cannot reach the user, so it falls back to an LMS), signs in as
an operator and saves PNGs next to this file. Emoji need a colour emoji font (Debian: ``fonts-noto-color-emoji``),
Korean ``fonts-noto-cjk``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from tests.conftest import OPERATOR_TOKEN, SEED_BODY
from tests.live_server import LiveGateway, live_gateway
from tests.test_console_browser import CHROMIUM, CHROMIUM_ARGS

__all__ = ("main",)

HERE = Path(__file__).parent
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
#: The seed body's phone number as the emulator sees it.
PHONE_NUMBER = "01012345678"


def seed(gateway: LiveGateway) -> str:
    """Send the messages the pictures show; return the id of the one that fell back to LMS."""
    gateway.wait_for(gateway.send(), "delivered")  # before the 3018 below could apply to its receipt too
    gateway.send_dead(dispatchId="d-7f40")
    outcomes = gateway.app.state.runtime.emulators["nhn_kakao"].outcomes
    outcomes[PHONE_NUMBER] = "3018"
    fell_back = gateway.post(SEED_BODY | {"dispatchId": "d-7f41"})
    child = gateway.wait_for(fell_back, "fallback")["message"]["childId"]
    del outcomes[PHONE_NUMBER]
    gateway.wait_for(child, "delivered")
    return fell_back


def shoot(page: Page, url: str, name: str) -> None:
    page.goto(url)
    page.screenshot(path=HERE / name, full_page=True)
    print(f"saved docs/{name}")


def main() -> None:
    with tempfile.TemporaryDirectory() as directory, live_gateway(Path(directory)) as gateway:
        message_id = seed(gateway)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for viewport, suffix in ((LAPTOP, ""), (PHONE, "-phone")):
                page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
                page.goto(f"{gateway.url}/admin/sign-in")
                page.get_by_label("직원 토큰 Staff token").fill(OPERATOR_TOKEN)
                page.get_by_role("button", name="로그인 Sign in").click()
                search = f"{gateway.url}/admin/messages?userId={SEED_BODY['userId']}"
                shoot(page, search, f"console-search{suffix}.png")
                shoot(page, f"{gateway.url}/admin/messages/{message_id}", f"console-message{suffix}.png")
                shoot(page, f"{gateway.url}/admin", f"console-dashboard{suffix}.png")
            browser.close()


if __name__ == "__main__":
    main()
