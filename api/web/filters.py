"""Jinja filters and globals for the pages: times in Asia/Jakarta, Indonesian labels."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g
from sqlalchemy import select

from engine.kia import access
from engine.kia.applications import STATUS_LABELS
from engine.kia.corrections import indonesian_date
from engine.kia.regions import PEKANBARU_KECAMATAN
from engine.kia.security import display_code
from engine.models import User
from engine.reports.dashboard import APPLICANT_ACTOR, SYSTEM_ACTORS, node_names
from engine.workflow.clock import clock

from ..auth import lane_catalogue
from ..extensions import db
from . import csrf

JAKARTA = ZoneInfo("Asia/Jakarta")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
DOCUMENT_KINDS = {"kk": "Kartu Keluarga", "akta": "Akta kelahiran", "photo": "Pas foto 2x3"}  # the applicant's
DOCUMENT_LABELS = {**DOCUMENT_KINDS, "proxy_letter": "Surat kuasa (penyerahan KIA)"}  # every kind, as shown
EVENT_LABELS = {
    "started": "Permohonan dimulai",
    "created": "Tugas dibuka",
    "claimed": "Diambil",
    "unclaimed": "Dilepas",
    "completed": "Diselesaikan",
    "cancelled": "Dibatalkan",
    "milestone": "Tahap",
    "escalated": "Eskalasi (lewat standar waktu)",
    "finished": "Selesai",
    "document_uploaded": "Dokumen diunggah ulang",
    "routed": "Diarahkan ke UPTD kecamatan domisili",
    "verification_override": "Diterima meski tidak sesuai data kependudukan",
    "kind_changed": "Jenis KIA dihitung ulang setelah perbaikan",
    "incident": "Insiden: langkah proses gagal dijalankan",
    "incident_resolved": "Insiden diselesaikan",
    "deadline_moved": "Batas waktu dihitung ulang (kalender kerja diubah atau tugas dilanjutkan)",
    "version_changed": "Dipindahkan ke versi proses lain",
    "pin_reissued": "PIN baru dikirim ke pemohon",
    "whatsapp_unreachable": "Nomor WhatsApp pemohon tidak dapat dihubungi",
    "correction_submitted": "Perbaikan dikirim pemohon",
    "resubmitted": "Permohonan diajukan kembali",
    "held": "Ditunda (kendala kantor)",
    "resumed": "Dilanjutkan setelah ditunda",
    "collection_reminded": "Pengingat pengambilan KIA dikirim ke pemohon",
}


def wib(value: datetime | str | None, with_date: bool = True) -> str:
    """``28 Nov 2026 14:05`` in Asia/Jakarta time (WIB)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    local = value.astimezone(JAKARTA)
    clock_part = f"{local:%H:%M}"
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} {clock_part}" if with_date else clock_part


def span(delta: timedelta) -> str:
    """A duration as ``2 hari 3 jam``, ``45 menit``."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} hari"] if days else []
    if hours:
        parts.append(f"{hours} jam")
    if minutes and not days:
        parts.append(f"{minutes} menit")
    return " ".join(parts) or "kurang dari 1 menit"


TIME_BASES = {"working": "jam kerja", "calendar": "waktu kalender"}
DECISIONS = {  # the forms' choice values as an officer reads them in the history
    "complete": "lengkap",
    "incomplete": "tidak lengkap",
    "issued": "dicetak",
    "problem": "data bermasalah",
    "arrived": "tiba di UPTD",
    "missing": "tidak ada dalam kiriman",
    "resent": "ditemukan dan dikirim ulang",
    "reprinted": "dicetak ulang dan dikirim",
}


def lane_name(lane: str | None) -> str:
    """A lane by its name in the deployed diagrams (the applicant's as "Pemohon"), never by its id."""
    return access.lane_name(lane_catalogue(), lane)


def role_label(role: str) -> str:
    return access.role_names(lane_catalogue()).get(role, role)


def role_labels() -> dict[str, str]:
    """Every role an officer may be given, id -> name (the deployed diagrams' staff lanes, owner, supervisor)."""
    return access.role_names(lane_catalogue())


def scoped_lane_names() -> list[str]:
    """The names of the lanes whose officers work for one kecamatan."""
    lanes = lane_catalogue()
    return [lanes.name(lane) for lane in sorted(lanes.scoped)]


def _names() -> tuple[dict[str, str], dict[str, str]]:
    if "kia_node_names" not in g:
        g.kia_node_names = node_names(db.session)
    return g.kia_node_names


def step_name(step: str | None) -> str:
    """A step (or milestone, or service task) by its name in the diagram, never by its id."""
    if not step:
        return ""
    return _names()[0].get(step, step)


def process_name(key: str | None) -> str:
    return _names()[1].get(key or "", key or "")


def actor_name(actor: str | None) -> str:
    """Who did it: an officer by their full name, the service as "Sistem", the applicant as "Pemohon"."""
    if not actor:
        return ""
    if actor.lower() in SYSTEM_ACTORS:
        return "Sistem"
    if actor == APPLICANT_ACTOR:
        return "Pemohon"
    if "kia_user_names" not in g:
        g.kia_user_names = {u: n for u, n in db.session.execute(select(User.username, User.full_name))}
    return g.kia_user_names.get(actor, actor)


def decision_label(value: str | None) -> str:
    return DECISIONS.get(value or "", value or "")


def day_label(value: date | str | None, with_year: bool = True) -> str:
    """``1 Des 2026`` (a calendar day, no time)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):  # an ISO date as stored in a form's data
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.astimezone(JAKARTA).date()
    text = f"{value.day} {MONTHS[value.month - 1]}"
    return f"{text} {value.year}" if with_year else text


def period_label(first: date, last: date) -> str:
    """A day (``1 Des``) or a span of days (``30 Nov–6 Des``)."""
    if first == last:
        return day_label(first, with_year=False)
    return f"{day_label(first, with_year=False)}–{day_label(last, with_year=False)}"


def due_text(due: datetime | None) -> str:
    if due is None:
        return "tanpa batas waktu"
    left = due - clock.now()
    return f"sisa {span(left)}" if left.total_seconds() >= 0 else f"lewat {span(left)}"


def is_past(due: datetime | None) -> bool:
    return due is not None and due <= clock.now()


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def duration_label(standard: str | None) -> str:
    """``PT1H`` -> ``1 jam``; ``P1D`` -> ``1 hari``."""
    if not standard:
        return "–"
    from engine.workflow.calendar import parse_duration

    try:
        days, rest = parse_duration(standard)
    except ValueError:
        return standard
    return span(timedelta(days=days) + rest) if days or rest else standard


LANE_ROLES = "lanes"  # in NAV: any role that is a staff lane of a deployed diagram
NAV = (
    ("web.inbox", "Kotak masuk", {LANE_ROLES, "supervisor"}),
    ("web.grouping_page", "Pengelompokan", {"dafdud"}),
    ("web.batches_page", "Batch distribusi", {"dafdud", "uptd", "supervisor"}),
    ("web.dashboard_page", "Dasbor", {"supervisor", "owner"}),
    ("web.uncollected_page", "KIA belum diambil", {"supervisor"}),
    ("web.modeler", "Modeler", {"owner"}),
    ("web.versions", "Versi proses", {"owner", "supervisor"}),
    ("web.staff_accounts", "Akun petugas", {"supervisor"}),
    ("web.calendar_page", "Kalender kerja", {"supervisor"}),
    ("web.audit_page", "Log audit", {"supervisor"}),
)


def nav_links(principal: Any) -> list[tuple[str, str]]:
    """The menu entries the signed-in officer's roles open."""
    roles = set(principal.roles) if principal is not None else set()
    if principal is not None and access.lanes_of(principal) - {access.APPLICANT_LANE}:
        roles.add(LANE_ROLES)
    return [(endpoint, label) for endpoint, label, allowed in NAV if roles & allowed]


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        wib=wib,
        due_text=due_text,
        is_past=is_past,
        iso=iso,
        standard=duration_label,
        seconds=lambda s: span(timedelta(seconds=s or 0)),
        display_code=display_code,
        day=day_label,
        basis=lambda b: TIME_BASES.get(b or "", b or "–"),
        tanggal=lambda d: indonesian_date(d) if d else "–",
        step_name=step_name,
        process_name=process_name,
        actor=actor_name,
        decision=decision_label,
        lane_name=lane_name,
        role_label=role_label,
    )
    app.jinja_env.globals.update(period_label=period_label)
    app.jinja_env.tests["startingwith"] = lambda value, prefix: str(value).startswith(prefix)
    app.jinja_env.globals.update(
        csrf_token=csrf.token,
        nav_links=nav_links,
        DOCUMENT_KINDS=DOCUMENT_KINDS,
        DOCUMENT_LABELS=DOCUMENT_LABELS,
        role_labels=role_labels,
        scoped_lane_names=scoped_lane_names,
        EVENT_LABELS=EVENT_LABELS,
        STATUS_LABELS=STATUS_LABELS,
        KECAMATAN=PEKANBARU_KECAMATAN,
    )
