"""Bring a database to a usable state: schema, reference data, the bundled diagram, users."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

import forms
from engine.kia import people, reference
from engine.models import ProcessVersion, User
from engine.ops import schema
from engine.workflow import definitions

from . import diagrams
from .extensions import db

BUNDLED_NOTE = "Diagram bawaan layanan"


def init_database(bundled_diagram: str | None = None) -> ProcessVersion | None:
    """Upgrade the schema to the newest revision (a new database is created, one made before migrations
    is adopted), seed reference data, deploy the bundled diagram with the forms and decision tables beside
    it if they changed."""
    schema.upgrade(db.engine)
    reference.seed(db.session)  # regions, kecamatan and UPTDs: added where missing, edits kept
    db.session.commit()
    return deploy_bundled(Path(bundled_diagram)) if bundled_diagram else None


def deploy_bundled(diagram: Path) -> ProcessVersion:
    """Deploy the bundled diagram with the forms (``*.form.json``) and decision tables (``*.dmn``) beside
    it, unless exactly these are deployed already."""
    files = diagrams.files_beside(diagram)
    version, _ = definitions.deploy(
        db.session, diagram.read_bytes(), forms.form_choices(), "system", files=files, note=BUNDLED_NOTE
    )
    db.session.commit()
    return version


def add_user(username: str, password: str, roles: list[str], full_name: str = "", kecamatan: str | None = None) -> User:
    """Add an officer, or (an existing name) reset their password, roles and kecamatan and activate them:
    the CLI's ``users add``. The same checks as the supervisor's page (``engine.kia.people``)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        user = people.create(db.session, username, full_name or username, roles, kecamatan, password)
    else:
        people.check_password(password)
        people.change_access(db.session, user, full_name or user.full_name, roles, kecamatan)
        people.set_password(db.session, user, password)  # a password reset ends every session of the user
        people.activate(user)
    db.session.commit()
    return user


def deactivate_user(username: str) -> User:
    """The user can no longer sign in, and every session of theirs (pages and bearer tokens) ends."""
    user = people.deactivate(db.session, people.by_username(db.session, username))
    db.session.commit()
    return user
