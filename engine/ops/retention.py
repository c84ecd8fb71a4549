"""Keeping personal data no longer than needed: the daily clean-up.

- document files that no row refers to (neither a document of an application nor the draft of a chat
  still being filled in) are deleted, once older than ``ORPHAN_GRACE`` (a file is written before the row
  naming it commits);
- the documents of applications handed over more than ``retention_days`` ago are deleted, rows and files;
  the control card and the history stay, with a ``documents_deleted`` event saying what went and when;
- chat drafts untouched for ``DRAFT_MAX_AGE`` are cleared (answers and files), as if cancelled;
- sent messages that held personal data (chat replies, the officer's note to the applicant) keep only a
  placeholder instead of their text, also those sent before the delivery worker blanked them itself.

``kia cleanup`` runs it by hand; the scheduler runs it daily. Safe to run twice or in two processes at
once: every step finds what is left to do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.kia.documents import path_of
from engine.kia.models import Application, Conversation, Document
from engine.workflow.clock import clock
from engine.workflow.events import record
from engine.workflow.models import Instance, Outbox

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 365
ORPHAN_GRACE = timedelta(hours=6)
DRAFT_MAX_AGE = timedelta(days=30)
BLANKED_TEXT = "[dihapus setelah terkirim]"
# A WhatsApp notice may still fail after it was sent (a ``failed`` status webhook) and then go again as a
# template or by e-mail, which needs its text; the clean-up blanks what is older than this.
STATUS_WAIT = timedelta(days=2)
DONE_STATES = ("sent", "delivered", "read", "failed")
PERSONAL_KINDS = ("chat_reply", "correction_note")  # messages whose text may hold personal data
DRAFT_STATES = ("intake", "confirm", "correction")
DRAFT_KEYS = ("draft", "documents", "step", "correction")
CHUNK = 500


@dataclass
class CleanupReport:
    orphan_files: int = 0
    expired_applications: int = 0
    expired_documents: int = 0
    cleared_drafts: int = 0
    blanked_messages: int = 0


def holds_personal_data(row: Outbox) -> bool:
    payload = row.payload or {}
    return bool(payload.get("secret") or payload.get("personal")) or row.kind in PERSONAL_KINDS


def blank(row: Outbox) -> bool:
    """Replace a sent message's text (and its template parameters) with the placeholder when it held
    personal data."""
    payload = row.payload or {}
    blanked = {**payload, "text": BLANKED_TEXT, "parameters": [BLANKED_TEXT for _ in payload.get("parameters") or []]}
    if not holds_personal_data(row) or payload == blanked:
        return False
    row.payload = blanked
    return True


def draft_digests(data: dict | None) -> set[str]:
    """The document files a chat draft holds (``Conversation.data["documents"]``)."""
    documents = (data or {}).get("documents") or {}
    return {d["sha256"] for d in documents.values() if isinstance(d, dict) and isinstance(d.get("sha256"), str)}


def referenced_digests(
    session: Session, among: Iterable[str] | None = None, except_conversation: int | None = None
) -> set[str]:
    """The files some row still needs: an application's documents, a chat draft's uploads (but those of
    ``except_conversation``, which is letting go of its draft)."""
    query = select(Document.sha256).distinct()
    wanted = set(among) if among is not None else None
    if wanted is not None:
        query = query.where(Document.sha256.in_(wanted))
    referenced = set(session.scalars(query))
    drafts = select(Conversation.data).where(Conversation.state.in_(DRAFT_STATES))
    if except_conversation is not None:
        drafts = drafts.where(Conversation.id != except_conversation)
    for data in session.scalars(drafts):
        referenced |= draft_digests(data)
    return referenced if wanted is None else referenced & wanted


def delete_unreferenced(
    session: Session, directory: str | os.PathLike, digests: Iterable[str], except_conversation: int | None = None
) -> int:
    """Delete the files of ``digests`` that no row refers to; returns how many were deleted."""
    digests = set(digests)
    if not digests:
        return 0
    deleted = 0
    for digest in digests - referenced_digests(session, digests, except_conversation):
        with contextlib.suppress(FileNotFoundError):
            path_of(directory, digest).unlink()
            deleted += 1
    return deleted


def clear_draft(session: Session, directory: str | os.PathLike, conversation: Conversation) -> int:
    """Forget a chat's draft (answers and uploads); the caller has changed the state. Returns the
    number of files deleted."""
    digests = draft_digests(conversation.data)
    conversation.data = {k: v for k, v in (conversation.data or {}).items() if k not in DRAFT_KEYS}
    return delete_unreferenced(session, directory, digests, except_conversation=conversation.id)


def remove_orphan_files(session: Session, directory: str | os.PathLike, now: datetime | None = None) -> int:
    """Delete files under ``directory`` that no row refers to and that are older than ``ORPHAN_GRACE``
    (leftover temporary files of an interrupted write too)."""
    root = Path(directory)
    if not root.is_dir():
        return 0
    cutoff = time.time() - ORPHAN_GRACE.total_seconds()  # file times are the real clock's, not the engine's
    candidates: dict[str, Path] = {}
    deleted = 0
    for path in root.glob("??/*"):
        try:
            if not path.is_file() or path.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        if path.name.startswith("."):  # a temporary file that was never renamed
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                deleted += 1
        elif len(path.name) == 64 and path.parent.name == path.name[:2]:
            candidates[path.name] = path
    referenced = referenced_digests(session)
    for digest, path in candidates.items():
        if digest not in referenced:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                deleted += 1
    return deleted


def expire_documents(
    session: Session, directory: str | os.PathLike, retention_days: int, now: datetime | None = None
) -> tuple[int, int]:
    """Delete the documents of applications handed over (finished) more than ``retention_days`` ago,
    one application per transaction (committed here); returns (applications, documents)."""
    now = now or clock.now()
    cutoff = now - timedelta(days=retention_days)
    apps = docs = 0
    while True:
        batch = list(
            session.execute(
                select(Application.id, Instance.id)
                .join(Instance, Instance.id == Application.instance_id)
                .where(Instance.completed_at.is_not(None), Instance.completed_at < cutoff)
                .where(select(Document.id).where(Document.application_id == Application.id).exists())
                .order_by(Instance.completed_at)
                .limit(CHUNK)
            )
        )
        if not batch:
            return apps, docs
        for application_id, instance_id in batch:
            rows = list(session.scalars(select(Document).where(Document.application_id == application_id)))
            digests = {row.sha256 for row in rows}
            for row in rows:
                session.delete(row)
            record(
                session,
                session.get(Instance, instance_id),
                "documents_deleted",
                actor="sistem",
                at=now,
                documents=sorted({row.kind for row in rows}),
                count=len(rows),
                retention_days=retention_days,
            )
            session.commit()
            delete_unreferenced(session, directory, digests)
            apps, docs = apps + 1, docs + len(rows)


def clear_stale_drafts(session: Session, directory: str | os.PathLike, now: datetime | None = None) -> int:
    """Chats left in the middle of an application for ``DRAFT_MAX_AGE``: their draft is cleared."""
    cutoff = (now or clock.now()) - DRAFT_MAX_AGE
    stale = list(
        session.scalars(
            select(Conversation).where(Conversation.state.in_(DRAFT_STATES), Conversation.updated_at < cutoff)
        )
    )
    for conversation in stale:
        conversation.state = "menu"
        clear_draft(session, directory, conversation)
    session.commit()
    return len(stale)


def blank_sent_messages(session: Session, now: datetime | None = None) -> int:
    """Messages that held personal data and still have their text: e-mails and chat replies once sent,
    WhatsApp notices once no failure status can still need the text (``STATUS_WAIT``); in chunks."""
    cutoff = (now or clock.now()) - STATUS_WAIT
    blanked, after = 0, 0
    while True:
        rows = list(
            session.scalars(
                select(Outbox)
                .where(
                    Outbox.status.in_(DONE_STATES),
                    Outbox.kind.in_(PERSONAL_KINDS),
                    or_(Outbox.channel != "whatsapp", Outbox.kind == "chat_reply", Outbox.created_at < cutoff),
                    Outbox.id > after,
                )
                .order_by(Outbox.id)
                .limit(CHUNK)
            )
        )
        if not rows:
            return blanked
        blanked += sum(blank(row) for row in rows)
        after = rows[-1].id
        session.commit()


def run(
    session_factory: Callable[[], Session],
    directory: str | os.PathLike,
    retention_days: int = DEFAULT_RETENTION_DAYS,
    now: datetime | None = None,
) -> CleanupReport:
    """The whole clean-up; each part commits what it did."""
    report = CleanupReport()
    with session_factory() as session:
        report.expired_applications, report.expired_documents = expire_documents(
            session, directory, retention_days, now
        )
        report.cleared_drafts = clear_stale_drafts(session, directory, now)
        report.blanked_messages = blank_sent_messages(session, now)
        report.orphan_files = remove_orphan_files(session, directory, now)
        session.commit()
    log.info(
        "clean-up: %d orphan file(s), documents of %d application(s) (%d file(s)), %d draft(s), %d message(s)",
        report.orphan_files,
        report.expired_applications,
        report.expired_documents,
        report.cleared_drafts,
        report.blanked_messages,
    )
    return report
