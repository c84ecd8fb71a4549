"""Staff as printed documents name them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia.models import User


def full_names(session: Session, usernames: Iterable[str | None]) -> dict[str, str]:
    """``{username: full name}`` for the given user names (unknown ones are left out)."""
    names = {n for n in usernames if n}
    if not names:
        return {}
    return {u.username: u.full_name for u in session.scalars(select(User).where(User.username.in_(names)))}
