"""Staff accounts: as printed documents name them, their contact details for notices, and the
supervisor's account work (add, roles and kecamatan, deactivate, password resets) and every officer's own
password change. The CLI (``api.provisioning``), the API and the supervisor's pages call these; the caller
commits. A password reset or a deactivation ends every session of the user (``engine.kia.sessions``)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import sessions
from engine.kia.access import role_names
from engine.kia.models import Kecamatan, User
from engine.kia.security import hash_secret, verify_secret
from engine.workflow.catalogue import catalogue
from engine.workflow.errors import InvalidData, NotFound

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
MIN_PASSWORD = 8
TEMPORARY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read out or typed from a note
TEMPORARY_LENGTH = 12
RESET_LINK_TTL = timedelta(hours=24)


def full_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """``{username: full name}`` for the given user names (unknown ones are left out)."""
    names = {n for n in usernames if n}
    if not names:
        return {}
    return {u.username: u.full_name for u in session.scalars(select(User).where(User.username.in_(names)))}


@dataclass(frozen=True)
class Signatory:
    """An officer as a signature block names them: full name and NIP (empty when not recorded)."""

    name: str
    nip: str = ""


def signatories(session: Session, usernames: Iterable[str | None]) -> dict[str, Signatory]:
    """``{username: Signatory}`` for the given user names (unknown ones are left out)."""
    names = {n for n in usernames if n}
    if not names:
        return {}
    return {
        u.username: Signatory(u.full_name, u.nip or "")
        for u in session.scalars(select(User).where(User.username.in_(names)))
    }


CONTACT_FIELDS = ("email", "phone", "notify_email", "notify_whatsapp")
NIP_LENGTH = 18
_DIGITS = re.compile(r"[0-9]+")
NIP_MESSAGE = "NIP harus 18 digit angka."


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def check_nip(value: str) -> str:
    """A civil servant's NIP (Nomor Induk Pegawai), checked by its structure: 18 digits, the birth date
    (YYYYMMDD), the month of appointment (YYYYMM, after the 18th birthday), the sex (1 or 2) and a serial
    number (001-999). Spaces are removed. Raises InvalidData with the field's message."""
    nip = re.sub(r"\s+", "", value)
    if len(nip) != NIP_LENGTH or not _DIGITS.fullmatch(nip):
        raise InvalidData("Data tidak sah.", {"nip": [NIP_MESSAGE]})
    birth = _real_date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    if birth is None or birth.year < 1940:
        raise InvalidData("Data tidak sah.", {"nip": ["Tanggal lahir pada NIP (digit 1-8) tidak sah."]})
    appointed = _real_date(int(nip[8:12]), int(nip[12:14]), 1)
    if appointed is None or appointed.year < birth.year + 18:
        raise InvalidData("Data tidak sah.", {"nip": ["Bulan pengangkatan pada NIP (digit 9-14) tidak sah."]})
    if nip[14] not in "12":
        raise InvalidData("Data tidak sah.", {"nip": ["Kode jenis kelamin pada NIP (digit 15) harus 1 atau 2."]})
    if nip[15:] == "000":
        raise InvalidData("Data tidak sah.", {"nip": ["Nomor urut pada NIP (digit 16-18) tidak sah."]})
    return nip


def set_profile(user: User, changes: dict[str, Any]) -> User:
    """Change the officer's full name and NIP as signature blocks show them (validated strings; an empty
    NIP clears it, a full name cannot be empty)."""
    name = " ".join((changes.get("full_name") or "").split())
    if "full_name" in changes and not name:
        raise InvalidData("Data tidak sah.", {"full_name": ["Nama lengkap wajib diisi."]})
    nip = changes.get("nip") or ""
    nip = check_nip(nip) if nip.strip() else ""  # all checked before anything changes
    if "full_name" in changes:
        user.full_name = name
    if "nip" in changes:
        user.nip = nip or None
    return user


def by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("Pengguna tidak ditemukan.")
    return user


def set_contact(user: User, changes: dict[str, Any]) -> User:
    """Change an officer's e-mail address, WhatsApp number and notice preferences (validated values);
    a channel can only be chosen with an address for it."""
    for name in CONTACT_FIELDS:
        if name in changes:
            setattr(user, name, changes[name] or (False if name.startswith("notify_") else None))
    errors = {}
    if user.notify_email and not user.email:
        errors["notify_email"] = ["Isi alamat e-mail untuk menerima pemberitahuan melalui e-mail."]
    if user.notify_whatsapp and not user.phone:
        errors["notify_whatsapp"] = ["Isi nomor WhatsApp untuk menerima pemberitahuan melalui WhatsApp."]
    if errors:
        raise InvalidData("Data tidak sah.", errors)
    return user


# --- accounts (supervisors, and the CLI) ---------------------------------------------------------------


def check_access(session: Session, roles: Iterable[str], kecamatan: str | None) -> tuple[list[str], str | None]:
    """Validated roles (sorted, at least one, each a lane of a deployed diagram or a service role) and
    kecamatan (a known code; required for a lane scoped by kecamatan); ``InvalidData`` with a message per
    field otherwise."""
    lanes = catalogue(session)
    known = role_names(lanes)
    chosen = sorted({r.strip() for r in roles if r and r.strip()})
    kecamatan = (kecamatan or "").strip() or None
    errors: dict[str, list[str]] = {}
    unknown = [r for r in chosen if r not in known]
    if unknown:
        offered = ", ".join(f"{role} ({name})" for role, name in known.items())
        errors["roles"] = [f"Peran tidak dikenal: {', '.join(unknown)}. Peran yang ada: {offered}."]
    elif not chosen:
        errors["roles"] = ["Pilih sedikitnya satu peran."]
    scoped = [known[r] for r in chosen if lanes.by_kecamatan(r)]
    if scoped and not kecamatan:
        names = ", ".join(scoped)
        errors["kecamatan"] = [f"Peran {names} dibatasi per kecamatan: petugasnya wajib memiliki kecamatan."]
    elif kecamatan and session.get(Kecamatan, kecamatan) is None:
        errors["kecamatan"] = ["Kecamatan tidak dikenal."]
    if errors:
        raise InvalidData("Data akun tidak sah.", errors)
    return chosen, kecamatan


def check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidData("Kata sandi terlalu pendek.", {field: [f"Kata sandi minimal {MIN_PASSWORD} karakter."]})
    if len(password) > 200:
        raise InvalidData("Kata sandi terlalu panjang.", {field: ["Kata sandi maksimal 200 karakter."]})


def create(
    session: Session,
    username: str,
    full_name: str,
    roles: Iterable[str],
    kecamatan: str | None,
    password: str,
    *,
    must_change_password: bool = False,
) -> User:
    """A new officer's account."""
    username = username.strip().lower()
    errors: dict[str, list[str]] = {}
    if not USERNAME.match(username):
        errors["username"] = ["3-64 karakter: huruf kecil, angka, titik, garis bawah atau tanda hubung."]
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors["username"] = ["Nama pengguna sudah dipakai."]
    if not full_name.strip():
        errors["full_name"] = ["Nama lengkap wajib diisi."]
    try:
        chosen, kecamatan = check_access(session, roles, kecamatan)
    except InvalidData as exc:
        errors.update(exc.fields)
    try:
        check_password(password)
    except InvalidData as exc:
        errors.update(exc.fields)
    if errors:
        raise InvalidData("Data akun tidak sah.", errors)
    user = User(
        username=username,
        full_name=full_name.strip()[:200],
        password_hash=hash_secret(password),
        roles=",".join(chosen),
        kecamatan=kecamatan,
        active=True,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    return user


def change_access(session: Session, user: User, full_name: str, roles: Iterable[str], kecamatan: str | None) -> User:
    """New name, roles and kecamatan; they apply to the officer's next request (sessions read them)."""
    if not full_name.strip():
        raise InvalidData("Data akun tidak sah.", {"full_name": ["Nama lengkap wajib diisi."]})
    chosen, kecamatan = check_access(session, roles, kecamatan)
    user.full_name, user.roles, user.kecamatan = full_name.strip()[:200], ",".join(chosen), kecamatan
    return user


def deactivate(session: Session, user: User) -> User:
    """The officer can no longer sign in, and every session of theirs ends."""
    user.active = False
    sessions.end_all(session, user.id)
    return user


def activate(user: User) -> User:
    user.active = True
    return user


def set_password(session: Session, user: User, password: str, *, must_change: bool = False) -> None:
    """A new password; every session of the user ends (the caller opens a new one for the officer who
    just chose it)."""
    check_password(password)
    user.password_hash = hash_secret(password)
    user.must_change_password = must_change
    sessions.end_all(session, user.id)


def new_temporary_password() -> str:
    return "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(TEMPORARY_LENGTH))


def temporary_password(session: Session, user: User) -> str:
    """A random password for the supervisor to hand over, shown once (never stored in clear): the
    officer must choose a new one at the next sign-in."""
    password = new_temporary_password()
    set_password(session, user, password, must_change=True)
    return password


def reset_link_token(session: Session, user: User, ttl: timedelta = RESET_LINK_TTL) -> str:
    """A one-time token for a page where the officer sets a new password. The old password stops working
    now (every session ends); the token ends once used (the password it was made with changes), after
    ``ttl``, or when another reset is made."""
    set_password(session, user, secrets.token_urlsafe(32))
    return sessions.open_session(session, ttl, user=user, kind=sessions.Kind.RESET)


def user_of_reset_token(session: Session, token: str | None) -> User | None:
    """The officer a live reset link belongs to, or None (used, expired, replaced or unknown)."""
    row = sessions.valid_session(session, token, RESET_LINK_TTL)
    if row is None or row.kind != sessions.Kind.RESET or row.user is None:
        return None
    return row.user


def change_own_password(session: Session, user: User, current: str, new: str, repeated: str) -> None:
    """The officer's own change: the current password, then the new one twice (different from it)."""
    choose_password(session, user, new, repeated, current=current)


def choose_password(session: Session, user: User, new: str, repeated: str, current: str | None = None) -> None:
    """A new password typed twice; with ``current`` (the officer's own change) that one must be right
    and the new one different; without (a reset link) there is none to give."""
    errors: dict[str, list[str]] = {}
    if current is not None and not verify_secret(user.password_hash, current):
        errors["current"] = ["Kata sandi saat ini salah."]
    try:
        check_password(new, "new")
    except InvalidData as exc:
        errors.update(exc.fields)
    if new != repeated:
        errors["repeated"] = ["Ulangi kata sandi baru yang sama."]
    elif current is not None and "current" not in errors and new == current:
        errors["new"] = ["Kata sandi baru harus berbeda dari yang lama."]
    if errors:
        raise InvalidData("Kata sandi tidak diubah.", errors)
    set_password(session, user, new)


def staff_list(session: Session) -> list[User]:
    """Every account, active first, then by name."""
    return list(session.scalars(select(User).order_by(User.active.desc(), User.full_name, User.username)))
