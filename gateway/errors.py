"""The refusals the gateway's domain raises; ``gateway/api/problems.py`` maps each to its problem response.

Nothing outside ``gateway/api`` (and the console, which renders the same problems as pages) knows HTTP: the
CLI, the dispatcher's duties and the sandbox catch these.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.normalise.errors import FieldError

__all__ = (
    "CallbackRejected",
    "CallbackUnauthenticated",
    "GatewayError",
    "InvalidSelection",
    "MalformedCallback",
    "MessageNotFound",
    "ReplayRefused",
    "UnknownCallback",
)


class GatewayError(Exception):
    """A request the gateway refuses; ``detail`` says why (without hints an attacker could use)."""

    def __init__(self, detail: str, *, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)


class MessageNotFound(GatewayError):
    """No message has the id."""


class ReplayRefused(GatewayError):
    """The message cannot be replayed now (not finished, erased, or replayed meanwhile)."""


class InvalidSelection(GatewayError):
    """A selection of messages that must not be acted on (no filter, or a status that cannot be replayed)."""


class CallbackRejected(GatewayError):
    """A vendor callback that is not taken; nothing of it is stored."""


class CallbackUnauthenticated(CallbackRejected):
    """The callback's signature is missing or wrong."""


class UnknownCallback(CallbackRejected):
    """No vendor calls back at this URL (or its path token is wrong)."""


class MalformedCallback(CallbackRejected):
    """An authenticated callback whose body cannot be read (malformed, nested too deep, a key twice).

    Sending it again cannot help: ``acknowledge`` says the vendor resends on any answer but 200, so it is answered
    200 with why it was dropped, else 400. Nothing is stored either way.
    """

    def __init__(self, detail: str, *, acknowledge: bool) -> None:
        super().__init__(detail)
        self.acknowledge = acknowledge
