"""Who may see and act on what. One place, used by the API and the web pages alike.

Staff roles are the lanes of the deployed diagrams (``engine.workflow.lanes``: a lane's id is the role
that works it, and a lane with ``scope=kecamatan`` gives its tasks to its officers of the application's
kecamatan only), plus the service's own roles: ``owner`` (process owner) and ``supervisor``. A staff
``Principal`` carries the lane catalogue it was built with, so that every check below is made without a
query (the inbox checks each row of a page)."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.kia.models import Application, User
from engine.kia.process import APPLICANT_LANE, OWNER, SUPERVISOR
from engine.workflow.catalogue import EMPTY, Catalogue
from engine.workflow.errors import Forbidden
from engine.workflow.models import TaskRow

SERVICE_ROLE_NAMES = {OWNER: "Pemilik proses", SUPERVISOR: "Supervisor"}
APPLICANT_NAME = "Pemohon"


@dataclass(frozen=True)
class Principal:
    """The caller: a staff user (with the lanes of the deployed diagrams), or an applicant signed in with
    code and PIN."""

    user: User | None = None
    application_id: int | None = None
    instance_id: int | None = None
    lanes: Catalogue = field(default=EMPTY, compare=False, repr=False)

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.username
        return "pemohon"

    @property
    def roles(self) -> set[str]:
        return self.user.role_set if self.user is not None else {APPLICANT_LANE}

    @property
    def is_staff(self) -> bool:
        return self.user is not None


def staff_lanes(lanes: Catalogue) -> dict[str, str]:
    """The lanes staff work (every lane but the applicant's), id -> name, in the diagram's words and order
    (lanes only a later version has after the others)."""
    return {lane_id: lane.name for lane_id, lane in lanes.lanes.items() if lane_id != APPLICANT_LANE}


def role_names(lanes: Catalogue) -> dict[str, str]:
    """Every role an officer may be given, id -> name: the staff lanes, then the service's roles."""
    return {**staff_lanes(lanes), **SERVICE_ROLE_NAMES}


def lane_name(lanes: Catalogue, lane_id: str | None) -> str:
    """A lane as people read it (the applicant's lane as "Pemohon")."""
    return APPLICANT_NAME if lane_id == APPLICANT_LANE else lanes.name(lane_id)


def lanes_of(principal: Principal) -> set[str]:
    """The lanes whose tasks the caller works: an officer's roles that are staff lanes; the applicant's."""
    if principal.user is None:
        return {APPLICANT_LANE}
    return {role for role in principal.roles if role in principal.lanes.lanes and role != APPLICANT_LANE}


def _in_kecamatan(principal: Principal, kecamatan: str | None) -> bool:
    own = principal.user.kecamatan if principal.user is not None else None
    return own is not None and own == kecamatan


def can_view_task(principal: Principal, row: TaskRow) -> bool:
    if principal.user is None:
        return row.lane == APPLICANT_LANE and row.instance_id == principal.instance_id
    if SUPERVISOR in principal.roles:
        return True
    return can_act_on_task(principal, row)


def can_act_on_task(principal: Principal, row: TaskRow) -> bool:
    """The task's lane is one of the caller's; a kecamatan-scoped lane's only in the caller's kecamatan."""
    if principal.user is None:
        return row.lane == APPLICANT_LANE and row.instance_id == principal.instance_id
    if row.lane not in lanes_of(principal):
        return False
    return not principal.lanes.by_kecamatan(row.lane) or _in_kecamatan(principal, row.kecamatan)


def require_task_action(principal: Principal, row: TaskRow) -> None:
    if not can_act_on_task(principal, row):
        if principal.user is not None and row.lane in lanes_of(principal):
            raise Forbidden(f"Tugas ini milik {lane_name(principal.lanes, row.lane)} kecamatan lain.")
        raise Forbidden("Tugas ini bukan untuk bagian Anda.")


def handles_application(principal: Principal, app: Application) -> bool:
    """The caller holds a lane of the diagram version the application runs on; a kecamatan-scoped lane
    only for applications of the caller's kecamatan."""
    if principal.user is None:
        return False
    instance = app.instance
    mine = lanes_of(principal) & principal.lanes.in_version(instance.process_version_id)
    return any(not principal.lanes.by_kecamatan(lane) or _in_kecamatan(principal, instance.kecamatan) for lane in mine)


def can_view_application(principal: Principal, app: Application) -> bool:
    """The applicant their own; a supervisor any; staff of a lane that handles it (``handles_application``)."""
    if principal.user is None:
        return principal.application_id == app.id
    return SUPERVISOR in principal.roles or handles_application(principal, app)


def require_application(principal: Principal, app: Application) -> None:
    if not can_view_application(principal, app):
        raise Forbidden("Anda tidak berwenang melihat permohonan ini.")


def may_see_population_records(principal: Principal | None, app: Application) -> bool:
    """The one rule for everything read through the SIAK port (the family's members, the record's values
    beside the entry, whether and where the family is known): staff of the lanes that handle the
    application only (``handles_application``: a kecamatan-scoped lane for its own kecamatan). Never the
    applicant (token or PIN session), an anonymous caller, a process owner or a supervisor without a
    lane: they see what was entered."""
    return principal is not None and handles_application(principal, app)


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
