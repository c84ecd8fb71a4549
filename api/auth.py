"""Bearer tokens for staff (username + password) and applicants (code + PIN)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import select

from engine.kia import applications
from engine.kia.access import Principal
from engine.kia.security import new_token, token_digest, verify_secret
from engine.models import ApiToken, Application, User
from engine.workflow.clock import clock
from engine.workflow.errors import NotFound

from .errors import ApiError
from .extensions import db


def issue_token(user: User | None = None, application: Application | None = None) -> tuple[str, int]:
    token, digest = new_token()
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    db.session.add(
        ApiToken(
            token_hash=digest,
            user_id=user.id if user else None,
            application_id=application.id if application else None,
            created_at=clock.now(),
            expires_at=clock.now() + timedelta(seconds=ttl),
        )
    )
    return token, ttl


def authenticate_staff(username: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(User.username == username))
    ok = verify_secret(user.password_hash if user else None, password)
    return user if ok and user is not None and user.active else None


def authenticate_applicant(code: str, pin: str) -> Application | None:
    """The application whose code and PIN match, or None (the same work either way)."""
    try:
        app = applications.by_code(db.session, code)
    except NotFound:
        app = None
    ok = verify_secret(app.pin_hash if app else None, pin)
    return app if ok and app is not None else None


def revoke(token: str) -> None:
    row = db.session.get(ApiToken, token_digest(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = clock.now()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and len(header) < 200:
        return header[7:].strip() or None
    return None


def current_principal(required: bool = True) -> Principal | None:
    """The caller from the bearer token (or the web session); 401 when required and missing."""
    if "principal" in g:
        return g.principal
    principal = _from_token(bearer_token()) or _from_session()
    if principal is None and required:
        raise ApiError(401, "unauthorized", "Silakan masuk terlebih dahulu.", headers={"WWW-Authenticate": "Bearer"})
    g.principal = principal
    return principal


def staff_principal() -> Principal:
    principal = current_principal()
    if not principal.is_staff:
        raise ApiError(403, "forbidden", "Hanya untuk petugas.")
    return principal


def _from_token(token: str | None) -> Principal | None:
    if not token:
        return None
    row = db.session.get(ApiToken, token_digest(token))
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        return None
    if row.user_id is not None:
        return Principal(user=row.user) if row.user and row.user.active else None
    app = db.session.get(Application, row.application_id)
    return Principal(application_id=app.id, instance_id=app.instance_id) if app else None


def _from_session() -> Principal | None:
    """Web pages sign in with a session cookie; the pages module registers the loader."""
    loader = current_app.extensions.get("kia_session_principal")
    return loader() if loader else None
