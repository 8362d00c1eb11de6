"""Structured event logs (issue 11): one JSON line for every state change, receipt, fallback, replay, refusal
and sign-in, under the ``gateway.events`` logger.

The event's name is the line's ``event`` (``message.status``, ``receipt.settled`` ...) and its fields are ids,
statuses and codes only, never a phone number, an email, a token or a body: :class:`~gateway.log.JsonFormatter`
drops any field not on its allow-list. Levels, so that ``GATEWAY_LOG_LEVEL`` filters them: a message entering
``queued`` or ``sending`` (one line per message per step, the bulk of the volume) is ``debug``; other progress
is ``info``; what an operator should look at (a message that ended without reaching its user, a refusal, a
failed sign-in) is ``warning``.
"""

from __future__ import annotations

import logging

from gateway.models import Status

__all__ = ("ROUTINE", "UNSUCCESSFUL", "log_event", "status_changed")

_log = logging.getLogger("gateway.events")
#: Final states that did not reach the user: logged as warnings.
UNSUCCESSFUL = frozenset({Status.DEAD, Status.FAILED, Status.UNKNOWN, Status.SUPPRESSED})
#: States every message passes through: logged at debug level.
ROUTINE = frozenset({Status.QUEUED, Status.SENDING})


def log_event(name: str, *, level: int = logging.INFO, **fields: object) -> None:
    """Log event ``name`` with ``fields`` (ids, statuses, codes)."""
    if _log.isEnabledFor(level):
        _log.log(level, name, extra=fields)


def status_changed(message_id: str, status: Status, *, code: str | None = None, **fields: object) -> None:
    """Log a message entering ``status`` (``message.status``) at the level its kind of state has."""
    level = logging.WARNING if status in UNSUCCESSFUL else logging.DEBUG if status in ROUTINE else logging.INFO
    log_event("message.status", level=level, message_id=message_id, status=status.value, code=code, **fields)
