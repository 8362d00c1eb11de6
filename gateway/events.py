"""Structured event logs (issue 11): one JSON line for every state change, receipt, fallback, replay, refusal
and sign-in, under the ``gateway.events`` logger.

The event's name is the line's ``event`` (``message.status``, ``receipt.applied`` ...) and its fields are ids,
statuses and codes only, never a phone number, an email, a token or a body: :class:`~gateway.log.JsonFormatter`
drops any field not on its allow-list. Routine progress is ``info``; what an operator should look at (a message
that ended without reaching its user, a refusal, a failed sign-in) is ``warning``, so ``GATEWAY_LOG_LEVEL=WARNING``
keeps only those.
"""

from __future__ import annotations

import logging

from gateway.models import Status

__all__ = ("UNSUCCESSFUL", "log_event", "status_changed")

_log = logging.getLogger("gateway.events")
#: Final states that did not reach the user: logged as warnings.
UNSUCCESSFUL = frozenset({Status.DEAD, Status.FAILED, Status.UNKNOWN, Status.SUPPRESSED})


def log_event(name: str, *, warning: bool = False, **fields: object) -> None:
    """Log event ``name`` with ``fields`` (ids, statuses, codes)."""
    _log.log(logging.WARNING if warning else logging.INFO, name, extra=fields)


def status_changed(message_id: str, status: Status, *, code: str | None = None, **fields: object) -> None:
    """Log a message entering ``status`` (``message.status``); a warning for an unsuccessful final state."""
    log_event(
        "message.status",
        warning=status in UNSUCCESSFUL,
        message_id=message_id,
        status=status.value,
        code=code,
        **fields,
    )
