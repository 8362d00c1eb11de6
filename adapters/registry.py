"""Builds the adapters for the configured vendors, and the emulators of the products that are emulated."""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from adapters.transport import network_transport

if TYPE_CHECKING:
    from gateway.settings import Settings

__all__ = ("Runtime", "build_runtime")

_log = logging.getLogger(__name__)

#: The emulator of each product, by the product's name (also its ``Settings`` attribute).
_EMULATORS: dict[str, Callable[..., Emulator]] = {
    "nhn_kakao": NhnKakaoEmulator,
    "nhn_sms": NhnSmsEmulator,
    "nhn_email": NhnEmailEmulator,
    "solapi": SolapiEmulator,
    "sendgrid": SendGridEmulator,
}


class Runtime(msgspec.Struct, frozen=True):
    """What the dispatcher needs to reach vendors.

    Attributes:
        adapters: The adapter for each configured ``(vendor, channel)``.
        emulators: The emulator of each emulated product by name (``nhn_kakao``, ``solapi``, ...).
        transport: The httpx transport to use: with emulators, one that sends their hosts to them and (when some
            products are real) every other host over the network; without, ``None`` (real HTTP).
    """

    adapters: dict[tuple[str, str], Adapter]
    emulators: dict[str, Emulator]
    transport: httpx.AsyncBaseTransport | None


def build_runtime(settings: Settings) -> Runtime:
    """Adapters for every product with a config; emulators only for those in ``settings.emulated``."""
    adapters = _adapters(settings)
    configured = [name for name in _EMULATORS if getattr(settings, name) is not None]
    emulators = {
        name: _EMULATORS[name](getattr(settings, name), outcomes=settings.sandbox_outcomes.get(name))
        for name in configured
        if name in settings.emulated
    }
    real = [name for name in configured if name not in emulators]
    if not emulators:
        return Runtime(adapters, {}, None)
    if real:
        # A half-real gateway is legitimate (one vendor's keys still pending) but must not go unnoticed.
        _log.warning(
            "vendors emulated, their messages are answered in-process and not delivered: %s (real: %s)",
            ", ".join(emulators),
            ", ".join(real),
        )
    # Only a gateway with real products may reach the network; a full sandbox refuses every other host.
    # A client ignores its own limits once given a transport, so the real one brings the same pool.
    fallback = network_transport(settings.http_transport) if real else None
    return Runtime(adapters, emulators, EmulatorTransport(list(emulators.values()), fallback))


def _adapters(settings: Settings) -> dict[tuple[str, str], Adapter]:
    """The adapter of each (vendor, channel) whose product is configured."""
    adapters: dict[tuple[str, str], Adapter] = {}
    if settings.nhn_kakao:
        adapters[("nhn", "kakao")] = NhnKakaoAdapter(settings.nhn_kakao)
    if settings.nhn_sms:
        adapters[("nhn", "lms")] = NhnSmsAdapter(settings.nhn_sms)
    if settings.nhn_email:
        adapters[("nhn", "email")] = NhnEmailAdapter(settings.nhn_email)
    if settings.solapi:
        if settings.solapi.pf_id:
            adapters[("solapi", "kakao")] = SolapiKakaoAdapter(settings.solapi)
        adapters[("solapi", "lms")] = SolapiLmsAdapter(settings.solapi)
    if settings.sendgrid:
        adapters[("sendgrid", "email")] = SendGridAdapter(settings.sendgrid)
    return adapters
