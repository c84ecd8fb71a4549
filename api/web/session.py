"""Session sign-in for the pages: staff (user name + password) and applicants (code + PIN).

The session holds the user id with a stamp of the password hash (a password change ends old sessions),
or the application id. ``session_principal`` is the loader ``api.auth`` uses for session callers; an
unsafe API request authenticated by the session must carry the CSRF header.
"""

from __future__ import annotations

import hashlib

from flask import request, session

from engine.kia.access import Principal
from engine.models import Application, User

from ..errors import ApiError
from ..extensions import db
from . import csrf

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _stamp(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def sign_in_staff(user: User) -> None:
    session.clear()  # a new session on sign-in: no fixation
    session.permanent = True
    session["uid"], session["stamp"] = user.id, _stamp(user)
    csrf.token()


def sign_in_applicant(app: Application) -> None:
    """The applicant's PIN session is kept apart from any staff session in the same browser."""
    session.permanent = True
    session["application_id"] = app.id
    csrf.token()


def sign_out() -> None:
    session.clear()


def staff_user() -> User | None:
    uid = session.get("uid")
    if uid is None:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.active or session.get("stamp") != _stamp(user):
        session.pop("uid", None)
        return None
    return user


def session_principal() -> Principal | None:
    """The session's caller for ``api.auth.current_principal``; staff first, then the applicant."""
    if "uid" not in session and "application_id" not in session:
        return None
    if request.method not in SAFE_METHODS and not csrf.request_is_valid():
        raise ApiError(403, "csrf_failed", "Token CSRF tidak ada atau tidak cocok; muat ulang halaman.")
    user = staff_user()
    if user is not None:
        return Principal(user=user)
    app = db.session.get(Application, session["application_id"]) if "application_id" in session else None
    return Principal(application_id=app.id, instance_id=app.instance_id) if app else None
