"""Bring a database to a usable state: schema, reference data, the bundled diagram, users."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

import forms
from engine.kia import reference, sessions
from engine.kia.access import ROLES
from engine.kia.security import hash_secret
from engine.models import ProcessVersion, User
from engine.ops import schema
from engine.workflow import definitions
from engine.workflow.errors import InvalidData, NotFound

from .extensions import db

BUNDLED_NOTE = "Diagram bawaan layanan (bpmn/kia_whatsapp.bpmn)"


def init_database(bundled_diagram: str | None = None) -> ProcessVersion | None:
    """Upgrade the schema to the newest revision (a new database is created, one made before migrations
    is adopted), seed reference data, deploy the bundled diagram if it changed."""
    schema.upgrade(db.engine)
    reference.seed(db.session)  # regions, kecamatan and UPTDs: added where missing, edits kept
    db.session.commit()
    version = None
    if bundled_diagram:
        xml = Path(bundled_diagram).read_bytes()
        version, _ = definitions.deploy(db.session, xml, forms.form_choices(), "system", note=BUNDLED_NOTE)
        db.session.commit()
    return version


def add_user(username: str, password: str, roles: list[str], full_name: str = "", kecamatan: str | None = None) -> User:
    unknown = set(roles) - ROLES
    if unknown or not roles:
        raise InvalidData("Peran tidak dikenal.", {"role": [f"Peran tidak dikenal: {', '.join(sorted(unknown))}"]})
    if "uptd" in roles and not kecamatan:
        raise InvalidData("Kecamatan wajib.", {"kecamatan": ["Pengguna UPTD wajib memiliki kecamatan."]})
    if len(password) < 8:
        raise InvalidData("Kata sandi terlalu pendek.", {"password": ["Minimal 8 karakter."]})
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username)
        db.session.add(user)
    else:
        sessions.end_all(db.session, user.id)  # a password reset ends every session of the user
    user.full_name = full_name or username
    user.password_hash = hash_secret(password)
    user.roles = ",".join(sorted(set(roles)))
    user.kecamatan = kecamatan
    user.active = True
    db.session.commit()
    return user


def deactivate_user(username: str) -> User:
    """The user can no longer sign in, and every session of theirs (pages and bearer tokens) ends."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("Pengguna tidak ditemukan.")
    user.active = False
    sessions.end_all(db.session, user.id)
    db.session.commit()
    return user
