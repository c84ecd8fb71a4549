"""Tables of operations: the append-only audit log (its triggers are made by the schema revisions,
``migrations/versions/``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.workflow.models import Base, _now


class AuditEntry(Base):
    """One staff action (who, what, when, from where). Append-only: the engine offers no update or
    delete, and database triggers refuse both on SQLite and PostgreSQL. No personal data: the target is
    an application code or task id, never a name or number from the application."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_actor_at", "actor", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=_now, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    target: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[int] = mapped_column(Integer)
    client_ip: Mapped[str | None] = mapped_column(String(64))
