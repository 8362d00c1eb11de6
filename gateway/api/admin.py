"""The support API (SPEC §8): staff-token authenticated, personal data masked by default."""

from __future__ import annotations

from litestar import get
from litestar.datastructures import State
from litestar.params import FromPath

from gateway.api.auth import require_staff
from gateway.api.problems import Problem
from gateway.api.views import MessageDetailView, detail_view

__all__ = ("get_message",)


@get(
    "/v1/admin/messages/{message_id:str}",
    guards=[require_staff],
    operation_id="getMessage",
    summary="One message with its normalised form, vendor request, attempts and timeline",
    tags=["admin"],
)
async def get_message(message_id: FromPath[str], state: State) -> MessageDetailView:
    """Everything known about one message, phone number and email masked."""
    detail = await state.store.get(message_id)
    if detail is None:
        raise Problem(404, "No message has this id.")
    return detail_view(detail)
