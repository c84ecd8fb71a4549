"""Who may see and act on what. One place, used by the API and the web pages alike."""

from __future__ import annotations

from dataclasses import dataclass

from engine.kia.models import Application, User
from engine.workflow.errors import Forbidden
from engine.workflow.models import TaskRow

STAFF_LANES = ("admin", "operator", "dafdud", "uptd")
ROLES = frozenset({*STAFF_LANES, "owner", "supervisor"})
LANE_NAMES = {
    "applicant": "Pemohon",
    "admin": "Admin KIA WhatsApp",
    "operator": "Petugas Penerbitan KIA",
    "dafdud": "Staf Bidang Dafdud",
    "uptd": "Ka. UPTD",
}


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
        raise Forbidden("Tugas ini bukan untuk bagian Anda.")


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


def may_see_population_records(principal: Principal | None, app: Application) -> bool:
    """The one rule for everything read through the SIAK port (the family's members, the record's values
    beside the entry, whether and where the family is known): staff of the lanes that handle the
    application only, a Ka. UPTD for their own kecamatan. Never the applicant (token or PIN session),
    an anonymous caller, a process owner or a supervisor without a lane: they see what was entered."""
    if principal is None or principal.user is None:
        return False
    roles = principal.roles
    if roles & {"admin", "operator", "dafdud"}:
        return True
    return "uptd" in roles and principal.user.kecamatan == app.instance.kecamatan


# What the history holds that comes from the population records: a verification override as a whole
# (that the entry disagreed with the records, which fields, the officer's reason that may quote them),
# and by event kind the keys of a detail: the routing's source (whether the KK is known to SIAK) and the
# override's reason again in the completed verification's form data.
POPULATION_EVENTS = frozenset({"verification_override"})
POPULATION_DETAIL = {"routed": ("source",), "completed": ("override_reason",)}


def event_detail(kind: str, detail: dict, population_records: bool) -> dict | None:
    """An event's detail as the caller may see it (``population_records``: the caller may see them);
    None when the caller may not see the event at all."""
    if population_records:
        return dict(detail or {})
    if kind in POPULATION_EVENTS:
        return None
    hidden = POPULATION_DETAIL.get(kind, ())
    return {key: value for key, value in (detail or {}).items() if key not in hidden}


def require_role(principal: Principal, *roles: str) -> None:
    if not principal.roles & set(roles):
        raise Forbidden("Peran Anda tidak diizinkan untuk tindakan ini.")
