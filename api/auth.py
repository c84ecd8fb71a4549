"""Bearer tokens for staff (username + password) and applicants (code + PIN)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import select

from engine.kia import applications, lockout, sessions
from engine.kia.access import Principal
from engine.kia.security import verify_secret
from engine.models import ApiToken, Application, User
from engine.ops import audit
from engine.workflow.catalogue import Catalogue, catalogue
from engine.workflow.errors import NotFound

from . import ratelimit
from .errors import ApiError
from .extensions import db


def issue_token(
    user: User | None = None, application: Application | None = None, kind: sessions.Kind = sessions.Kind.BEARER
) -> tuple[str, int]:
    """A new server-side session (bearer token or page session) and its lifetime in seconds."""
    ttl = current_app.config["TOKEN_TTL_SECONDS"]
    token = sessions.open_session(db.session, timedelta(seconds=ttl), user=user, application=application, kind=kind)
    return token, ttl


def live_session(token: str | None) -> ApiToken | None:
    """The server-side session of ``token`` if it is still live (``engine.kia.sessions.valid_session``)."""
    return sessions.valid_session(db.session, token, timedelta(seconds=current_app.config["SESSION_IDLE_SECONDS"]))


PIN_POLICY = lockout.Policy(threshold=5, base=timedelta(minutes=1), cap=timedelta(hours=24))
# Staff: locked per (account, client) after 5 failures; the account as a whole only after many more,
# so that guessing from one address (or a few) cannot lock an officer out everywhere.
STAFF_CLIENT_POLICY = lockout.Policy(threshold=5, base=timedelta(minutes=1), cap=timedelta(hours=1))
STAFF_ACCOUNT_POLICY = lockout.Policy(threshold=50, base=timedelta(minutes=1), cap=timedelta(hours=1))
PIN_LOCKED = (
    "PIN salah terlalu sering untuk kode permohonan ini. Coba lagi dalam {minutes} menit, "
    "atau minta PIN baru yang dikirim ke nomor/e-mail pada permohonan."
)
STAFF_LOCKED = "Terlalu banyak percobaan masuk yang gagal. Coba lagi dalam {minutes} menit."
WRONG_PIN = "Kode permohonan atau PIN salah."
WRONG_PASSWORD = "Nama pengguna atau kata sandi salah."


def _audit(actor: str, action: str, status: int, target: str | None = None) -> None:
    """A sign-in event in the audit log (no personal data: an application code or an account name)."""
    audit.append(
        db.session,
        audit.Action(
            actor=actor,
            action=action,
            method=request.method,
            path=request.path,
            status=status,
            target=target,
            client_ip=request.remote_addr,
        ),
    )


def _refuse_locked(lock: lockout.Locked, message: str) -> ApiError:
    return ApiError(
        429, "sign_in_locked", message.format(minutes=lock.minutes), headers={"Retry-After": str(lock.retry_after)}
    )


def sign_in_applicant(code: str, pin: str) -> Application:
    """The application whose code and PIN match (committed), else ApiError: 401 for a wrong code or PIN,
    429 while the code is locked (even for the right PIN). Counted per application code, whatever the
    client address; every failure and lock is audited."""
    try:
        app = applications.by_code(db.session, code)
    except NotFound:
        verify_secret(None, pin)  # the same work as for a known code
        raise ApiError(401, "invalid_credentials", WRONG_PIN) from None
    counted = lockout.attempt(db.session, lockout.pin_key(app.id), PIN_POLICY)
    if isinstance(counted, lockout.Locked):
        _audit("pemohon", "pin_refused_locked", 429, app.code)
        db.session.commit()
        raise _refuse_locked(counted, PIN_LOCKED)
    db.session.commit()  # the attempt is counted (and the code locked from the threshold) before the check
    if verify_secret(app.pin_hash, pin):
        lockout.succeeded(db.session, counted)
        return app
    lock = lockout.failed(db.session, counted)
    _audit("pemohon", "pin_failed", 401, app.code)
    if lock is not None:
        _audit("pemohon", "pin_locked", 429, app.code)
    db.session.commit()
    raise ApiError(401, "invalid_credentials", WRONG_PIN)


PIN_SENT = "PIN baru telah dikirim ke nomor WhatsApp atau e-mail yang tercantum pada permohonan."


def reissue_pin(code: str) -> list[str]:
    """A new PIN for the application ``code``, sent to its own contact (committed); the channels used.
    Limited per client like a sign-in and per application (``engine.applications.reissue_pin``)."""
    ratelimit.limit("pin", current_app.config["LOGIN_RATE_LIMIT"])
    app = applications.by_code(db.session, code)
    try:
        channels = applications.reissue_pin(db.session, app)
    except applications.TooManyPinReissues as exc:
        db.session.rollback()
        raise ApiError(429, exc.code, exc.message, headers={"Retry-After": str(exc.retry_after)}) from None
    _audit("pemohon", "pin_reissued", 202, app.code)
    db.session.commit()
    return channels


def sign_in_staff(username: str, password: str) -> User:
    """The active user with this name and password (committed), else ApiError: 401, or 429 while the
    account is locked for this client (or, after many failures from anywhere, for every client).
    Every attempt is audited under the account's name (an unknown name as ``unknown``). Also limited
    per minute per (name, client), never per name alone, so that no address can keep an officer out."""
    client = request.remote_addr or "-"
    ratelimit.limit("login", current_app.config["LOGIN_RATE_LIMIT"], key=f"{username[:64]}@{client}")
    known = username.isprintable() and 0 < len(username) <= 64  # no NUL or lone surrogate to the database
    user = db.session.scalar(select(User).where(User.username == username)) if known else None
    if user is None:
        verify_secret(None, password)
        _audit("unknown", "sign_in_failed", 401)
        db.session.commit()
        raise ApiError(401, "invalid_credentials", WRONG_PASSWORD)
    keys = (
        (f"user:{user.id}@{client}", STAFF_CLIENT_POLICY),
        (f"user:{user.id}", STAFF_ACCOUNT_POLICY),
    )
    counted = []
    for key, policy in keys:
        result = lockout.attempt(db.session, key, policy)
        if isinstance(result, lockout.Locked):
            _audit(user.username, "sign_in_refused_locked", 429)
            db.session.commit()
            raise _refuse_locked(result, STAFF_LOCKED)
        counted.append(result)
    db.session.commit()
    if verify_secret(user.password_hash, password) and user.active:
        for attempt in counted:
            lockout.succeeded(db.session, attempt)
        _audit(user.username, "sign_in", 200)
        return user
    locks = [lock for attempt in counted if (lock := lockout.failed(db.session, attempt)) is not None]
    _audit(user.username, "sign_in_failed", 401)
    if locks:
        _audit(user.username, "sign_in_locked", 429)
    db.session.commit()
    raise ApiError(401, "invalid_credentials", WRONG_PASSWORD)


def revoke(token: str) -> None:
    """End this one session (token). The caller commits."""
    sessions.end(db.session, token)


def sign_out(token: str) -> None:
    """Sign out: a staff user's every session ends (cookie sessions and bearer tokens alike), an
    applicant's token ends. The caller commits."""
    row = live_session(token)  # a revoked or expired token ends nothing
    if row is not None and row.user_id is not None:
        sessions.end_all(db.session, row.user_id)
    else:
        sessions.end(db.session, token)


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and len(header) < 200:
        return header[7:].strip() or None
    return None


def lane_catalogue() -> Catalogue:
    """The lanes of the deployed diagrams, once per request (``engine.workflow.catalogue``)."""
    if "kia_lanes" not in g:
        g.kia_lanes = catalogue(db.session)
    return g.kia_lanes


def staff_of(user: User) -> Principal:
    """An officer as the caller, with the lanes their roles may name."""
    return Principal(user=user, lanes=lane_catalogue())


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
    row = live_session(token)
    if row is None or row.kind != sessions.Kind.BEARER:  # a page's session token is no bearer token
        return None
    if row.user_id is not None:
        return staff_of(row.user)
    app = db.session.get(Application, row.application_id)
    return Principal(application_id=app.id, instance_id=app.instance_id) if app else None


def _from_session() -> Principal | None:
    """Web pages sign in with a session cookie; the pages module registers the loader."""
    loader = current_app.extensions.get("kia_session_principal")
    return loader() if loader else None
