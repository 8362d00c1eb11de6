"""The start-up summary line."""

from __future__ import annotations

from pathlib import Path

from gateway.startup import summary
from tests.conftest import make_settings


def test_serve_names_its_content_sources_without_their_urls(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, GATEWAY_CONTENT_SOURCES="best=https://api.example.com/best?key=secret-key,new=https://x.test/new"
    )
    line = summary(settings, "serve", dispatcher=True)
    assert "Connected Content: best, new (TTL 3600 s)" in line
    assert "secret-key" not in line
    assert "api.example.com" not in line
    assert "Connected Content" not in summary(settings, "worker", dispatcher=True)
    assert "Connected Content" not in summary(make_settings(tmp_path), "serve", dispatcher=True)
