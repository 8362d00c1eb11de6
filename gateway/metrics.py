"""Prometheus metrics (docs/ARCHITECTURE.md, "Operations").

The ``_created`` series (each counter's creation time) are turned off: they double the output and no dashboard
uses them.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

__all__ = (
    "ATTEMPTS",
    "BREAKER",
    "CHANGED_REPEATS",
    "CONTENT_ANSWERS",
    "CONTENT_TYPE_LATEST",
    "CONTENT_UPSTREAM_ERRORS",
    "CONTENT_UPSTREAM_LATENCY",
    "IGNORED_FIELDS",
    "INGEST",
    "QUEUE_DEPTH",
    "RECEIPTS",
    "REFUSED",
    "VENDOR_LATENCY",
    "render",
    "set_breakers",
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client 0.2x

INGEST = Counter("gateway_ingest_total", "Inbound Braze requests by outcome.", ["outcome"])
REFUSED = Counter("gateway_ingest_refused_total", "Refused Braze requests by HTTP status (401 too).", ["http_status"])
CHANGED_REPEATS = Counter(
    "gateway_ingest_changed_repeats_total",
    "Repeats of a message (same Braze ids or content key) whose normalised message differs from the first.",
    ["key_kind"],
)
IGNORED_FIELDS = Counter(
    "gateway_ingest_ignored_fields_total",
    "Body keys the gateway does not read, by whether they resemble a known key.",
    ["kind"],
)
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


#: Connected Content (issue 13): answers by cache outcome (``hit``, ``miss``, ``stale``, ``error`` for a 502).
CONTENT_ANSWERS = Counter(
    "gateway_content_answers_total", "Connected Content answers by cache outcome.", ["source", "cache"]
)
CONTENT_UPSTREAM_ERRORS = Counter(
    "gateway_content_upstream_errors_total", "Failed Connected Content upstream calls by reason.", ["source", "reason"]
)
CONTENT_UPSTREAM_LATENCY = Histogram(
    "gateway_content_upstream_latency_seconds",
    "Duration of Connected Content upstream calls, failed ones included.",
    ["source"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0),
)


def render() -> bytes:
    """The current metrics in Prometheus text format."""
    return generate_latest()
