"""Staff: as printed documents name them, and their contact details for notices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia.models import User
from engine.workflow.errors import InvalidData, NotFound


def full_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """``{username: full name}`` for the given user names (unknown ones are left out)."""
    names = {n for n in usernames if n}
    if not names:
        return {}
    return {u.username: u.full_name for u in session.scalars(select(User).where(User.username.in_(names)))}


CONTACT_FIELDS = ("email", "phone", "notify_email", "notify_whatsapp")


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
