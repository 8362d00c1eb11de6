"""Prometheus metrics (SPEC §10)."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

__all__ = (
    "ATTEMPTS",
    "BREAKER",
    "CONTENT_TYPE_LATEST",
    "INGEST",
    "QUEUE_DEPTH",
    "RECEIPTS",
    "VENDOR_LATENCY",
    "render",
    "set_breakers",
)

INGEST = Counter("gateway_ingest_total", "Inbound Braze requests by outcome.", ["outcome"])
QUEUE_DEPTH = Gauge("gateway_queue_depth", "Messages by lifecycle state.", ["status"])
VENDOR_LATENCY = Histogram(
    "gateway_vendor_latency_seconds",
    "Duration of vendor calls.",
    ["vendor", "channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ATTEMPTS = Counter("gateway_attempts_total", "Vendor calls by outcome.", ["vendor", "channel", "outcome"])
RECEIPTS = Counter("gateway_receipts_total", "Delivery receipts by outcome.", ["vendor", "outcome"])
BREAKER = Gauge(
    "gateway_vendor_breaker",
    "Circuit breaker of each vendor product: 1 for its current state (closed, open, half-open), 0 for the others.",
    ["product", "state"],
)
_BREAKER_STATES = ("closed", "open", "half-open")


def set_breakers(states: Mapping[str, str]) -> None:
    """Set :data:`BREAKER` from each product's state."""
    for product, current in states.items():
        for state in _BREAKER_STATES:
            BREAKER.labels(product, state).set(1 if state == current else 0)


def render() -> bytes:
    """The current metrics in Prometheus text format."""
    return generate_latest()
