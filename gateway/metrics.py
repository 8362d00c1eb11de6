"""Prometheus metrics (docs/ARCHITECTURE.md, "Operations")."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

__all__ = (
    "ATTEMPTS",
    "CONTENT_TYPE_LATEST",
    "INGEST",
    "QUEUE_DEPTH",
    "RECEIPTS",
    "VENDOR_LATENCY",
    "render",
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


def render() -> bytes:
    """The current metrics in Prometheus text format."""
    return generate_latest()
