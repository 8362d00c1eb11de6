"""What staff do to messages, shared by the JSON API and the console: reveal, replay, bulk replay and erasure.

Each of them is written to the audit log with who did it and when. Errors are :class:`Problem` answers, which
the console shows as a page.
"""

from __future__ import annotations

import msgspec

from gateway.api.filters import describe_filter
from gateway.api.problems import Problem
from gateway.models import FINAL_STATUSES, MessageDetail, StoredMessage
from gateway.normalise.errors import FieldError
from gateway.settings import StaffToken
from gateway.store.admin_types import AuditAction, AuditEntry
from gateway.store.base import MessageFilter, Store

__all__ = ("REPLAY_LIMIT", "BulkReplay", "audit", "bulk_replay", "erase_user", "replay_message", "reveal_message")

#: Most messages one bulk replay moves; a larger selection is replayed by running it again.
REPLAY_LIMIT = 1000
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


async def replay_message(store: Store, staff: StaffToken, message_id: str, *, now: float) -> None:
    """Send a finished message again, with a fresh retry budget.

    Raises:
        Problem: 404 for an unknown id, 409 when the message is not in a final state.
    """
    detail = await _existing(store, message_id)
    status = detail.record.status
    moved = [] if status not in FINAL_STATUSES else await store.replay([message_id], _reason(staff), now=now)
    if not moved:
        raise Problem(409, f"The message is {status.value}: only a finished message ({_FINAL}) can be replayed.")
    await audit(store, staff, "replay", message_id, now=now, detail=f"was {status.value}")


async def bulk_replay(
    store: Store, staff: StaffToken, criteria: MessageFilter, *, dry_run: bool, now: float
) -> BulkReplay:
    """Replay the finished messages that match ``criteria``, newest first, at most :data:`REPLAY_LIMIT`.

    Raises:
        Problem: 400 without any filter (replaying the whole store is never what was meant) or with a status
            filter that is not a final state.
    """
    if criteria == MessageFilter():
        raise Problem(400, "Give at least one filter: a bulk replay of every message is refused.")
    if criteria.status is not None and criteria.status not in FINAL_STATUSES:
        raise Problem(400, "Invalid filter.", errors=[FieldError("status", f"only {_FINAL} can be replayed")])
    chosen, more = await _replayable(store, criteria)
    if dry_run:
        return BulkReplay(dry_run=True, count=len(chosen), limit=REPLAY_LIMIT, more=more)
    moved = await store.replay([m.id for m in chosen], _reason(staff), now=now)
    detail = f"{len(moved)} replayed" + (f"; more than {REPLAY_LIMIT} matched" if more else "")
    await audit(store, staff, "bulk_replay", describe_filter(criteria), now=now, detail=detail)
    return BulkReplay(dry_run=False, count=len(moved), limit=REPLAY_LIMIT, more=more)


async def erase_user(store: Store, staff: StaffToken, user_id: str, *, now: float) -> int:
    """Erase a user's phone numbers, emails and content (statistics stay); return how many messages."""
    erased = await store.erase_user(user_id, f"personal data erased on request by {staff.name}", now=now)
    await audit(store, staff, "erase", user_id, now=now, detail=f"{erased} messages")
    return erased


async def _existing(store: Store, message_id: str) -> MessageDetail:
    detail = await store.get(message_id)
    if detail is None:
        raise Problem(404, "No message has this id.")
    return detail


async def _replayable(store: Store, criteria: MessageFilter) -> tuple[list[StoredMessage], bool]:
    """The newest finished messages matching ``criteria`` (at most :data:`REPLAY_LIMIT`) and whether more match.

    One indexed search per final status rather than a scan that skips unfinished messages.
    """
    statuses = [criteria.status] if criteria.status is not None else sorted(FINAL_STATUSES)
    found: list[StoredMessage] = []
    for status in statuses:
        page = await store.search(msgspec.structs.replace(criteria, status=status), limit=REPLAY_LIMIT + 1)
        found.extend(page.items)
    found.sort(key=lambda m: (m.created_at, m.id), reverse=True)
    return found[:REPLAY_LIMIT], len(found) > REPLAY_LIMIT


def _reason(staff: StaffToken) -> str:
    return f"replayed by {staff.name}"
