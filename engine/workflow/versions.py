"""Which version of a process is current: activation and roll back.

Versions are immutable (``definitions``); which one new instances start on is a separate, audited fact:
the latest ``ProcessActivation`` row of the process key. Deploying a new version activates it; the
process owner rolls back by activating an older version with a reason. Instances already running stay
on the version they run on (moving them is ``migration``'s job).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData, NotFound
from engine.workflow.models import Event, ProcessActivation, ProcessVersion

MAX_REASON_LENGTH = 2000


def record_activation(session: Session, version: ProcessVersion, reason: str, actor: str) -> ProcessActivation:
    """Make ``version`` the one new instances of its process start on; the caller commits."""
    activation = ProcessActivation(
        process_key=version.process_key, process_version=version, reason=reason, actor=actor, at=clock.now()
    )
    session.add(activation)
    return activation


def current_activation(session: Session, process_key: str) -> ProcessActivation | None:
    return session.scalar(
        select(ProcessActivation)
        .where(ProcessActivation.process_key == process_key)
        .order_by(ProcessActivation.id.desc())
        .limit(1)
    )


def active_version(session: Session, process_key: str) -> ProcessVersion:
    """The version new instances of ``process_key`` start on.

    A process deployed before activations were recorded has none: its highest version is current."""
    activation = current_activation(session, process_key)
    if activation is not None:
        return activation.process_version
    version = session.scalar(
        select(ProcessVersion)
        .where(ProcessVersion.process_key == process_key)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    )
    if version is None:
        raise NotFound(f"proses '{process_key}' belum di-deploy")
    return version


def activate(
    session: Session, process_key: str, number: int, reason: str, actor: str
) -> tuple[ProcessActivation, ProcessVersion]:
    """Roll back (or forward): new instances of ``process_key`` start on version ``number`` from now on.

    Recorded as an activation and as a ``version_activated`` event; the caller commits. Returns the
    activation and the version that was current before. Activating the version that is already current
    is refused, so the history holds only real changes."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidData("Alasan wajib diisi.", {"reason": ["Alasan wajib diisi."]})
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidData("Alasan terlalu panjang.", {"reason": [f"Paling banyak {MAX_REASON_LENGTH} karakter."]})
    version = session.scalar(
        select(ProcessVersion).where(ProcessVersion.process_key == process_key, ProcessVersion.version == number)
    )
    if version is None:
        raise NotFound(f"Versi {number} dari proses '{process_key}' tidak ada.")
    previous = active_version(session, process_key)
    if previous.id == version.id:
        raise InvalidData(f"Versi {number} sudah aktif.", {"version": [f"Versi {number} sudah menjadi versi aktif."]})
    activation = record_activation(session, version, reason, actor)
    detail = {"process_key": process_key, "version": number, "previous_version": previous.version, "reason": reason}
    session.add(Event(instance_id=None, kind="version_activated", actor=actor, at=activation.at, detail=detail))
    session.flush()
    return activation, previous


def history(session: Session, process_key: str) -> list[ProcessActivation]:
    """Every activation of ``process_key``, newest first."""
    return list(
        session.scalars(
            select(ProcessActivation)
            .where(ProcessActivation.process_key == process_key)
            .order_by(ProcessActivation.id.desc())
        )
    )
