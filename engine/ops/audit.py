"""The audit log of staff actions: append and read, nothing else (see ``models.AuditEntry``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from engine.ops.models import AuditEntry
from engine.workflow.clock import clock


@dataclass(frozen=True)
class Action:
    actor: str
    action: str
    method: str
    path: str
    status: int
    target: str | None = None
    client_ip: str | None = None


def append(session: Session, action: Action, at: datetime | None = None) -> None:
    """Write one entry in the session's transaction (one INSERT statement, no object to flush: every
    staff request writes one); the caller commits."""
    session.execute(
        insert(AuditEntry).values(
            at=at or clock.now(),
            actor=action.actor[:100],
            action=action.action[:100],
            method=action.method[:8],
            path=action.path[:300],
            target=action.target[:100] if action.target else None,
            status=action.status,
            client_ip=action.client_ip[:64] if action.client_ip else None,
        )
    )


def entries(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    targets: Collection[str] | None = None,
    limit: int = 100,
    offset: int = 0,
    newest_first: bool = False,
) -> tuple[list[AuditEntry], int]:
    """Entries in ``[since, until)``, optionally of one actor, one action and about some targets (an
    application's code and its task ids), oldest first (or newest first); and their total count."""
    query = select(AuditEntry)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    if targets is not None:
        query = query.where(AuditEntry.target.in_(list(targets)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = (AuditEntry.at.desc(), AuditEntry.id.desc()) if newest_first else (AuditEntry.at, AuditEntry.id)
    rows = session.scalars(query.order_by(*order).limit(limit).offset(offset))
    return list(rows), total
