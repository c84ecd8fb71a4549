"""The SOP's papers as PDF: receipt, control card, distribution recap, delivery report, hand-over receipt."""

from __future__ import annotations

from datetime import timedelta

from flask import Response

import handlers.pdf as pdf
from engine.kia import applications, distribution, handover, letters
from engine.kia.access import Principal, may_see_population_records, require_application, require_role
from engine.kia.people import Signatory
from engine.workflow.clock import clock
from engine.workflow.errors import Forbidden, InvalidData, NotFound
from handlers.pdf.render import tanggal

from .applications import status_url
from .auth import current_principal, staff_principal
from .extensions import db
from .http import Blueprint
from .schemas import DistributionQuery, PeriodQuery

blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="The SOP's papers as PDF")

MAX_REPORT_DAYS = 92
RECAP_ROLES = ("dafdud", "supervisor", "uptd")
DELIVERY_ROLES = ("supervisor", "admin", "dafdud")


def pdf_response(content: bytes, filename: str) -> Response:
    return Response(
        content,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _errors(*statuses: int):  # noqa: ANN202
    def decorate(func):  # noqa: ANN001, ANN202
        return blp.response(200, content_type="application/pdf")(blp.errors(*statuses)(func))

    return decorate


@blp.route("/applications/<code>/receipt.pdf", endpoint="receipt")
@_errors(401, 403, 404)
def receipt(code: str) -> Response:
    """The receipt ("resi") for collecting the card; staff of the application, or the applicant's own
    token (code + PIN). Its QR code opens the status page."""
    app = applications.by_code(db.session, code)
    require_application(current_principal(), app)
    return pdf_response(pdf.receipt(db.session, app, status_url(app.code)), f"resi-{app.code}.pdf")


@blp.route("/applications/<code>/control-card.pdf", endpoint="control_card")
@_errors(401, 403, 404)
def control_card(code: str) -> Response:
    """The control card ("kartu kendali"), one page: every hand-over with officers, initials and times
    (same access as the application itself)."""
    principal = current_principal()
    app = applications.by_code(db.session, code)
    require_application(principal, app)
    content = pdf.control_card(db.session, app, may_see_population_records(principal, app))
    return pdf_response(content, f"kartu-kendali-{app.code}.pdf")


@blp.route("/applications/<code>/handover-receipt.pdf", endpoint="handover_receipt")
@_errors(401, 403, 404)
def handover_receipt(code: str) -> Response:
    """The hand-over receipt ("tanda terima penyerahan KIA") once the card was handed over: the card, who
    received it (NIK masked), both signature blocks with the officer's full name and NIP, a letter number
    kept on every reprint. Staff of the application only (its lanes, a Ka. UPTD their kecamatan; a
    supervisor); 404 before the hand-over."""
    principal = staff_principal()
    app = applications.by_code(db.session, code)
    require_application(principal, app)
    handover.require(db.session, app)
    letter = letters.letter_number(db.session, f"handover:{app.code}", principal.name)
    content = pdf.handover_receipt(db.session, app, letter.number)
    db.session.commit()  # the letter number, once the paper is made
    return pdf_response(content, f"tanda-terima-{app.code}.pdf")


def _recap_kecamatan(principal: Principal, requested: str | None) -> str | None:
    """A Ka. UPTD sees only their own kecamatan's group; Dafdud staff and supervisors see any."""
    require_role(principal, *RECAP_ROLES)
    if principal.roles & {"dafdud", "supervisor"}:
        return requested
    if requested not in (None, principal.user.kecamatan):
        raise Forbidden("Rekap ini milik UPTD kecamatan lain.")
    return principal.user.kecamatan


@blp.route("/reports/distribution.pdf", endpoint="distribution")
@blp.arguments(DistributionQuery, location="query")
@_errors(401, 403, 404, 422)
def distribution_recap(args: dict) -> Response:
    """The distribution recap of one batch (``batch``) or one day (``date``): one page per kecamatan with
    the numbered cards and signature boxes (Dafdud staff, supervisors; a Ka. UPTD their kecamatan)."""
    principal = staff_principal()
    kecamatan = _recap_kecamatan(principal, args.get("kecamatan"))
    if ("batch" in args) == ("date" in args):
        raise InvalidData(
            "Pilih satu batch atau satu tanggal.",
            {"batch": ["Isi salah satu: batch atau date."], "date": ["Isi salah satu: batch atau date."]},
        )
    if "batch" in args:
        batch = distribution.get_batch(db.session, args["batch"])
        groups = distribution.recap_of_batch(db.session, batch.id, kecamatan)
        paper = f"batch:{batch.id}"
        label = f" ({batch.label})" if batch.label else ""
        heading = f"Batch distribusi nomor {batch.id}{label}, {tanggal(batch.created_at)}"
        name = f"rekap-distribusi-batch-{batch.id}.pdf"
    else:
        groups = distribution.recap_of_day(db.session, args["date"], kecamatan)
        paper = f"day:{args['date'].isoformat()}"
        heading = f"KIA yang dikelompokkan pada {tanggal(args['date'])}"
        name = f"rekap-distribusi-{args['date'].isoformat()}.pdf"
    if not groups:
        raise NotFound("Tidak ada KIA dalam rekap ini.")
    distribution.number_recap(db.session, groups, paper, principal.name)
    content = pdf.distribution(groups, heading)
    db.session.commit()  # the letter numbers, once the paper is made
    return pdf_response(content, name)


@blp.route("/reports/deliveries.pdf", endpoint="deliveries")
@blp.arguments(PeriodQuery, location="query")
@_errors(401, 403, 422)
def deliveries(args: dict) -> Response:
    """The report of documents sent for a period of Asia/Jakarta days (receipts and notes over WhatsApp,
    codes by e-mail, cards handed over at the UPTD), with times and outcome."""
    principal = staff_principal()
    require_role(principal, *DELIVERY_ROLES)
    first = args.get("start") or clock.now().astimezone(distribution.JAKARTA).date()
    last = args.get("end") or first
    if last < first:
        raise InvalidData("Periode tidak sah.", {"to": ["Tanggal akhir sebelum tanggal awal."]})
    if last - first > timedelta(days=MAX_REPORT_DAYS):
        raise InvalidData("Periode terlalu panjang.", {"to": [f"Maksimal {MAX_REPORT_DAYS} hari."]})
    letter = letters.letter_number(db.session, f"deliveries:{first.isoformat()}:{last.isoformat()}", principal.name)
    officer = Signatory(principal.user.full_name, principal.user.nip or "")
    content = pdf.deliveries(db.session, first, last, officer, letter.number)
    db.session.commit()  # the letter number, once the paper is made
    return pdf_response(content, f"laporan-pengiriman-{first.isoformat()}-{last.isoformat()}.pdf")
