"""The vendor registry: every vendor package's spec, and the runtime built from the configured products.

Adding a vendor is one line in :data:`VENDORS` (docs/ARCHITECTURE.md, "Adding a vendor").
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Set
from typing import Any, Protocol

import httpx
import msgspec

from adapters.base import Adapter
from adapters.contract import Channel, Reason, Receipt
from adapters.emulator import Emulator, EmulatorTransport
from adapters.spec import Callback, KakaoImages, Lookup, Product, VendorSpec
from adapters.transport import TransportKind, network_transport

__all__ = (
    "PACKAGES",
    "VENDORS",
    "ConfiguredProducts",
    "Runtime",
    "build_runtime",
    "callbacks",
    "channel_vendors",
    "product_of",
    "products",
    "reason_of",
    "vendor",
)

#: The vendor packages under ``adapters/``, each exporting its ``SPEC``: adding a vendor adds its name here.
PACKAGES = ("nhn", "solapi", "sendgrid", "ncp")


def _spec(package: str) -> VendorSpec:
    spec = importlib.import_module(f"adapters.{package}").SPEC
    if not isinstance(spec, VendorSpec):
        raise TypeError(f"adapters.{package}.SPEC is not a VendorSpec")
    return spec


#: Every vendor the gateway can send through, in :data:`PACKAGES` order.
VENDORS: tuple[VendorSpec, ...] = tuple(_spec(package) for package in PACKAGES)

_log = logging.getLogger(__name__)
_BY_NAME = {spec.name: spec for spec in VENDORS}


def vendor(name: str) -> VendorSpec:
    """The spec of vendor ``name``.

    Raises:
        KeyError: No such vendor.
    """
    return _BY_NAME[name]


def products() -> dict[str, Product]:
    """Every vendor product by name, in registry order."""
    return {product.name: product for spec in VENDORS for product in spec.products}


def channel_vendors(defaults: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The vendors of each channel, the channel's default (from ``defaults``) first."""
    found: dict[Channel, list[str]] = {}
    for spec in VENDORS:
        for product in spec.products:
            for channel in product.channels:
                names = found.setdefault(channel, [])
                if spec.name not in names:
                    names.append(spec.name)
    ordered: dict[str, tuple[str, ...]] = {}
    for channel, names in found.items():
        default = defaults.get(channel)
        ordered[channel] = tuple(sorted(names, key=lambda name: name != default))
    return ordered


def product_of(vendor_name: str, channel: str) -> str:
    """The name of the product that sends ``channel`` for ``vendor_name`` (each has its own limits and breaker).

    Raises:
        KeyError: The vendor has no product for that channel.
    """
    product = vendor(vendor_name).product_for(channel)
    if product is None:
        raise KeyError(f"{vendor_name} sends no {channel}")
    return product.name


def callbacks() -> dict[str, Callback]:
    """The callback of each vendor that calls back, by vendor name."""
    return {spec.name: spec.callback for spec in VENDORS if spec.callback is not None}


def reason_of(receipt: Receipt, channel: Channel) -> Reason:
    """The receipt's reason: its parser's, else the vendor's mapping of its code (receipts stored before reasons)."""
    if receipt.reason is not None:
        return receipt.reason
    spec = _BY_NAME.get(receipt.vendor)
    return Reason.OTHER if spec is None else spec.reason(channel, receipt.outcome, receipt.code)


class ConfiguredProducts(Protocol):
    """What :func:`build_runtime` reads of the gateway's settings."""

    @property
    def products(self) -> Mapping[str, Any]:
        """Each configured product's config by product name."""
        ...

    @property
    def emulated(self) -> Set[str]:
        """The products answered by their emulators."""
        ...

    @property
    def sandbox_outcomes(self) -> Mapping[str, Mapping[str, str]]:
        """Per emulated product, the result its emulator reports for a recipient."""
        ...

    @property
    def http_transport(self) -> TransportKind:
        """The HTTP transport that reaches real vendors."""
        ...


class Runtime(msgspec.Struct, frozen=True):
    """What the dispatcher needs to reach vendors.

    Attributes:
        adapters: The adapter for each configured ``(vendor, channel)``.
        lookups: The lookup of each configured ``(vendor, channel)`` whose product has one (uncertain sends).
        kakao_images: By vendor, how its kakao sends take an image from any URL (where its product says).
        emulators: The emulator of each emulated product by name (``nhn_kakao``, ``solapi``, ...).
        transport: The httpx transport to use: with emulators, one that sends their hosts to them and (when some
            products are real) every other host over the network; without, ``None`` (real HTTP).
    """

    adapters: dict[tuple[str, str], Adapter]
    emulators: dict[str, Emulator]
    transport: httpx.AsyncBaseTransport | None
    lookups: dict[tuple[str, str], Lookup] = msgspec.field(default_factory=dict)
    kakao_images: dict[str, KakaoImages] = msgspec.field(default_factory=dict)


def build_runtime(settings: ConfiguredProducts) -> Runtime:
    """Adapters for every product with a config; emulators only for those in ``settings.emulated``."""
    adapters: dict[tuple[str, str], Adapter] = {}
    lookups: dict[tuple[str, str], Lookup] = {}
    emulators: dict[str, Emulator] = {}
    images: dict[str, KakaoImages] = {}
    real: list[str] = []
    for spec in VENDORS:
        for product in spec.products:
            config = settings.products.get(product.name)
            if config is None:
                continue
            lookup = product.lookup(config) if product.lookup is not None else None
            if product.kakao_images is not None:
                images[spec.name] = product.kakao_images(config)
            for channel, adapter in product.senders(config).items():
                adapters[(spec.name, channel)] = adapter
                if lookup is not None:
                    lookups[(spec.name, channel)] = lookup
            if product.name in settings.emulated:
                emulators[product.name] = product.emulator(config, settings.sandbox_outcomes.get(product.name))
            else:
                real.append(product.name)
    if not emulators:
        return Runtime(adapters, {}, None, lookups, images)
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
    return Runtime(adapters, emulators, EmulatorTransport(list(emulators.values()), fallback), lookups, images)
