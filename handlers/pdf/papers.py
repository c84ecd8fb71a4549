"""The SOP's papers as PDF: receipt, control card, distribution recap, delivery report, hand-over receipt.

Each builder gathers what its paper shows from the engine (projection tables, never a workflow) and
renders one template. Personal numbers are masked to their last four digits on every paper that may be
handed to the applicant or filed outside the office; the distribution recap, which goes with the cards
from Dafdud to the UPTD, shows the full NIK and the card number (``engine.kia.distribution``).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.kia import handover as handovers
from engine.kia.applications import mask_number, status_label
from engine.kia.distribution import RecapGroup, jakarta_day
from engine.kia.people import Signatory, signatories
from engine.kia.process import ApplicationStatus
from engine.kia.security import display_code
from engine.models import Application, Kecamatan
from engine.reports import deliveries as delivery_log
from engine.reports.control_card import control_card as control_card_items
from engine.reports.control_card import process_versions
from engine.reports.estimates import expected_completion
from engine.workflow.definitions import definition_of

from .render import JAKARTA, qr_svg, render_pdf, tanggal

KIA_KINDS = {
    "under_5": "KIA anak usia di bawah 5 tahun (tanpa foto)",
    "5_to_17": "KIA anak usia 5 sampai di bawah 17 tahun (dengan foto)",
}
OUTCOMES = {
    "met": "Tepat waktu",
    "overrun": "Terlambat",
    "pending": "Berjalan",
    "cancelled": "Dibatalkan",
    "no_deadline": "Tanpa batas waktu",
}
DAY_NAMES = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")


def _common(session: Session, app: Application) -> tuple[dict[str, Any], Kecamatan | None]:
    """What the receipt and the control card both show, and the application's kecamatan."""
    instance = app.instance
    kec = session.get(Kecamatan, instance.kecamatan or "")
    return {
        "display_code": display_code(app.code),
        "child_name": app.child.get("name", ""),
        "nik": mask_number(app.child.get("nik")),
        "kecamatan": f"{kec.name} ({kec.code})" if kec else (instance.kecamatan or "-"),
        "submitted_at": app.created_at,
        "status_label": status_label(instance),
        "completed_at": instance.completed_at,
    }, kec


def receipt(session: Session, app: Application, status_url: str) -> bytes:
    """The receipt ("resi") the applicant shows to collect the card; its QR code opens ``status_url``."""
    instance = app.instance
    context, kec = _common(session, app)
    waiting_for_applicant = instance.status == ApplicationStatus.PERLU_PERBAIKAN
    return render_pdf(
        "receipt.html",
        **context,
        qr=qr_svg(status_url),
        status_url=status_url,
        kk_number=mask_number(app.child.get("kk_number")),
        kia_kind=KIA_KINDS.get(app.kia_kind, app.kia_kind),
        uptd_name=kec.uptd_name if kec else "UPTD Disdukcapil kecamatan domisili",
        uptd_address=kec.uptd_address if kec else "",
        expected_at=expected_completion(session, instance),
        finished=instance.completed_at is not None,
        expected_note=(
            "menunggu perbaikan data dari pemohon"
            if waiting_for_applicant
            else "KIA sudah siap diambil di UPTD"  # the hand-over waits for the parent: no deadline
            if instance.status == ApplicationStatus.SIAP_DIAMBIL
            else "belum dapat dihitung"
        ),
    )


def control_card(session: Session, app: Application, population_records: bool = False) -> bytes:
    """The control card ("kartu kendali"): every hand-over with officers, initials, times and standards
    (``population_records``: as ``engine.control_card.control_card``)."""
    context, _ = _common(session, app)
    lanes = definition_of(app.instance.process_version).lane_names
    items = control_card_items(session, app.instance, population_records)
    return render_pdf(
        "control_card.html",
        **context,
        items=items,
        process=process_versions(session, app.instance),
        lanes=lanes,
        outcomes=OUTCOMES,
    )


def distribution(groups: list[RecapGroup], heading: str) -> bytes:
    """The distribution recap: one page per kecamatan with its numbered list and signature boxes."""
    return render_pdf("distribution.html", groups=groups, heading=heading)


def deliveries(session: Session, first: date, last: date, officer: Signatory, letter_number: str) -> bytes:
    """The report of documents sent ("laporan pengiriman dokumen") from ``first`` to ``last`` (inclusive,
    Asia/Jakarta days), signed by ``officer``, numbered ``letter_number``."""
    start, _ = jakarta_day(first)
    _, end = jakarta_day(last)
    rows = delivery_log.deliveries(session, start, end)
    counts = Counter(row.kind_label for row in rows)
    period = tanggal(first) if first == last else f"{tanggal(first)} s.d. {tanggal(last)}"
    return render_pdf(
        "deliveries.html",
        rows=rows,
        totals=sorted(counts.items()),
        period=period,
        channels=delivery_log.CHANNEL_LABELS,
        officer=officer,
        letter_number=letter_number,
    )


def handover_receipt(session: Session, app: Application, letter_number: str) -> bytes:
    """The hand-over receipt ("tanda terima penyerahan KIA"), numbered ``letter_number``: the card, who
    received it (their NIK masked: a copy goes to the recipient), and both signature blocks, the officer's
    with their full name and NIP. NotFound before the card was handed over."""
    received = handovers.require(session, app)
    context, kec = _common(session, app)
    officer = signatories(session, [received.handed_over_by]).get(received.handed_over_by)
    local = received.handed_over_at.astimezone(JAKARTA)
    return render_pdf(
        "handover.html",
        **context,
        letter_number=letter_number,
        handover=handovers.shown(received, full=False),
        kk_check=handovers.kk_check_label(received),
        kia_kind=KIA_KINDS.get(app.kia_kind, app.kia_kind),
        day_name=DAY_NAMES[local.weekday()],
        uptd_name=kec.uptd_name if kec else "UPTD Disdukcapil",
        kecamatan_name=kec.name if kec else "",
        officer=officer or Signatory(received.handed_over_by),
        proxy=received.relationship == handovers.Relationship.KUASA,
    )
