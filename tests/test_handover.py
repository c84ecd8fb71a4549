"""The card's hand-over at the UPTD (issue 20.3), through HTTP on SQLite and PostgreSQL: only a parent or a
family member in the child's KK (per the population records), or a proxy with a letter, receives the card;
the recipient's name, NIK, relationship and the card number are recorded; the control card shows who
received it; the tanda terima (hand-over receipt) is printed with the letterhead and both signature blocks,
rendered to PNG and its text checked."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.extensions import db
from engine.kia import handover
from engine.kia.population import DEMO_FAMILY
from engine.kia.siak_import import upsert
from engine.models import Document, Handover

from .helpers import HANDOVER, JPEG_BYTES, MOTHER_NIK, PDF_BYTES, applicant_headers, submit, token
from .pdfcheck import assert_a4_with_embedded_fonts, first_page_png, pages_text
from .scripted import arrive, finish, task_of
from .test_web_pages import csrf_of, sign_in

OFFICER_NIP = "198703152010012003"
OFFICER_NAME = "Rina Marlina, S.Kom."
GRANDMOTHER = {  # the child's grandmother: a real-looking NIK, in no KK of the records
    "recipient_name": "Yuni Lestari",
    "recipient_nik": "1471084404650001",
    "recipient_relationship": "anggota_keluarga",
    "card_number": HANDOVER["card_number"],
}
PROXY = {  # a neighbour with the mother's letter
    "recipient_name": "Dewi Anggraini",
    "recipient_nik": "1471026208880004",
    "recipient_relationship": "kuasa",
    "card_number": HANDOVER["card_number"],
    "note": "Surat kuasa dari ibu, KTP-el kuasa diperiksa",
}


def load_demo_family(app: Flask) -> None:
    """The population records of the tests' family (``application_data``: the child, her parents)."""
    with app.app_context():
        upsert(db.session, [{**r, "birth_date": date.fromisoformat(r["birth_date"])} for r in DEMO_FAMILY])
        db.session.commit()


def at_handover(client: FlaskClient, card_number: str | None = None) -> tuple[dict[str, Any], dict]:
    """An application of the tests' family waiting at the UPTD's hand-over: (submitted, its hand-over task)."""
    created = submit(client).get_json()
    code = created["code"]
    finish(client, "admin1", code, {"decision": "complete"})
    finish(client, "operator1", code, {"decision": "issued", **({"card_number": card_number} if card_number else {})})
    finish(client, "dafdud1", code, {"batch": "2026-12-01"})
    arrive(client, code)  # the card came with its batch: the parent is told
    task = task_of(client, token(client, "uptd_binawidya"), code)
    assert task["form_key"] == "handover" and task["step"] == "hand_over_card"
    return created, task


_TOKENS: dict[int, dict[str, str]] = {}  # the UPTD officer's token per test client, for one test


@pytest.fixture(autouse=True)
def _fresh_tokens() -> Iterator[None]:
    _TOKENS.clear()
    yield
    _TOKENS.clear()


def complete(client: FlaskClient, task: dict, data: dict, letter: bytes | None = None):
    """Complete the hand-over as the Binawidya UPTD: JSON, or multipart with the proxy letter."""
    url = f"/api/v1/tasks/{task['id']}/complete"
    headers = _TOKENS.get(id(client)) or _TOKENS.setdefault(id(client), token(client, "uptd_binawidya"))
    if letter is None:
        return client.post(url, json=data, headers=headers)
    body = {"data": json.dumps(data), "proxy_letter": (io.BytesIO(letter), "surat-kuasa.pdf")}
    return client.post(url, data=body, content_type="multipart/form-data", headers=headers)


def handovers(app: Flask) -> list[Handover]:
    with app.app_context():
        rows = list(db.session.scalars(select(Handover)))
        db.session.expunge_all()
        return rows


def status_of(client: FlaskClient, code: str) -> str:
    return client.get(f"/api/v1/status/{code}").get_json()["status"]


def test_a_recipient_not_in_the_kk_without_a_letter_is_refused(client: FlaskClient, app: Flask) -> None:
    load_demo_family(app)
    created, task = at_handover(client)
    refused = complete(client, task, GRANDMOTHER)
    assert refused.status_code == 422, refused.get_json()
    error = refused.get_json()["error"]
    assert error["code"] == "invalid_data" and error["message"] == handover.REFUSED
    assert error["fields"] == {"recipient_nik": [handover.NOT_IN_KK]}
    assert "orang tua atau anggota keluarga yang tercantum dalam KK" in handover.NOT_IN_KK
    assert "surat kuasa" in handover.NOT_IN_KK
    # as a proxy but without the letter: the letter is asked for
    no_letter = complete(client, task, {**GRANDMOTHER, "recipient_relationship": "kuasa"})
    assert no_letter.status_code == 422
    assert no_letter.get_json()["error"]["fields"] == {"proxy_letter": [handover.LETTER_REQUIRED]}
    # a relationship the SOP does not know ("nenek" went through before)
    nenek = complete(client, task, {**GRANDMOTHER, "recipient_relationship": "nenek"})
    assert nenek.status_code == 422
    assert list(nenek.get_json()["error"]["fields"]) == ["recipient_relationship"]
    # the mother's NIK under another name; the child's own NIK; a NIK that cannot be real
    wrong_name = complete(client, task, {**HANDOVER, "recipient_name": "Siti Aminah"})
    assert wrong_name.get_json()["error"]["fields"] == {"recipient_name": [handover.NAME_MISMATCH]}
    child_nik = complete(client, task, {**HANDOVER, "recipient_nik": "1471085005230001"})
    assert child_nik.get_json()["error"]["fields"] == {"recipient_nik": [handover.CHILD_NIK]}
    unreal = complete(client, task, {**HANDOVER, "recipient_nik": "1471083207920002"})  # the 32nd day of July
    assert unreal.status_code == 422
    assert unreal.get_json()["error"]["fields"] == {"recipient_nik": ["Tanggal lahir pada NIK tidak sah."]}
    # nothing was kept: the card still waits at the UPTD
    assert handovers(app) == []
    assert status_of(client, created["code"]) == "siap_diambil"
    assert task_of(client, token(client, "uptd_binawidya"), created["code"])["id"] == task["id"]


def test_a_proxy_with_a_letter_is_accepted(client: FlaskClient, app: Flask) -> None:
    load_demo_family(app)
    created, task = at_handover(client)
    code = created["code"]
    # the letter is a document like the application's: type by content, size limited
    not_a_document = complete(client, task, PROXY, letter=b"surat kuasa dalam teks biasa")
    assert not_a_document.status_code == 415
    assert list(not_a_document.get_json()["error"]["fields"]) == ["proxy_letter"]
    assert "surat kuasa" in not_a_document.get_json()["error"]["message"]
    too_large = complete(client, task, PROXY, letter=PDF_BYTES + b"0" * app.config["MAX_UPLOAD_BYTES"])
    assert too_large.status_code == 413
    # a letter with a parent: refused, nothing stored
    unexpected = complete(client, task, HANDOVER, letter=PDF_BYTES)
    assert unexpected.get_json()["error"]["fields"] == {"proxy_letter": [handover.LETTER_UNEXPECTED]}
    with app.app_context():
        assert db.session.scalar(select(Document.id).where(Document.kind == handover.PROXY_LETTER)) is None

    accepted = complete(client, task, PROXY, letter=PDF_BYTES)
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["status"] == "selesai"
    [row] = handovers(app)
    assert (row.recipient_name, row.recipient_nik, row.relationship, row.kk_check) == (
        "Dewi Anggraini",
        "1471026208880004",
        "kuasa",
        "proxy",
    )
    assert row.proxy_letter_id is not None and row.handed_over_by == "uptd_binawidya"
    # the letter is a document of the application, served to the staff of the application
    uptd = token(client, "uptd_binawidya")
    detail = client.get(f"/api/v1/applications/{code}", headers=uptd).get_json()
    [letter] = [d for d in detail["documents"] if d["kind"] == "proxy_letter"]
    assert letter["id"] == row.proxy_letter_id and letter["media_type"] == "application/pdf"
    served = client.get(letter["url"], headers=uptd)
    assert served.status_code == 200 and served.data == PDF_BYTES
    assert client.get(letter["url"], headers=token(client, "uptd_sukajadi")).status_code == 403
    # the recipient's NIK stays out of the workflow's history
    assert "1471026208880004" not in json.dumps(detail["history"])
    card = client.get(f"/api/v1/applications/{code}/control-card", headers=uptd).get_json()
    [entry] = [e for e in card["items"] if e["step"] == "hand_over_card"]
    assert entry["handover"]["relationship_label"] == "Kuasa (dengan surat kuasa)"
    assert entry["handover"]["proxy_letter_id"] == row.proxy_letter_id
    text = " ".join(
        pages_text(client.get(f"/api/v1/applications/{code}/handover-receipt.pdf", headers=uptd).data)[0].split()
    )
    assert "Dewi Anggraini" in text and "Kuasa (dengan surat kuasa)" in text and "surat kuasa diunggah" in text


def test_the_mother_is_recorded_with_her_nik_and_the_receipt_printed(client: FlaskClient, app: Flask) -> None:
    load_demo_family(app)
    uptd = token(client, "uptd_binawidya")
    profile = client.put("/api/v1/users/me", json={"full_name": OFFICER_NAME, "nip": OFFICER_NIP}, headers=uptd)
    assert profile.status_code == 200, profile.get_json()
    created, task = at_handover(client, card_number="1471-0000-0001")
    code = created["code"]
    assert client.get(f"/api/v1/applications/{code}/handover-receipt.pdf", headers=uptd).status_code == 404
    wrong_card = complete(client, task, {**HANDOVER, "card_number": "1471-0000-0009"})
    assert wrong_card.status_code == 422
    assert wrong_card.get_json()["error"]["fields"] == {
        "card_number": [handover.CARD_MISMATCH.format(expected="1471-0000-0001")]
    }

    done = complete(client, task, HANDOVER)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["next_tasks"] == [] and status_of(client, code) == "selesai"
    [row] = handovers(app)
    assert (row.recipient_name, row.recipient_nik, row.relationship, row.card_number, row.kk_check) == (
        "Siti Rahmawati",
        MOTHER_NIK,
        "ibu",
        "1471-0000-0001",
        "in_kk",
    )
    assert row.proxy_letter_id is None
    assert complete(client, task, HANDOVER).status_code == 409  # a second completion

    # the control card: who received the card; the NIK in full for the staff of the application only
    card = client.get(f"/api/v1/applications/{code}/control-card", headers=uptd).get_json()
    [entry] = [e for e in card["items"] if e["step"] == "hand_over_card"]
    received = entry["handover"]
    assert received["recipient_name"] == "Siti Rahmawati" and received["relationship"] == "ibu"
    assert received["relationship_label"] == "Ibu" and received["recipient_nik"] == MOTHER_NIK
    assert received["recipient_nik_masked"] == "************0002"
    assert received["kk_check"] == "in_kk" and received["card_number"] == "1471-0000-0001"
    assert all(e["handover"] is None for e in card["items"] if e["step"] != "hand_over_card")
    applicant = applicant_headers(client, created)
    own = client.get(f"/api/v1/applications/{code}/control-card", headers=applicant).get_json()
    [mine] = [e["handover"] for e in own["items"] if e["step"] == "hand_over_card"]
    assert mine["recipient_name"] == "Siti Rahmawati" and mine["recipient_nik"] is None
    assert mine["recipient_nik_masked"] == "************0002" and MOTHER_NIK not in json.dumps(own)
    assert mine["kk_check"] is None and mine["kk_check_label"] is None  # what the records said: staff only
    card_pdf = client.get(f"/api/v1/applications/{code}/control-card.pdf", headers=applicant)
    card_text = " ".join(pages_text(card_pdf.data)[0].split())
    assert "KIA diterima oleh: Siti Rahmawati (Ibu)" in card_text and "************0002" in card_text
    assert MOTHER_NIK not in card_text

    # the tanda terima: staff of the application only, its letter number kept on a reprint
    url = f"/api/v1/applications/{code}/handover-receipt.pdf"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=applicant).status_code == 403
    assert client.get(url, headers=token(client, "uptd_sukajadi")).status_code == 403
    response = client.get(url, headers=uptd)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f'filename="tanda-terima-{code}.pdf"' in response.headers["Content-Disposition"]
    assert_a4_with_embedded_fonts(response.data)
    first_page_png(response.data, "handover-receipt")
    [page] = pages_text(response.data)
    text = " ".join(page.split())
    for expected in (
        "PEMERINTAH KOTA PEKANBARU",
        "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
        "Jl. Uji Coba No. 1, Kota Pekanbaru, Riau 28000",
        "TANDA TERIMA PENYERAHAN KARTU IDENTITAS ANAK (KIA)",
        "Nomor: 470/001/Disdukcapil/XII/2026",
        "Aisyah Putri Ramadhani",
        "1471-0000-0001",
        "Nama penerima : Siti Rahmawati",
        "NIK penerima : ************0002",
        "Hubungan dengan anak : Ibu",
        "Tercantum dalam KK anak menurut data kependudukan",
        "Yang menyerahkan,",
        "Petugas UPTD Kecamatan Binawidya",
        OFFICER_NAME,
        f"NIP {OFFICER_NIP}",
        "Yang menerima,",
        "Penerima (Ibu)",
        "NIK ************0002",
    ):
        assert expected in text, expected
    assert MOTHER_NIK not in text and "1471085005230001" not in text  # NIKs masked on a paper handed out
    again = pages_text(client.get(url, headers=token(client, "supervisor1")).data)[0]
    assert "470/001/Disdukcapil/XII/2026" in again  # a reprint keeps its number


def test_without_population_records_the_nik_is_checked_by_its_structure(client: FlaskClient, app: Flask) -> None:
    created, task = at_handover(client)
    done = complete(client, task, GRANDMOTHER)  # nothing to check the KK against: the officer's eye
    assert done.status_code == 200, done.get_json()
    [row] = handovers(app)
    assert row.kk_check == "not_checked" and row.card_number == "1471-0000-0001"
    card = client.get(f"/api/v1/applications/{created['code']}/control-card", headers=token(client, "admin1"))
    [entry] = [e for e in card.get_json()["items"] if e["step"] == "hand_over_card"]
    assert entry["handover"]["kk_check_label"] == handover.KK_CHECK_LABELS["not_checked"]
    with app.app_context():  # the card number the print step left out is the one handed over
        from engine.models import Application

        assert db.session.scalar(select(Application.card_number).where(Application.code == created["code"])) == (
            "1471-0000-0001"
        )


def test_the_hand_over_on_the_staff_page(client: FlaskClient, app: Flask) -> None:
    """The task page: a refused recipient with the message on the page, then a proxy with the letter (a
    photo of it) uploaded through the form, and the receipt's link on the application page."""
    load_demo_family(app)
    created, task = at_handover(client)
    code = created["code"]
    csrf = sign_in(client, "uptd_binawidya")
    page = client.get(f"/petugas/tugas/{task['id']}")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'name="proxy_letter"' in page.text
    assert 'name="recipient_nik"' in page.text and "Anggota keluarga dalam KK" in page.text
    form = {"csrf_token": csrf, **GRANDMOTHER}
    refused = client.post(f"/petugas/tugas/{task['id']}/selesaikan", data=form, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "Penerima tidak tercantum dalam Kartu Keluarga (KK) anak" in refused.text
    assert 'value="Yuni Lestari"' in refused.text  # what was entered is kept
    form = {
        "csrf_token": csrf_of(refused.text),
        **PROXY,
        "proxy_letter": (io.BytesIO(JPEG_BYTES), "surat-kuasa.jpg"),
    }
    done = client.post(f"/petugas/tugas/{task['id']}/selesaikan", data=form, content_type="multipart/form-data")
    assert done.status_code == 302, done.text
    assert done.headers["Location"].startswith(f"/petugas/permohonan/{code}")
    shown = client.get(done.headers["Location"])
    assert (
        "Tanda terima penyerahan KIA (PDF)" in shown.text
        and f"/api/v1/applications/{code}/handover-receipt.pdf" in shown.text
    )
    assert "KIA diterima oleh:" in shown.text and "Dewi Anggraini" in shown.text and "surat kuasa" in shown.text
    [row] = handovers(app)
    assert row.relationship == "kuasa" and row.proxy_letter_id is not None
    receipt = client.get(f"/api/v1/applications/{code}/handover-receipt.pdf")  # the page's own session
    assert receipt.status_code == 200 and "Dewi Anggraini" in pages_text(receipt.data)[0]
