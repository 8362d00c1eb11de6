"""In sandbox mode Braze is reached over the network while every vendor stays emulated."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from adapters.emulator import EmulatorTransport
from adapters.registry import build_runtime
from gateway.feedback.transport import BrazePassThrough, with_braze
from tests.conftest import BRAZE, make_settings


def test_without_braze_or_without_emulators_the_transport_is_unchanged(tmp_path: Path) -> None:
    sandbox = build_runtime(make_settings(tmp_path))
    emulated = sandbox.transport

    assert with_braze(emulated, make_settings(tmp_path)) is emulated
    assert with_braze(None, make_settings(tmp_path, **BRAZE)) is None
    assert isinstance(with_braze(emulated, make_settings(tmp_path, **BRAZE)), BrazePassThrough)


@respx.mock
async def test_braze_goes_to_the_network_and_vendors_to_their_emulators(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, **BRAZE)
    runtime = build_runtime(settings)
    assert isinstance(runtime.transport, EmulatorTransport)
    braze = respx.post("https://rest.braze.test/users/track").mock(return_value=httpx.Response(201))

    async with httpx.AsyncClient(transport=with_braze(runtime.transport, settings)) as client:
        to_braze = await client.post("https://rest.braze.test/users/track", json={"events": []})
        to_sendgrid = await client.post("https://api.sendgrid.com/v3/mail/send", json={})
        with pytest.raises(httpx.ConnectError):
            await client.get("https://example.com/")  # neither Braze nor an emulated vendor

    assert (to_braze.status_code, braze.call_count) == (201, 1)
    assert to_sendgrid.status_code == 401  # the SendGrid emulator: no API key
    assert len(runtime.emulators["sendgrid"].requests) == 1
