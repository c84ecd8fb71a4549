"""Sessions stored on the server: staff cookie sessions and bearer tokens, applicant bearer tokens.

Each is a row of ``api_tokens`` keyed by the sha256 of a random token (the client holds the token: in
the ``Authorization`` header, or inside the signed session cookie of the pages). A check is one
primary-key read (the user joined): the row must not be revoked nor past ``expires_at``; a staff
session must also belong to an active user whose password is the one it was opened with, and must have
been used within the idle time (``last_seen_at`` is written at most once a minute, so the idle time is
exact to a minute). ``end_all`` ends every session of a user at once (sign-out, password reset,
deactivation).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.kia.models import ApiToken, Application, User
from engine.kia.security import new_token, token_digest
from engine.workflow.clock import clock

TOUCH_EVERY = timedelta(minutes=1)


class Kind(StrEnum):
    BEARER = "bearer"
    WEB = "web"
    RESET = "reset"  # a one-time password reset link: it only opens the page that sets a new password


def password_stamp(user: User) -> str:
    """Changes with the password: a session opened before a password change no longer matches."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def open_session(
    session: Session,
    ttl: timedelta,
    *,
    user: User | None = None,
    application: Application | None = None,
    kind: Kind = Kind.BEARER,
) -> str:
    """A new session for a staff ``user`` or an applicant's ``application``; the token (only its
    digest is stored). The caller commits."""
    token, digest = new_token()
    now = clock.now()
    session.add(
        ApiToken(
            token_hash=digest,
            user_id=user.id if user else None,
            application_id=application.id if application else None,
            kind=kind.value,
            password_stamp=password_stamp(user) if user else None,
            created_at=now,
            last_seen_at=now,
            expires_at=now + ttl,
        )
    )
    return token


def valid_session(session: Session, token: str | None, idle: timedelta) -> ApiToken | None:
    """The live session of ``token``, or None. A staff session idle for longer than ``idle`` ends
    here (revoked); a used one has ``last_seen_at`` moved on (written and committed at most once a
    ``TOUCH_EVERY``)."""
    if not token or len(token) > 200:
        return None
    row = session.get(ApiToken, token_digest(token))
    now = clock.now()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.user_id is None:
        return row
    user = row.user
    if user is None or not user.active or row.password_stamp != password_stamp(user):
        return None
    seen = row.last_seen_at or row.created_at
    if row.kind == Kind.RESET:
        return row  # lives until used (the password changes), its expiry, or the user's sessions end
    if now - seen > idle:
        session.execute(update(ApiToken).where(ApiToken.token_hash == row.token_hash).values(revoked_at=now))
        session.commit()
        return None
    if now - seen >= TOUCH_EVERY:
        session.execute(update(ApiToken).where(ApiToken.token_hash == row.token_hash).values(last_seen_at=now))
        session.commit()
    return row


def end(session: Session, token: str) -> None:
    """End one session. The caller commits."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == token_digest(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def end_all(session: Session, user_id: int) -> int:
    """End every session of the staff user (cookie sessions and bearer tokens alike); how many. The
    caller commits."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return getattr(result, "rowcount", 0) or 0
