"""The hand-over at the UPTD (issue 20.3), over real HTTP on SQLite and PostgreSQL: the card goes to a
parent or a member of the child's KK per the population records, or to a proxy with a letter; anyone else
is refused field by field in Bahasa Indonesia (422, nothing recorded); without records the officer is
told to check the KK paper; the hand-over receipt (tanda terima) is printed with the letterhead, the card
number, the recipient and both signature blocks; the control card shows who received the card."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from api.extensions import db
from engine.kia import handover
from engine.kia.population import DEMO_FAMILY
from engine.models import Document, Handover, TaskRow
from engine.ops import retention
from engine.workflow.clock import clock

from . import test_log_privacy
from .helpers import HANDOVER_DATA, PDF_BYTES, PNG_BYTES, applicant_headers, submit, token
from .pdfcheck import assert_a4_with_embedded_fonts, first_page_png, pages_text
from .scripted import task_of
from .test_log_privacy import HttpClient
from .test_verification import load_population

server = test_log_privacy.server  # the app served by werkzeug in a thread, as ``kia serve`` does

MOTHER_NIK = "1471086107920002"  # Siti Rahmawati, istri in the demo family's KK
FATHER_NIK = "1471081203900003"  # Hendra Saputra, kepala keluarga
CHILD_NIK = "1471085005230001"
STRANGER_NIK = "1471084407650001"  # a woman born 4 July 1965: structurally valid, in no KK loaded here
CARD = "KIA-2026-000123"
OFFICER = ("Hendra Gunawan", "197806112005011002")
HEAD = ("Drs. Ahmad Fauzi", "196905121994031006")
MOTHER = {k: v for k, v in HANDOVER_DATA.items() if k != "card_number"}  # the card number: the printed one


@pytest.fixture
def client(server: str) -> HttpClient:
    return HttpClient(server)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def at_handover(client: HttpClient, card_number: str | None = CARD) -> tuple[str, str, dict[str, str]]:
    """A new application run up to its hand-over at the Binawidya UPTD: (code, task id, the Ka. UPTD's
    headers). The print operator entered ``card_number`` (None: none)."""
    created = submit(client).get_json()
    code = created["code"]
    printing = {"decision": "issued", **({"card_number": card_number} if card_number else {})}
    for user, data in (("admin1", {"decision": "complete"}), ("operator1", printing), ("dafdud1", {"batch": "B1"})):
        headers = token(client, user)
        task = task_of(client, headers, code)
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers)
        assert response.status_code == 200, response.get_json()
    uptd = token(client, "uptd_binawidya")
    task = task_of(client, uptd, code)
    assert task["form_key"] == "handover"
    return code, task["id"], uptd


def hand_over(client: HttpClient, task_id: str, headers: dict, data: dict, letter: bytes | None = None):  # noqa: ANN201
    url = f"/api/v1/tasks/{task_id}/complete"
    if letter is None:
        return client.post(url, json=data, headers=headers)
    body = {"data": json.dumps(data), handover.PROXY_LETTER: (io.BytesIO(letter), "surat-kuasa.pdf")}
    return client.post(url, data=body, content_type="multipart/form-data", headers=headers)


def nothing_recorded(app: Flask, task_id: str) -> None:
    with app.app_context():
        assert db.session.get(TaskRow, task_id).state == "open"
        assert db.session.scalars(select(Handover)).all() == []
        assert db.session.scalars(select(Document).where(Document.kind == handover.PROXY_LETTER)).all() == []


def sign_up_officer(client: HttpClient) -> None:
    supervisor = token(client, "supervisor1")
    response = client.put(
        "/api/v1/users/uptd_binawidya", json={"full_name": OFFICER[0], "nip": OFFICER[1]}, headers=supervisor
    )
    assert response.status_code == 200, response.get_json()
    response = client.put(
        "/api/v1/reference/kecamatan/14.71.08",
        json={"uptd_head": HEAD[0], "uptd_head_nip": HEAD[1]},
        headers=supervisor,
    )
    assert response.status_code == 200, response.get_json()


def test_a_person_not_in_the_kk_without_a_proxy_letter_is_refused(client: HttpClient, app: Flask) -> None:
    load_population(app, list(DEMO_FAMILY))
    code, task_id, uptd = at_handover(client)

    # what the officer is shown first: the KK's members (not the child), the card number printed
    detail = client.get(f"/api/v1/tasks/{task_id}", headers=uptd).get_json()["handover"]
    assert detail["status"] == "found" and detail["card_number"] == CARD
    assert detail["members"] == [
        {"name": "Hendra Saputra", "role": "Kepala keluarga"},
        {"name": "Siti Rahmawati", "role": "Istri"},
    ]

    grandmother = {
        "recipient_name": "Rosmawati",
        "recipient_nik": STRANGER_NIK,
        "recipient_relationship": "keluarga",
    }
    refused = hand_over(client, task_id, uptd, grandmother)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "invalid_data" and error["message"] == handover.REFUSED
    assert error["fields"] == {"recipient_nik": [handover.NOT_IN_KK]}
    assert "surat kuasa" in error["fields"]["recipient_nik"][0]

    # "nenek" as the relationship (as the old form took it) is no choice at all
    nenek = hand_over(client, task_id, uptd, {**grandmother, "recipient_relationship": "nenek"})
    assert nenek.status_code == 422
    assert list(nenek.get_json()["error"]["fields"]) == ["recipient_relationship"]
    assert "penerima kuasa" in nenek.get_json()["error"]["fields"]["recipient_relationship"][0]

    # a proxy without the letter; the mother under another name; the mother's NIK as the father; the
    # child's own NIK; a card number other than the printed one: each field named with its message
    cases = [
        ({**grandmother, "recipient_relationship": "kuasa"}, {"proxy_letter": [handover.LETTER_REQUIRED]}),
        ({**MOTHER, "recipient_name": "Siti Aminah"}, {"recipient_name": [handover.NAME_NOT_IN_KK]}),
        (
            {**MOTHER, "recipient_relationship": "ayah"},
            {"recipient_relationship": [handover.WRONG_SEX[handover.Relationship.AYAH]]},
        ),
        (
            {"recipient_name": "Hendra Saputra", "recipient_nik": FATHER_NIK, "recipient_relationship": "ibu"},
            {"recipient_relationship": [handover.WRONG_SEX[handover.Relationship.IBU]]},
        ),
        (
            {
                "recipient_name": "Aisyah Putri Ramadhani",
                "recipient_nik": CHILD_NIK,
                "recipient_relationship": "keluarga",
            },
            {"recipient_nik": [handover.THE_CHILD]},
        ),
        (
            {**MOTHER, "card_number": "KIA-2026-999999"},
            {"card_number": [handover.CARD_MISMATCH.format(recorded=CARD)]},
        ),
        (
            {**MOTHER, "recipient_nik": "1471086107920000"},
            {"recipient_nik": ["Nomor urut pada NIK tidak boleh 0000."]},
        ),
    ]
    for body, fields in cases:
        response = hand_over(client, task_id, uptd, body)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["fields"] == fields, body
    nothing_recorded(app, task_id)

    # the same stranger with a proxy letter is a proxy, and the card goes to them
    accepted = hand_over(client, task_id, uptd, {**grandmother, "recipient_relationship": "kuasa"}, PDF_BYTES)
    assert accepted.status_code == 200, accepted.get_json()


def test_a_handover_to_the_mother_records_her_nik_and_prints_the_receipt(client: HttpClient, app: Flask) -> None:
    load_population(app, list(DEMO_FAMILY))
    sign_up_officer(client)
    code, task_id, uptd = at_handover(client)
    receipt_url = f"/api/v1/applications/{code}/handover-receipt.pdf"
    before = client.get(receipt_url, headers=uptd)
    assert before.status_code == 404 and "belum diserahkan" in before.get_json()["error"]["message"]

    # the card number is the printed one when the officer leaves it out
    data = MOTHER
    done = hand_over(client, task_id, uptd, data)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "selesai"
    again = hand_over(client, task_id, uptd, data)
    assert again.status_code == 409  # a second completion

    with app.app_context():
        (row,) = db.session.scalars(select(Handover)).all()
        assert (row.recipient_name, row.recipient_nik, row.recipient_relationship) == (
            "Siti Rahmawati",
            MOTHER_NIK,
            "ibu",
        )
        assert row.in_kk is True and row.card_number == CARD and row.proxy_letter_id is None
        assert row.handed_over_by == "uptd_binawidya"

    # the control card names her, her NIK masked, the relationship, how she was checked
    card = client.get(f"/api/v1/applications/{code}/control-card", headers=token(client, "supervisor1")).get_json()
    (last,) = [item for item in card["items"] if item["step"] == "hand_over_card"]
    shown = last["handover"]
    assert shown["recipient_name"] == "Siti Rahmawati" and shown["recipient_nik"] == "************0002"
    assert shown["relationship"] == "ibu" and shown["relationship_label"] == "Ibu" and shown["proxy"] is False
    assert shown["card_number"] == CARD
    assert (shown["handed_over_by_name"], shown["handed_over_by_nip"]) == OFFICER
    assert shown["kk_check"] is None  # a supervisor sees no population records
    own = client.get(f"/api/v1/applications/{code}/control-card", headers=uptd).get_json()
    (mine,) = [item for item in own["items"] if item["step"] == "hand_over_card"]
    assert mine["handover"]["kk_check"] == "in_kk"
    assert all(item["handover"] is None for item in card["items"] if item["step"] != "hand_over_card")
    assert MOTHER_NIK not in str(card) and MOTHER_NIK not in str(own)

    # the tanda terima: letterhead, card number, her name and masked NIK, both signature blocks
    response = client.get(receipt_url, headers=uptd)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    content = response.get_data()
    [text] = pages_text(content)
    text = flat(text)
    for expected in (
        "PEMERINTAH KOTA PEKANBARU",
        "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
        "TANDA TERIMA PENYERAHAN KARTU IDENTITAS ANAK",
        "UPTD Disdukcapil Kecamatan Binawidya",
        "Aisyah Putri Ramadhani",
        f"Nomor kartu KIA : {CARD}",
        "Nama penerima : Siti Rahmawati",
        "NIK penerima : ************0002",
        "Hubungan dengan anak : Ibu",
        "Yang menyerahkan, petugas UPTD",
        f"{OFFICER[0]} NIP {OFFICER[1]}",
        "Yang menerima",
        "Siti Rahmawati NIK ************0002",
        f"Mengetahui, Kepala UPTD {HEAD[0]} NIP {HEAD[1]}",
    ):
        assert expected in text, expected
    assert MOTHER_NIK not in text and CHILD_NIK not in text
    assert_a4_with_embedded_fonts(content)
    first_page_png(content, "handover-receipt", scale=2)

    # access as for the other papers: the application's staff and the applicant, nobody else
    assert client.get(receipt_url).status_code == 401
    assert client.get(receipt_url, headers=token(client, "uptd_sukajadi")).status_code == 403
    assert client.get(receipt_url, headers=token(client, "admin1")).status_code == 200
    history = client.get(f"/api/v1/applications/{code}", headers=uptd).get_json()["history"]
    (event,) = [e for e in history if e["kind"] == "handed_over"]
    assert event["step"] == "hand_over_card" and event["actor"] == "uptd_binawidya"
    assert event["detail"] == {
        "relationship": "ibu",
        "kk_checked": True,
        "proxy_letter": False,
    }


def test_a_proxy_with_a_letter_is_accepted_and_shown_on_the_control_card(client: HttpClient, app: Flask) -> None:
    load_population(app, list(DEMO_FAMILY))
    created = submit(client).get_json()  # the applicant follows their own application with the PIN
    code = created["code"]
    for user, data in (("admin1", {"decision": "complete"}), ("operator1", {"decision": "issued"}), ("dafdud1", {})):
        headers = token(client, user)
        assert (
            client.post(
                f"/api/v1/tasks/{task_of(client, headers, code)['id']}/complete", json=data, headers=headers
            ).status_code
            == 200
        )
    uptd = token(client, "uptd_binawidya")
    task_id = task_of(client, uptd, code)["id"]
    proxy = {
        "recipient_name": "Rosmawati",
        "recipient_nik": STRANGER_NIK,
        "recipient_relationship": "kuasa",
        "card_number": "KIA-2026-000777",  # none was entered at printing: copied from the card
        "note": "Ibu sedang dirawat di rumah sakit.",
    }
    # a letter that is no PDF, JPEG or PNG is refused with the field's message; a letter for a mother
    for letter, body, message in (
        (b"GIF89a not a letter", proxy, "harus berupa PDF, JPEG atau PNG"),
        (PNG_BYTES, HANDOVER_DATA, "hanya diunggah bila penerima adalah penerima kuasa"),
    ):
        refused = hand_over(client, task_id, uptd, body, letter)
        assert refused.status_code == 422, refused.get_json()
        [text] = refused.get_json()["error"]["fields"]["proxy_letter"]
        assert message in text
    nothing_recorded(app, task_id)

    done = hand_over(client, task_id, uptd, proxy, PDF_BYTES)
    assert done.status_code == 200, done.get_json()
    with app.app_context():
        (row,) = db.session.scalars(select(Handover)).all()
        letter = db.session.get(Document, row.proxy_letter_id)
        assert letter.kind == handover.PROXY_LETTER and letter.media_type == "application/pdf"
        assert (row.recipient_nik, row.in_kk, row.card_number) == (STRANGER_NIK, False, "KIA-2026-000777")
    application = client.get(f"/api/v1/applications/{code}", headers=uptd).get_json()
    assert application["child"]["nik"] == CHILD_NIK
    [document] = [d for d in application["documents"] if d["kind"] == handover.PROXY_LETTER]
    assert client.get(document["url"], headers=uptd).get_data() == PDF_BYTES
    assert client.get(document["url"], headers=token(client, "uptd_sukajadi")).status_code == 403

    for headers in (uptd, applicant_headers(client, created)):
        card = client.get(f"/api/v1/applications/{code}/control-card", headers=headers).get_json()
        (shown,) = [item["handover"] for item in card["items"] if item["handover"]]
        assert shown["recipient_name"] == "Rosmawati" and shown["proxy"] is True
        assert shown["relationship_label"] == "Penerima kuasa (dengan surat kuasa)"
        assert shown["proxy_letter_id"] == row.proxy_letter_id
    assert shown["kk_check"] is None  # the applicant: nothing from the population records
    pdf = flat(pages_text(client.get(f"/api/v1/applications/{code}/control-card.pdf", headers=uptd).get_data())[0])
    for expected in (
        "Diterima oleh: Rosmawati (Penerima kuasa (dengan surat kuasa)), NIK ************0001",
        "nomor kartu KIA-2026-000777",
        "Penerima kuasa dengan surat kuasa",
        "Penerima tidak tercantum dalam KK (dengan surat kuasa)",
    ):
        assert expected in pdf, expected
    receipt = flat(
        pages_text(client.get(f"/api/v1/applications/{code}/handover-receipt.pdf", headers=uptd).get_data())[0]
    )
    assert "Yang menerima, penerima kuasa" in receipt and "Surat kuasa : dari orang tua anak" in receipt

    # the retention clean-up removes the letter with the other documents; the hand-over stays on the card
    with app.app_context():
        later = clock.now() + timedelta(days=2)
        assert retention.expire_documents(db.session, app.config["DOCUMENT_DIR"], 1, now=later) == (1, 3)
        assert db.session.scalars(select(Handover.proxy_letter_id)).all() == [None]
    card = client.get(f"/api/v1/applications/{code}/control-card", headers=uptd).get_json()
    (shown,) = [item["handover"] for item in card["items"] if item["handover"]]
    assert shown["recipient_name"] == "Rosmawati" and shown["proxy"] is True and shown["proxy_letter_id"] is None
    pdf = flat(pages_text(client.get(f"/api/v1/applications/{code}/control-card.pdf", headers=uptd).get_data())[0])
    assert "berkas sudah dihapus sesuai masa simpan" in pdf


def test_without_population_records_the_officer_checks_the_kk_paper(client: HttpClient, app: Flask) -> None:
    code, task_id, uptd = at_handover(client, card_number=None)
    detail = client.get(f"/api/v1/tasks/{task_id}", headers=uptd).get_json()["handover"]
    assert detail["status"] == "unknown" and detail["members"] == [] and detail["card_number"] is None
    assert "Kartu Keluarga (KK) asli" in detail["message"] and "surat kuasa" in detail["message"]

    # still checked structurally, and the card number is asked for when none was printed
    grandmother = {"recipient_name": "Rosmawati", "recipient_nik": STRANGER_NIK, "recipient_relationship": "keluarga"}
    refused = hand_over(client, task_id, uptd, {**grandmother, "recipient_nik": "1471084407650000"})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {"recipient_nik": ["Nomor urut pada NIK tidak boleh 0000."]}
    no_card = hand_over(client, task_id, uptd, grandmother)
    assert no_card.status_code == 422
    assert no_card.get_json()["error"]["fields"] == {"card_number": [handover.CARD_REQUIRED]}
    young = hand_over(client, task_id, uptd, {**grandmother, "recipient_nik": "1471084407150001", "card_number": "K1"})
    assert young.status_code == 422
    assert young.get_json()["error"]["fields"]["recipient_nik"][0].startswith("Penerima harus sudah berusia 17 tahun")
    nothing_recorded(app, task_id)

    done = hand_over(client, task_id, uptd, {**grandmother, "card_number": "KIA-2026-000555"})
    assert done.status_code == 200, done.get_json()
    card = client.get(f"/api/v1/applications/{code}/control-card", headers=uptd).get_json()
    (shown,) = [item["handover"] for item in card["items"] if item["handover"]]
    assert shown["kk_check"] == "kk_paper" and shown["relationship"] == "keluarga"
    assert "KK asli" in shown["kk_check_label"]
