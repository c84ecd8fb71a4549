"""Staff accounts' profile (full name, NIP), contact details and notice preferences:
``/api/v1/users/me`` for the caller, and ``/api/v1/users/{username}`` for supervisors (or the user
themself); an account's roles (the lanes of the deployed diagrams, owner, supervisor), kecamatan and
whether it is active only for supervisors."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields

from engine.kia import people
from engine.kia.access import Principal
from engine.models import User
from engine.workflow.errors import Forbidden
from forms.fields import Boolean, Email, String
from forms.schemas import Phone

from .auth import staff_principal
from .extensions import db
from .http import Blueprint, load_json

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Staff contact details and notices")


class UserSchema(Schema):
    username = fields.String()
    full_name = fields.String()
    nip = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    kecamatan = fields.String(allow_none=True)
    active = fields.Boolean()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    notify_email = fields.Boolean()
    notify_whatsapp = fields.Boolean()


class ContactUpdate(Schema):
    """Any of the fields; ``null`` or "" clears an address or the NIP. In-app notices are always on.
    ``roles``, ``kecamatan`` and ``active``: a supervisor only (a lane scoped by kecamatan, such as
    ``uptd``, needs a kecamatan)."""

    full_name = String(max_length=200, metadata={"title": "Nama lengkap (dengan gelar)"})
    nip = String(allow_none=True, max_length=40, metadata={"title": "NIP"})

    email = Email(allow_none=True, metadata={"title": "Alamat e-mail"})
    phone = Phone(allow_none=True, metadata={"title": "Nomor WhatsApp"})
    notify_email = Boolean(metadata={"title": "Pemberitahuan melalui e-mail"})
    notify_whatsapp = Boolean(metadata={"title": "Pemberitahuan melalui WhatsApp"})

    roles = fields.List(
        String(max_length=50),
        metadata={"title": "Peran"},
        error_messages={"invalid": "Harus berupa daftar peran.", "null": "Harus berupa daftar peran."},
    )
    kecamatan = String(allow_none=True, max_length=16, metadata={"title": "Kecamatan"})
    active = Boolean(metadata={"title": "Akun aktif"})


ACCESS_FIELDS = frozenset({"roles", "kecamatan", "active"})


def user_dict(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "nip": user.nip,
        "roles": sorted(user.role_set),
        "kecamatan": user.kecamatan,
        "active": user.active,
        "email": user.email,
        "phone": user.phone,
        "notify_email": user.notify_email,
        "notify_whatsapp": user.notify_whatsapp,
    }


def _user(principal: Principal, username: str) -> User:
    """``me`` or a user name; another's account only for a supervisor."""
    if username in ("me", principal.user.username):
        return principal.user
    if "supervisor" not in principal.roles:
        raise Forbidden("Hanya supervisor yang dapat melihat atau mengubah akun petugas lain.")
    return people.by_username(db.session, username)


@blp.route("/<username>")
class UserItem(MethodView):
    @blp.response(200, UserSchema)
    @blp.errors(401, 403, 404)
    def get(self, username: str) -> dict:
        """An officer's account as notices see it (``me``: the caller's)."""
        return user_dict(_user(staff_principal(), username))

    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": ContactUpdate}}})
    @blp.response(200, UserSchema)
    @blp.errors(400, 401, 403, 404, 415, 422)
    def put(self, username: str) -> dict:
        """Change the full name and NIP (as signature blocks show them), the e-mail address, WhatsApp
        number and notice preferences (the user, or a supervisor); the roles, kecamatan and active state
        (a supervisor; not their own active state)."""
        principal = staff_principal()
        user = _user(principal, username)
        changes = load_json(ContactUpdate)
        if changes.keys() & ACCESS_FIELDS:
            if "supervisor" not in principal.roles:
                raise Forbidden("Hanya supervisor yang dapat mengubah peran, kecamatan atau status akun.")
            if changes.get("active") is False and user.id == principal.user.id:
                raise Forbidden("Anda tidak dapat menonaktifkan akun Anda sendiri.")
        people.set_profile(user, changes)
        people.set_contact(user, changes)
        if changes.keys() & {"roles", "kecamatan"}:
            people.change_access(
                db.session,
                user,
                user.full_name,
                changes.get("roles", user.role_set),
                changes.get("kecamatan", user.kecamatan),
            )
        if changes.get("active") is True:
            people.activate(user)
        elif changes.get("active") is False:
            people.deactivate(db.session, user)
        db.session.commit()
        return user_dict(user)
