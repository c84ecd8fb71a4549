"""Processing a verified webhook delivery: each message once, each status recorded once.

Each message is its own transaction: the processed-message record, the conversation's new state, an
application it submits and the replies commit together. A message already recorded is skipped, so a
delivery Meta repeats changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.models import InboundMessage, MessageStatus, Outbox
from engine.workflow.clock import clock

from ..delivery import Senders, on_status
from .conversation import Context, handle
from .webhook import Inbound, StatusUpdate

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    processed: int = 0
    duplicates: int = 0
    statuses: int = 0
    replies: list[int] = field(default_factory=list)


def process(
    session: Session,
    messages: list[Inbound],
    statuses: list[StatusUpdate],
    ctx: Context,
    senders: Senders | None = None,
) -> Outcome:
    """Process and commit. A retryable gateway error propagates (after a rollback) so that the caller
    answers with an error and Meta delivers again; what was committed before is then skipped."""
    outcome = Outcome()
    for update in statuses:
        if _record_status(session, update, senders or Senders()):
            outcome.statuses += 1
    for message in messages:
        for attempt in (1, 2):  # a concurrent first message of the same user may win the insert
            try:
                replies = _process_one(session, message, ctx)
                session.commit()
                break
            except IntegrityError:
                session.rollback()
                if attempt == 2:
                    raise
            except Exception:
                session.rollback()
                raise
        if replies is None:
            outcome.duplicates += 1
        else:
            outcome.processed += 1
            outcome.replies += [row.id for row in replies]
    log.info(
        "whatsapp webhook: %d message(s) processed, %d duplicate(s), %d status(es)",
        outcome.processed,
        outcome.duplicates,
        outcome.statuses,
    )
    return outcome


def _process_one(session: Session, message: Inbound, ctx: Context) -> list | None:
    if session.get(InboundMessage, message.message_id) is not None:
        return None
    turn = handle(session, message, ctx)
    session.add(
        InboundMessage(
            message_id=message.message_id,
            conversation_id=turn.conversation.id,
            kind=message.kind[:32],
            received_at=clock.now(),
        )
    )
    session.flush()
    return turn.replies


def _record_status(session: Session, update: StatusUpdate, senders: Senders) -> bool:
    """Record a status once, and apply it to the outbox row whose send it reports."""
    exists = session.scalar(
        select(MessageStatus.id).where(
            MessageStatus.message_id == update.message_id, MessageStatus.status == update.status
        )
    )
    if exists is not None:
        return False
    session.add(
        MessageStatus(
            message_id=update.message_id,
            status=update.status,
            at=update.at,
            error_code=update.error_code,
            recorded_at=clock.now(),
        )
    )
    row = session.scalar(select(Outbox).where(Outbox.provider_message_id == update.message_id).with_for_update())
    if row is not None:
        code = int(update.error_code) if (update.error_code or "").isdigit() else None
        on_status(session, row, update.status, code, clock.now(), senders)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True
