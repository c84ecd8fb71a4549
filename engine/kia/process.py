"""What the KIA SOP tells the workflow runtime: its roles, what a completion records, the first status.

Given to the runtime (``engine.workflow.config``) when ``engine.kia`` is imported, so that the runtime
itself names no lane, field or status of the SOP.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from engine.workflow.config import WorkflowConfig, configure

APPLICANT_LANE = "applicant"  # the applicant's own steps: no account works them (``engine.kia.access``)
OWNER, SUPERVISOR = "owner", "supervisor"
# The service's roles that are no lane; every other role is a lane of a deployed diagram.
SERVICE_ROLES = frozenset({OWNER, SUPERVISOR})
# the officer's decision, their note to the applicant, the reason for overriding a failed check, the
# fields they questioned when sending the application back (``engine.kia.corrections``)
COMPLETION_FIELDS = ("decision", "note", "override_reason", "questioned_fields")


class ApplicationStatus(StrEnum):
    """An instance's status: ``baru`` at start, then the milestone the diagram passed last."""

    BARU = "baru"
    DIAJUKAN = "diajukan"
    DIVERIFIKASI = "diverifikasi"
    PERLU_PERBAIKAN = "perlu_perbaikan"
    DICETAK = "dicetak"
    SIAP_DIAMBIL = "siap_diambil"
    SELESAI = "selesai"


INITIAL_STATUS = ApplicationStatus.BARU


def search_text(instance: Any) -> str | None:
    """What the staff search compares a name fragment with on the instance's open tasks: the child's and
    the applicant's names, lowercased (``Application.search_names``; none before the application is
    stored, at the very first step)."""
    application = instance.application
    return application.search_names if application is not None else None


WORKFLOW = configure(
    WorkflowConfig(
        reserved_roles=SERVICE_ROLES,
        completion_fields=COMPLETION_FIELDS,
        initial_status=INITIAL_STATUS,
        search_text=search_text,
    )
)
