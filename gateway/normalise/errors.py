"""Validation errors reported to Braze: every problem of a body at once, each naming its field."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

__all__ = ("FieldError", "InvalidMessage")


class FieldError(msgspec.Struct, frozen=True):
    """One problem with one field of the body.

    Attributes:
        field: The body's key (``content``, ``buttons[1].linkMobile``).
        message: What is wrong, for a marketer: the rule and the measured value, never a phone number or email.
    """

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidMessage(Exception):
    """A body that cannot be sent; ``errors`` lists every problem found, in body order, without duplicates."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors = list(dict.fromkeys(errors))
        super().__init__("; ".join(str(error) for error in self.errors))
