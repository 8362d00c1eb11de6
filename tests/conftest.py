"""Shared fixtures: settings for a sandboxed gateway on a temporary SQLite file, and a daytime clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.app import create_app
from gateway.settings import Settings, load_settings

POSTGRES_URL = os.environ.get("GATEWAY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a fresh, empty schema in the test PostgreSQL database, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    try:
        admin = await psycopg.AsyncConnection.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is unreachable (set GATEWAY_TEST_DATABASE_URL): {exc}")
    async with admin:
        await admin.execute(f"CREATE SCHEMA {schema}")
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}options=-c%20search_path%3D{schema}"
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each backend: a test taking it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/var/gateway.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


INGEST_TOKEN = "test-ingest-token"
VIEWER_TOKEN = "viewer-token-1"
OPERATOR_TOKEN = "operator-token-1"
#: 12:00 KST on a Friday: outside every quiet window.
NOON_KST = datetime(2026, 11, 27, 3, 0, tzinfo=UTC).timestamp()
#: 21:30 KST the same day: kakao and advertising LMS are in quiet hours.
NIGHT_KST = datetime(2026, 11, 27, 12, 30, tzinfo=UTC).timestamp()

#: The README's example body.
SEED_BODY: dict[str, Any] = {
    "channel": "kakao",
    "userId": "u-20250610-0001",
    "phone": "010-1234-5678",
    "content": "서포터님,\n헤어케어 카테고리에서 지금 가장 핫한 프로젝트는? 지금 확인해 보세요.\n"
    "✨[14억+ 앵콜] 미용실 50배 효과?! 단백질 쇼크 LPT 헤어팩🎉",
    "buttonName": "지금 확인하기",
    "buttonLinkMobile": "https://www.wadiz.kr/web/campaign/detail/356850",
    "buttonLinkPC": "https://www.wadiz.kr/web/campaign/detail/356850",
    "ad": "true",
    "fallback": "lms",
    "campaignId": "c1a2b3",
    "campaignName": "realtime-best-category",
    "dispatchId": "d-7f3e",
}


#: A plain LMS and an HTML email, beside the kakao SEED_BODY.
LMS_BODY: dict[str, Any] = {
    "channel": "lms",
    "userId": "u-1",
    "phone": "010-9876-5432",
    "subject": "지금 가장 핫한 프로젝트",
    "content": "서포터님, 지금 확인해 보세요.",
    "ad": "false",
}
EMAIL_BODY: dict[str, Any] = {
    "channel": "email",
    "userId": "u-2",
    "email": "jane@example.com",
    "subject": "이번 주 추천 프로젝트",
    "content": "<p>지금 확인해 보세요</p>",
}
#: Real credentials for NHN kakao and SMS and for SendGrid, with the sender values they need.
REAL_NHN = {
    "GATEWAY_NHN_KAKAO_APPKEY": "kakao-app",
    "GATEWAY_NHN_KAKAO_SECRET": "kakao-secret",
    "GATEWAY_NHN_SENDER_KEY": "s" * 40,
    "GATEWAY_NHN_SMS_APPKEY": "sms-app",
    "GATEWAY_NHN_SMS_SECRET": "sms-secret",
    "GATEWAY_SMS_SENDER_NO": "0212345678",
    "GATEWAY_SENDGRID_API_KEY": "SG.key",
    "GATEWAY_EMAIL_FROM": "news@example.com",
    "GATEWAY_SENDER_NAME": "와디즈",
    "GATEWAY_OPT_OUT_080": "080-123-4567",
}
#: Real NHN kakao and SMS at staging hosts; every other product emulated.
NHN_KAKAO_AND_SMS = {
    **{name: value for name, value in REAL_NHN.items() if "SENDGRID" not in name and name != "GATEWAY_EMAIL_FROM"},
    "GATEWAY_NHN_KAKAO_URL": "https://kakao.staging.test",
    "GATEWAY_NHN_SMS_URL": "https://sms.staging.test",
}
#: Braze feedback configured (the REST host is mocked or never reached in tests).
BRAZE = {"GATEWAY_BRAZE_REST_URL": "https://rest.braze.test", "GATEWAY_BRAZE_API_KEY": "braze-key"}


class Clock:
    """A settable clock: tests move time instead of waiting."""

    def __init__(self, now: float = NOON_KST) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_settings(tmp_path: Path, **env: str) -> Settings:
    """Sandbox settings on a SQLite file under ``tmp_path``; ``env`` adds or overrides variables."""
    base = {
        "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/gateway.db",
        "GATEWAY_INGEST_TOKENS": INGEST_TOKEN,
        "GATEWAY_STAFF_TOKENS": f"ann:viewer:{VIEWER_TOKEN},bo:operator:{OPERATOR_TOKEN}",
        # respx intercepts httpcore's pool; tests/adapters/test_transport.py drives the default (aiohttp) one.
        "GATEWAY_HTTP_TRANSPORT": "httpx",
    }
    return load_settings({**base, **env})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings, clock: Clock) -> Litestar:
    return create_app(settings, clock=clock, start_dispatcher=False)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app) as test_client:
        yield test_client


def ingest_headers(**extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {INGEST_TOKEN}", **extra}


def staff_headers(token: str = VIEWER_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


Factory = Callable[..., Litestar]
