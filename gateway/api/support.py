"""What staff do to messages, shared by the JSON API and the console: reveal, replay, bulk replay and erasure.

Each of them is written to the audit log with who did it and when. Refusals are :mod:`gateway.errors`, which
the API answers as problem details and the console shows as a page.
"""

from __future__ import annotations

import msgspec

from gateway.api.filters import describe_filter
from gateway.errors import InvalidSelection, MessageNotFound, ReplayRefused
from gateway.events import log_event
from gateway.models import FINAL_STATUSES, MessageDetail, Status, StoredMessage
from gateway.normalise.errors import FieldError
from gateway.settings import StaffToken
from gateway.store.base import MessageFilter, Store
from gateway.store.rows_admin import ERASED
from gateway.store.types_admin import AuditAction, AuditEntry

__all__ = (
    "BULK_DEFAULT_STATUSES",
    "REPLAY_LIMIT",
    "BulkReplay",
    "audit",
    "bulk_replay",
    "erase_user",
    "is_erased",
    "replay_message",
    "replay_refusal",
    "reveal_message",
)

#: Most messages one bulk replay moves; a larger selection is replayed by running it again.
REPLAY_LIMIT = 1000
#: What a bulk replay without a status filter picks: the final states that did not reach the user. A
#: ``delivered`` message, or a ``fallback`` one whose LMS went out, would be sent to the user a second time.
BULK_DEFAULT_STATUSES = FINAL_STATUSES - {Status.DELIVERED, Status.FALLBACK}
_FINAL = ", ".join(sorted(FINAL_STATUSES))


class BulkReplay(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a bulk replay.

    Attributes:
        count: Messages replayed (on a dry run: that would be).
        more: More than ``limit`` messages matched; the rest are left for another run.
    """

    dry_run: bool
    count: int
    limit: int
    more: bool


async def audit(
    store: Store, staff: StaffToken, action: AuditAction, target: str, *, now: float, detail: str = ""
) -> None:
    """Write one audit entry for ``staff``."""
    await store.add_audit(
        AuditEntry(at=now, staff=staff.name, role=staff.role, action=action, target=target, detail=detail)
    )


async def reveal_message(store: Store, staff: StaffToken, message_id: str, *, now: float) -> MessageDetail:
    """The message with its contact details to be shown unmasked; the reveal is audited first."""
    detail = await _existing(store, message_id)
    await audit(store, staff, "reveal", message_id, now=now)
    return detail


def is_erased(message: StoredMessage) -> bool:
    """Whether the message's personal data was erased: without a recipient or content it cannot be sent."""
    sent = message.message
    return sent.content == ERASED and sent.phone is None and sent.email is None


def replay_refusal(message: StoredMessage) -> str | None:
    """Why ``message`` cannot be replayed, or ``None`` when it can."""
    if message.status not in FINAL_STATUSES:
        return f"The message is {message.status.value}: only a finished message ({_FINAL}) can be replayed."
    if is_erased(message):
        return "The message cannot be replayed: its personal data was erased: there is nothing left to send."
    return None


async def replay_message(store: Store, staff: StaffToken, message_id: str, *, now: float) -> str:
    """Send a finished message again, with a fresh retry budget; return the id of the message queued.

    A ``fallback`` message is replayed by replaying its LMS: that is what reached (or was to reach) the user,
    while its KakaoTalk message was already found undeliverable. The kakao message stays ``fallback``, linked
    to the LMS, whose timeline says who replayed it and when.

    Raises:
        MessageNotFound: No message has the id.
        ReplayRefused: The message (for a ``fallback`` one: its LMS) is not in a final state or its personal data
            was erased.
    """
    record = (await _existing(store, message_id)).record
    asked = ""
    if record.status is Status.FALLBACK and record.child_id is not None:
        asked = f"; asked on its kakao message {record.id}"
        record = (await _existing(store, record.child_id)).record
    refusal = replay_refusal(record)
    if refusal is not None:
        raise ReplayRefused(f"Its fallback LMS cannot be replayed: {refusal}" if asked else refusal)
    if not await store.replay([record.id], _reason(staff), now=now):
        # It left its final state between the read and the replay (another replay got there first).
        raise ReplayRefused("The message was replayed meanwhile: it is no longer in a final state.")
    await audit(store, staff, "replay", record.id, now=now, detail=f"was {record.status.value}{asked}")
    log_event("message.replayed", message_id=record.id, status=Status.QUEUED.value, staff=staff.name)
    return record.id


async def bulk_replay(
    store: Store, staff: StaffToken, criteria: MessageFilter, *, dry_run: bool, now: float
) -> BulkReplay:
    """Replay the finished messages that match ``criteria``, newest first, at most :data:`REPLAY_LIMIT`.

    Without a status filter only :data:`BULK_DEFAULT_STATUSES` are replayed; messages whose personal data was
    erased never are (nor counted by a dry run).

    Raises:
        InvalidSelection: No filter at all (replaying the whole store is never what was meant), or a status
            filter that is not a final state.
    """
    if criteria == MessageFilter():
        raise InvalidSelection("Give at least one filter: a bulk replay of every message is refused.")
    if criteria.status is not None and criteria.status not in FINAL_STATUSES:
        raise InvalidSelection("Invalid filter.", errors=[FieldError("status", f"only {_FINAL} can be replayed")])
    chosen, more = await _replayable(store, criteria)
    if dry_run:
        return BulkReplay(dry_run=True, count=len(chosen), limit=REPLAY_LIMIT, more=more)
    # A fallback message is replayed as its LMS, as a single replay does.
    targets = [m.child_id if m.status is Status.FALLBACK and m.child_id else m.id for m in chosen]
    moved = await store.replay(targets, _reason(staff), now=now)
    detail = f"{len(moved)} replayed" + (f"; more than {REPLAY_LIMIT} matched" if more else "")
    await audit(store, staff, "bulk_replay", describe_filter(criteria), now=now, detail=detail)
    log_event("message.replayed", count=len(moved), status=Status.QUEUED.value, staff=staff.name)
    return BulkReplay(dry_run=False, count=len(moved), limit=REPLAY_LIMIT, more=more)


async def erase_user(store: Store, staff: StaffToken, user_id: str, *, now: float) -> int:
    """Erase a user's phone numbers, emails and content (statistics stay); return how many messages."""
    erased = await store.erase_user(user_id, f"personal data erased on request by {staff.name}", now=now)
    await audit(store, staff, "erase", user_id, now=now, detail=f"{erased} messages")
    log_event("personal_data.erased", count=erased, staff=staff.name)
    return erased


async def _existing(store: Store, message_id: str) -> MessageDetail:
    detail = await store.get(message_id)
    if detail is None:
        raise MessageNotFound("No message has this id.")
    return detail


async def _replayable(store: Store, criteria: MessageFilter) -> tuple[list[StoredMessage], bool]:
    """The newest replayable messages matching ``criteria`` (at most :data:`REPLAY_LIMIT`) and whether more match.

    One indexed search per status rather than a scan that skips unfinished messages.
    """
    statuses = [criteria.status] if criteria.status is not None else sorted(BULK_DEFAULT_STATUSES)
    found: list[StoredMessage] = []
    for status in statuses:
        found += await _sendable(store, msgspec.structs.replace(criteria, status=status))
    found.sort(key=lambda m: (m.created_at, m.id), reverse=True)
    return found[:REPLAY_LIMIT], len(found) > REPLAY_LIMIT


async def _sendable(store: Store, criteria: MessageFilter) -> list[StoredMessage]:
    """The newest ``REPLAY_LIMIT + 1`` messages matching ``criteria`` that were not erased.

    Pages on past erased messages: skipping them within a single page would hide that more are left.
    """
    found: list[StoredMessage] = []
    cursor = None
    while len(found) <= REPLAY_LIMIT:
        page = await store.search(criteria, limit=REPLAY_LIMIT + 1, cursor=cursor)
        found += [message for message in page.items if not is_erased(message)]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return found[: REPLAY_LIMIT + 1]


def _reason(staff: StaffToken) -> str:
    return f"replayed by {staff.name}"
