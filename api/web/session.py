"""Session sign-in for the pages: staff (user name + password) and applicants (code + PIN).

A staff session is stored on the server (``engine.kia.sessions``, ``kind="web"``): the signed cookie
holds only its random token, so signing out, a password reset or deactivating the user ends it at once,
and it ends after the idle time (``KIA_SESSION_IDLE_MINUTES``). The applicant's PIN session holds the
application id. ``session_principal`` is the loader ``api.auth`` uses for session callers; an unsafe
API request authenticated by the session must carry the CSRF header.
"""

from __future__ import annotations

from flask import request, session

from engine.kia import sessions
from engine.kia.access import Principal
from engine.models import Application, User

from ..auth import issue_token, live_session, staff_of
from ..errors import ApiError
from ..extensions import db
from . import csrf

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def sign_in_staff(user: User) -> None:
    """A new server-side session for ``user`` in a new cookie (no fixation). The caller commits."""
    token, _ = issue_token(user=user, kind=sessions.Kind.WEB)
    session.clear()
    session.permanent = True
    session["sid"] = token
    csrf.token()


def sign_in_applicant(app: Application) -> None:
    """The applicant's PIN session is kept apart from any staff session in the same browser."""
    session.permanent = True
    session["application_id"] = app.id
    csrf.token()


def sign_out() -> None:
    """End every session of the signed-in staff user (pages and bearer tokens), then the cookie."""
    row = live_session(session.get("sid"))
    if row is not None and row.user_id is not None:
        sessions.end_all(db.session, row.user_id)
        db.session.commit()
    session.clear()


def staff_user() -> User | None:
    row = live_session(session.get("sid")) if "sid" in session else None
    if row is None or row.user_id is None or row.kind != sessions.Kind.WEB:
        session.pop("sid", None)
        return None
    return row.user


def session_principal() -> Principal | None:
    """The session's caller for ``api.auth.current_principal``; staff first, then the applicant."""
    if "sid" not in session and "application_id" not in session:
        return None
    if request.method not in SAFE_METHODS and not csrf.request_is_valid():
        raise ApiError(403, "csrf_failed", "Token CSRF tidak ada atau tidak cocok; muat ulang halaman.")
    user = staff_user()
    if user is not None:
        return staff_of(user)
    app = db.session.get(Application, session["application_id"]) if "application_id" in session else None
    return Principal(application_id=app.id, instance_id=app.instance_id) if app else None
