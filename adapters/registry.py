"""Builds the adapters (and, in sandbox mode, the emulators) for the configured vendors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import msgspec

from adapters.base import Adapter
from adapters.emulators.base import Emulator, EmulatorTransport
from adapters.emulators.nhn_email import NhnEmailEmulator
from adapters.emulators.nhn_kakao import NhnKakaoEmulator
from adapters.emulators.nhn_sms import NhnSmsEmulator
from adapters.emulators.sendgrid import SendGridEmulator
from adapters.emulators.solapi import SolapiEmulator
from adapters.nhn_email import NhnEmailAdapter
from adapters.nhn_kakao import NhnKakaoAdapter
from adapters.nhn_sms import NhnSmsAdapter
from adapters.sendgrid import SendGridAdapter
from adapters.solapi import SolapiKakaoAdapter, SolapiLmsAdapter

if TYPE_CHECKING:
    from gateway.settings import Settings

__all__ = ("Runtime", "build_runtime")


class Runtime(msgspec.Struct, frozen=True):
    """What the dispatcher needs to reach vendors.

    Attributes:
        adapters: The adapter for each configured ``(vendor, channel)``.
        emulators: In sandbox mode, the emulator of each vendor host by name (``nhn_kakao``, ``solapi``, ...).
        transport: The httpx transport to use: the emulators in sandbox mode, else ``None`` (real HTTP).
    """

    adapters: dict[tuple[str, str], Adapter]
    emulators: dict[str, Emulator]
    transport: httpx.AsyncBaseTransport | None


def build_runtime(settings: Settings) -> Runtime:
    """Adapters for every vendor with a config; emulators for them too when ``settings.sandbox``."""
    adapters: dict[tuple[str, str], Adapter] = {}
    emulators: dict[str, Emulator] = {}
    if settings.nhn_kakao:
        adapters[("nhn", "kakao")] = NhnKakaoAdapter(settings.nhn_kakao)
        emulators["nhn_kakao"] = NhnKakaoEmulator(settings.nhn_kakao)
    if settings.nhn_sms:
        adapters[("nhn", "lms")] = NhnSmsAdapter(settings.nhn_sms)
        emulators["nhn_sms"] = NhnSmsEmulator(settings.nhn_sms)
    if settings.nhn_email:
        adapters[("nhn", "email")] = NhnEmailAdapter(settings.nhn_email)
        emulators["nhn_email"] = NhnEmailEmulator(settings.nhn_email)
    if settings.solapi:
        if settings.solapi.pf_id:
            adapters[("solapi", "kakao")] = SolapiKakaoAdapter(settings.solapi)
        adapters[("solapi", "lms")] = SolapiLmsAdapter(settings.solapi)
        emulators["solapi"] = SolapiEmulator(settings.solapi)
    if settings.sendgrid:
        adapters[("sendgrid", "email")] = SendGridAdapter(settings.sendgrid)
        emulators["sendgrid"] = SendGridEmulator(settings.sendgrid)
    if not settings.sandbox:
        return Runtime(adapters, {}, None)
    return Runtime(adapters, emulators, EmulatorTransport(list(emulators.values())))
