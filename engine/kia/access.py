"""Who may see and act on what. One place, used by the API and the web pages alike."""

from __future__ import annotations

from dataclasses import dataclass

from engine.kia.models import Application, User
from engine.workflow.errors import Forbidden
from engine.workflow.models import TaskRow

STAFF_LANES = ("admin", "operator", "dafdud", "uptd")
ROLES = frozenset({*STAFF_LANES, "owner", "supervisor"})


@dataclass(frozen=True)
class Principal:
    """The caller: a staff user, or an applicant signed in with code and PIN."""

    user: User | None = None
    application_id: int | None = None
    instance_id: int | None = None

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.username
        return "pemohon"

    @property
    def roles(self) -> set[str]:
        return self.user.role_set if self.user is not None else {"applicant"}

    @property
    def is_staff(self) -> bool:
        return self.user is not None


def lanes_of(principal: Principal) -> set[str]:
    return {lane for lane in principal.roles if lane in STAFF_LANES or lane == "applicant"}


def can_view_task(principal: Principal, row: TaskRow) -> bool:
    if principal.user is None:
        return row.lane == "applicant" and row.instance_id == principal.instance_id
    if "supervisor" in principal.roles:
        return True
    return can_act_on_task(principal, row)


def can_act_on_task(principal: Principal, row: TaskRow) -> bool:
    if principal.user is None:
        return row.lane == "applicant" and row.instance_id == principal.instance_id
    if row.lane not in principal.roles or row.lane == "applicant":
        return False
    return row.lane != "uptd" or principal.user.kecamatan == row.kecamatan


def require_task_action(principal: Principal, row: TaskRow) -> None:
    if not can_act_on_task(principal, row):
        if principal.user is not None and row.lane in principal.roles and row.lane == "uptd":
            raise Forbidden("Tugas ini milik UPTD kecamatan lain.")
        raise Forbidden("Tugas ini bukan untuk lane Anda.")


def can_view_application(principal: Principal, app: Application) -> bool:
    """Staff of a lane that handles applications; a Ka. UPTD only for their own kecamatan."""
    if principal.user is None:
        return principal.application_id == app.id
    roles = principal.roles
    if roles & {"admin", "operator", "dafdud", "supervisor"}:
        return True
    if "uptd" in roles:
        return principal.user.kecamatan == app.instance.kecamatan
    return False


def require_application(principal: Principal, app: Application) -> None:
    if not can_view_application(principal, app):
        raise Forbidden("Anda tidak berwenang melihat permohonan ini.")


def require_role(principal: Principal, *roles: str) -> None:
    if not principal.roles & set(roles):
        raise Forbidden("Peran Anda tidak diizinkan untuk tindakan ini.")
