"""The SOP's papers as PDF, through the API: the letterhead, fields, masking, grouping, QR code, access,
signature blocks with names and NIPs, letter numbers, card numbers, and each first page rendered to PNG
(kept under test-artifacts/)."""

from __future__ import annotations

import re

import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.extensions import db
from engine.models import Application, DistributionBatch, DistributionItem, Outbox, TaskRow

from .helpers import applicant_headers, application_data, submit, token
from .pdfcheck import assert_a4_with_embedded_fonts, first_page_png, pages_text
from .scripted import STEP_DATA, arrive, at, finish, new_application, wib
from .test_control_card import scripted_history

NIK = "1471085005230001"
KK = "1471081506230002"
# 30 cards over 4 kecamatan: Sukajadi 10, Sail 7, Binawidya 8, Tenayan Raya 5.
SPREAD = {"14.71.01": 10, "14.71.03": 7, "14.71.08": 8, "14.71.10": 5}
NAMES = {"14.71.01": "Sukajadi", "14.71.03": "Sail", "14.71.08": "Binawidya", "14.71.10": "Tenayan Raya"}


def pdf_of(client: FlaskClient, url: str, headers: dict | None = None, status: int = 200) -> bytes:
    response = client.get(url, headers=headers or {})
    assert response.status_code == status, response.get_data()[:300]
    if status == 200:
        assert response.mimetype == "application/pdf"
        assert response.headers["Cache-Control"] == "no-store"
    return response.get_data()


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


LETTERHEAD = (
    "PEMERINTAH KOTA PEKANBARU",
    "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
    "Jl. Uji Coba No. 1, Kota Pekanbaru, Riau 28000",  # tests/conftest.py's settings
    "Telepon (0761) 555-0100 · Laman disdukcapil.pekanbaru.test",
)
# officers' profiles as they set them through the users API, and two Ka. UPTD in the reference data
OFFICERS = {
    "admin1": ("Rina Marlina, S.Kom.", "198703152010012003"),
    "operator1": ("Budi Santoso", "199001012015031001"),
    "dafdud1": ("Dewi Anggraini, S.E.", "198512202009022004"),
    "uptd_binawidya": ("Hendra Gunawan", "197806112005011002"),
    "supervisor1": ("Yusnita, S.H., M.H.", "197402031998032005"),
}
HEADS = {
    "14.71.08": ("Drs. Ahmad Fauzi", "196905121994031006"),
    "14.71.01": ("Nurhayati, S.Sos.", "197111081996022001"),
}


def assert_letterhead(text: str) -> None:
    for line in LETTERHEAD:
        assert line in text, line


def sign_up_officers(client: FlaskClient) -> None:
    """Every officer's full name and NIP (a supervisor edits others', the officer their own), and the
    Ka. UPTD of Binawidya and Sukajadi in the reference data."""
    supervisor = token(client, "supervisor1")
    for username, (name, nip) in OFFICERS.items():
        url, headers = (
            ("/api/v1/users/me", token(client, username))
            if username == "admin1"
            else (f"/api/v1/users/{username}", supervisor)
        )
        response = client.put(url, json={"full_name": name, "nip": nip}, headers=headers)
        assert response.status_code == 200, response.get_json()
        assert (response.get_json()["full_name"], response.get_json()["nip"]) == (name, nip)
    for code, (name, nip) in HEADS.items():
        response = client.put(
            f"/api/v1/reference/kecamatan/{code}", json={"uptd_head": name, "uptd_head_nip": nip}, headers=supervisor
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["uptd_head_nip"] == nip


# --- receipt ------------------------------------------------------------------------------------------


def test_receipt_fields_masking_and_qr_code(client: FlaskClient, app: Flask, working_time: None) -> None:
    at("2027-09-06 09:00")  # Monday
    response = submit(client)
    assert response.status_code == 201
    created = response.get_json()
    code = created["code"]
    at("2027-09-06 09:10")
    finish(client, "admin1", code, STEP_DATA["admin1"])  # verified: print due 10:10, grouping 11:10

    content = pdf_of(client, f"/api/v1/applications/{code}/receipt.pdf", applicant_headers(client, created))
    [text] = pages_text(content)
    text = flat(text)
    display = "-".join(code[i : i + 4] for i in range(0, 12, 4))
    assert_letterhead(text)
    for expected in (
        "RESI PERMOHONAN KARTU IDENTITAS ANAK",
        display,
        "Aisyah Putri Ramadhani",
        "KIA anak usia di bawah 5 tahun (tanpa foto)",
        "Binawidya (14.71.08)",
        "UPTD Disdukcapil Kecamatan Binawidya",
        "Kantor Camat Binawidya, Kota Pekanbaru",
        "Diajukan pada : 6 September 2027 pukul 09.00 WIB",
        # one working day after grouping's 11:10 deadline
        "Perkiraan selesai : 7 September 2027 pukul 11.10 WIB",
        "Status saat ini : Diverifikasi",
        "Cara pengambilan KIA",
        "tidak dipungut biaya",
        f"http://kia.test/status/{code}",
    ):
        assert expected in text, expected
    assert "************0001" in text and "************0002" in text
    assert NIK not in text and KK not in text and "081234567890" not in text
    assert_a4_with_embedded_fonts(content)

    image = first_page_png(content, "receipt", scale=3)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"http://kia.test/status/{code}"]


def test_receipt_access(client: FlaskClient, app: Flask) -> None:
    first = submit(client).get_json()
    second = submit(client, application_data(nik="1471085005230002")).get_json()
    url = f"/api/v1/applications/{first['code']}/receipt.pdf"
    assert client.get(url).status_code == 401
    other = client.get(url, headers=applicant_headers(client, second))
    assert other.status_code == 403 and other.get_json()["error"]["code"] == "forbidden"
    assert client.get(url, headers=token(client, "uptd_sukajadi")).status_code == 403
    assert (
        client.get("/api/v1/applications/ZZZZZZZZZZZZ/receipt.pdf", headers=token(client, "admin1")).status_code == 404
    )
    text = flat(pages_text(pdf_of(client, url, token(client, "uptd_binawidya")))[0])
    # still at verification: the chain starts at its deadline (working time off in this test: 1 h + 1 h
    # + 1 h + 1 day of calendar time), and the receipt says it is only submitted so far
    assert "Status saat ini : Diajukan" in text and "Perkiraan selesai : " in text


def test_receipt_while_waiting_for_the_applicant(client: FlaskClient, app: Flask) -> None:
    code = new_application(client)
    finish(client, "admin1", code, {"decision": "incomplete", "note": "Foto KK buram."})
    text = flat(pages_text(pdf_of(client, f"/api/v1/applications/{code}/receipt.pdf", token(client, "admin1")))[0])
    assert "Perkiraan selesai : menunggu perbaikan data dari pemohon" in text


# --- control card -------------------------------------------------------------------------------------


def test_control_card_pdf_matches_the_scripted_history(client: FlaskClient, app: Flask, working_time: None) -> None:
    code = scripted_history(client, app)
    sign_up_officers(client)  # after the history: the card names the officers as they are recorded now
    content = pdf_of(client, f"/api/v1/applications/{code}/control-card.pdf", token(client, "supervisor1"))
    pages = pages_text(content)
    assert len(pages) == 1
    text = flat(pages[0])
    assert_letterhead(text)
    for expected in (
        "KARTU KENDALI PERMOHONAN KIA",
        "Aisyah Putri Ramadhani",
        "************0001",
        "Binawidya (14.71.08)",
        "Status : Selesai, selesai 6 September 2027 pukul 10.30 WIB",
        "Verifikasi",
        "Rina Marlina, S.Kom. NIP 198703152010012003 02/09/2027 15.50",
        "Rina Marlina, S.Kom. NIP 198703152010012003 03/09/2027 08.30",
        "Budi Santoso NIP 199001012015031001 03/09/2027 09.00",
        "Dewi Anggraini, S.E. NIP 198512202009022004 03/09/2027 09.05",
        "Hendra Gunawan NIP 197806112005011002 06/09/2027 09.00",
        "Hendra Gunawan NIP 197806112005011002 06/09/2027 10.30",
        "tanpa batas waktu menunggu pemohon 1 jam 30 menit",
        "1 jam kerja batas 03/09/2027 08.10",
        "1 hari kerja batas 06/09/2027 09.45",
        "5 menit batas 02/09/2027 15.45",
        "1 jam 20 menit",
        "8 jam 15 menit",
        "Ke-1: 03/09/2027 08.11",
    ):
        assert expected in text, expected
    assert text.count("Tepat waktu") == 4 and text.count("Terlambat") == 1
    assert text.count("Tanpa batas waktu") == 1  # the hand-over: the card waited for the mother
    assert NIK not in text and "Paraf:" not in text and "Admin1" not in text  # no initials from account names
    assert_a4_with_embedded_fonts(content)
    first_page_png(content, "control-card")
    assert (
        client.get(f"/api/v1/applications/{code}/control-card.pdf", headers=token(client, "uptd_sukajadi")).status_code
        == 403
    )


# --- step 4 in batches and the distribution recap ------------------------------------------------------


def card_number_of(code: str) -> str:
    return f"KIA-2027-{code[:6]}"  # what the print operator enters in the test: one per card


def _printed_cards(client: FlaskClient, spread: dict[str, int]) -> dict[str, str]:
    """Submit, verify and print cards for ``spread`` (each with its card number); returns {code: kecamatan}."""
    made: dict[str, str] = {}
    serial = 0
    for kecamatan, count in spread.items():
        for _ in range(count):
            serial += 1
            letters = chr(65 + serial // 26) + chr(65 + serial % 26)  # names take no digits
            data = application_data(name=f"Anak Uji {letters}", nik=f"14710850052300{serial:02d}", kecamatan=kecamatan)
            response = submit(client, data)
            assert response.status_code == 201, response.get_json()
            made[response.get_json()["code"]] = kecamatan
    for user, form_key in (("admin1", "verification"), ("operator1", "printing")):
        headers = token(client, user)
        tasks = client.get("/api/v1/tasks", headers=headers, query_string={"limit": 500}).get_json()["items"]
        for task in tasks:
            assert task["form_key"] == form_key
            data = STEP_DATA[user]
            if form_key == "printing":
                data = {**data, "card_number": card_number_of(task["application_code"])}
            assert client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers).status_code == 200
    return made


def _grouping_tasks(client: FlaskClient, headers: dict) -> list[dict]:
    return client.get("/api/v1/tasks", headers=headers, query_string={"lane": "dafdud", "limit": 500}).get_json()[
        "items"
    ]


def test_bulk_grouping_and_recap_of_30_cards_over_4_kecamatan(client: FlaskClient, app: Flask) -> None:
    at("2027-09-06 10:00")
    sign_up_officers(client)
    made = _printed_cards(client, SPREAD)
    dafdud = token(client, "dafdud1")
    tasks = _grouping_tasks(client, dafdud)
    assert len(tasks) == 30

    response = client.post(
        "/api/v1/tasks/bulk-complete",
        headers=dafdud,
        json={"task_ids": [t["id"] for t in tasks], "batch": "Senin pagi"},
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    batches = body["batches"]  # one per kecamatan, in the order of the kecamatan codes
    assert [b["kecamatan"] for b in batches] == sorted(SPREAD)
    for batch in batches:
        assert batch["label"] == "Senin pagi" and batch["created_by"] == "dafdud1"
        assert batch["count"] == SPREAD[batch["kecamatan"]] and batch["kecamatan_name"] == NAMES[batch["kecamatan"]]
        assert batch["groups"] == [
            {"kecamatan": batch["kecamatan"], "name": NAMES[batch["kecamatan"]], "count": batch["count"]}
        ]
        assert batch["recap_url"] == f"/api/v1/reports/distribution.pdf?batch={batch['id']}"
    assert len(body["completed"]) == 30 and len(body["next_tasks"]) == 30
    assert _grouping_tasks(client, dafdud) == []
    with app.app_context():
        for batch in batches:
            items = db.session.scalars(select(DistributionItem).where(DistributionItem.batch_id == batch["id"])).all()
            assert {i.kecamatan for i in items} == {batch["kecamatan"]} and len(items) == batch["count"]
        assert len({i.application_id for i in db.session.scalars(select(DistributionItem))}) == 30

    # the past batches, newest first, each with its state and recap
    listed = client.get("/api/v1/batches", headers=dafdud).get_json()["items"]
    assert [b["id"] for b in listed] == sorted((b["id"] for b in batches), reverse=True)
    assert {b["state"] for b in listed} == {"sent"} and all(b["waiting"] == b["count"] for b in listed)
    uptd = token(client, "uptd_binawidya")
    own = client.get("/api/v1/batches", headers=uptd).get_json()["items"]
    assert [b["kecamatan"] for b in own] == ["14.71.08"]
    assert client.get("/api/v1/batches?kecamatan=14.71.01", headers=uptd).status_code == 403
    other = next(b for b in batches if b["kecamatan"] != "14.71.08")
    assert client.get(f"/api/v1/batches/{other['id']}", headers=uptd).status_code == 403
    detail = client.get(f"/api/v1/batches/{own[0]['id']}", headers=uptd).get_json()
    assert len(detail["cards"]) == own[0]["count"] and {c["arrival"] for c in detail["cards"]} == {None}

    pages = []
    for batch in batches:
        content = pdf_of(client, batch["recap_url"], dafdud)
        [page] = [flat(p) for p in pages_text(content)]  # one page: one kecamatan
        pages.append((batch, page))
    by_kecamatan = {}
    for batch, page in pages:
        [name] = [n for n in NAMES.values() if f"Kecamatan : {n}" in page]
        assert name == NAMES[batch["kecamatan"]]
        by_kecamatan[name] = page
        assert_letterhead(page)
        assert "REKAP DISTRIBUSI KIA PER KECAMATAN" in page
        assert f"Batch distribusi nomor {batch['id']} (Senin pagi), 6 September 2027" in page
        assert "Staf Bidang Dafdud" in page and f"Ka. UPTD Kecamatan {name}" in page
        assert "Dewi Anggraini, S.E. NIP 198512202009022004" in page and "Dafdud1" not in page
    # one letter number per kecamatan's page, counted in the order of the kecamatan codes
    for seq, code in enumerate(sorted(SPREAD), 1):
        assert f"Nomor: 470/{seq:03d}/Disdukcapil/IX/2027" in by_kecamatan[NAMES[code]], code
    assert "Drs. Ahmad Fauzi NIP 196905121994031006" in by_kecamatan["Binawidya"]
    assert "Nurhayati, S.Sos. NIP 197111081996022001" in by_kecamatan["Sukajadi"]
    assert "(nama lengkap) NIP ......" in by_kecamatan["Sail"]  # no Ka. UPTD recorded for Sail
    with app.app_context():
        niks = {a.code: a.child["nik"] for a in db.session.scalars(select(Application))}
        stored = {a.code: a.card_number for a in db.session.scalars(select(Application))}
    assert stored == {c: card_number_of(c) for c in made}  # kept with the application's data
    for code, kecamatan in SPREAD.items():
        page = by_kecamatan[NAMES[code]]
        assert f"Jumlah: {kecamatan} KIA" in page
        listed = [c for c, k in made.items() if k == code]
        # the recap stays in the office: the full NIK and the card number of every card in the envelope
        for c in listed:
            assert re.search(rf"{c} Anak Uji [A-Z]{{2}} {niks[c]} {card_number_of(c)}", page), c
        assert not [c for c, k in made.items() if k != code and c in page]
        numbers = [int(n) for n in re.findall(r"(?:^| )(\d{1,2}) [0-9A-Z]{12} Anak Uji", page)]
        assert numbers == list(range(1, kecamatan + 1)), numbers
        assert "*" * 12 not in page
    assert_a4_with_embedded_fonts(content)
    first_page_png(content, "distribution-recap")
    # a reprint keeps the numbers
    for batch, page in pages:
        [again] = [flat(p) for p in pages_text(pdf_of(client, batch["recap_url"], dafdud))]
        assert re.findall(r"Nomor: (\S+)", again) == re.findall(r"Nomor: (\S+)", page)

    # the same cards by day; a Ka. UPTD sees only their own kecamatan
    day = pages_text(pdf_of(client, "/api/v1/reports/distribution.pdf?date=2027-09-06", dafdud))
    assert len(day) == 4  # another paper: numbers of its own
    assert [re.findall(r"Nomor: 470/(\d{3})/", flat(p)) for p in day] == [["005"], ["006"], ["007"], ["008"]]
    binawidya = next(b for b in batches if b["kecamatan"] == "14.71.08")
    own = pages_text(pdf_of(client, binawidya["recap_url"], token(client, "uptd_binawidya")))
    assert len(own) == 1 and "Jumlah: 8 KIA" in own[0]
    assert "Nomor: 470/003/Disdukcapil/IX/2027" in flat(own[0])  # the batch's Binawidya page
    uptd = token(client, "uptd_binawidya")
    assert client.get(batch["recap_url"] + "&kecamatan=14.71.01", headers=uptd).status_code == 403
    assert client.get(batch["recap_url"], headers=token(client, "operator1")).status_code == 403
    both = client.get(batch["recap_url"] + "&date=2027-09-06", headers=dafdud)
    assert both.status_code == 422 and set(both.get_json()["error"]["fields"]) == {"batch", "date"}
    assert client.get("/api/v1/reports/distribution.pdf?date=2027-09-07", headers=dafdud).status_code == 404
    assert client.get("/api/v1/reports/distribution.pdf?batch=999999", headers=dafdud).status_code == 404
    for query in ("date=kemarin", "date=9999-12-31", "batch=99999999999", "batch=0"):
        assert client.get(f"/api/v1/reports/distribution.pdf?{query}", headers=dafdud).status_code == 422, query


def _assert_nothing_grouped(client: FlaskClient, app: Flask, headers: dict, expected_open: int) -> None:
    assert len(_grouping_tasks(client, headers)) == expected_open
    with app.app_context():
        assert db.session.scalar(select(DistributionBatch.id)) is None


def test_bulk_complete_is_all_or_nothing_and_names_the_failing_task(client: FlaskClient, app: Flask) -> None:
    _printed_cards(client, {"14.71.01": 2, "14.71.08": 2})
    dafdud = token(client, "dafdud1")
    ids = [t["id"] for t in _grouping_tasks(client, dafdud)]
    assert len(ids) == 4

    # 403: not the caller's lane
    response = client.post(
        "/api/v1/tasks/bulk-complete", json={"task_ids": ids}, headers=token(client, "uptd_binawidya")
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["fields"] == {"task_ids": {ids[0]: ["Tugas ini bukan untuk bagian Anda."]}}
    _assert_nothing_grouped(client, app, dafdud, 4)

    # 422: a task that is not a grouping task, after two good ones (which are rolled back)
    with app.app_context():
        handover_or_other = db.session.scalar(select(TaskRow.id).where(TaskRow.form_key == "printing"))
    response = client.post(
        "/api/v1/tasks/bulk-complete", json={"task_ids": ids[:2] + [handover_or_other]}, headers=dafdud
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert handover_or_other in error["message"] and list(error["fields"]["task_ids"]) == [handover_or_other]
    _assert_nothing_grouped(client, app, dafdud, 4)

    # 422: unknown and repeated ids, malformed bodies
    unknown = "00000000-0000-0000-0000-000000000000"
    response = client.post("/api/v1/tasks/bulk-complete", json={"task_ids": [ids[0], unknown]}, headers=dafdud)
    assert response.status_code == 422 and unknown in response.get_json()["error"]["fields"]["task_ids"]
    response = client.post("/api/v1/tasks/bulk-complete", json={"task_ids": [ids[0], ids[0]]}, headers=dafdud)
    assert response.status_code == 422 and ids[0] in response.get_json()["error"]["fields"]["task_ids"]
    for body in ({}, {"task_ids": []}, {"task_ids": "abc"}, {"task_ids": ids, "batch": "x" * 65}):
        assert client.post("/api/v1/tasks/bulk-complete", json=body, headers=dafdud).status_code == 422, body
    assert client.post("/api/v1/tasks/bulk-complete", data="task_ids", headers=dafdud).status_code in (415, 422)
    assert client.post("/api/v1/tasks/bulk-complete", json={"task_ids": ids}).status_code == 401
    _assert_nothing_grouped(client, app, dafdud, 4)

    # 409: one task already completed (one by one); the rest stays open
    done = client.post(f"/api/v1/tasks/{ids[3]}/complete", json={}, headers=dafdud)
    assert done.status_code == 200
    response = client.post("/api/v1/tasks/bulk-complete", json={"task_ids": ids}, headers=dafdud)
    assert response.status_code == 409
    assert list(response.get_json()["error"]["fields"]["task_ids"]) == [ids[3]]
    _assert_nothing_grouped(client, app, dafdud, 3)

    response = client.post("/api/v1/tasks/bulk-complete", json={"task_ids": ids[:3]}, headers=dafdud)
    assert response.status_code == 200
    assert sum(b["count"] for b in response.get_json()["batches"]) == 3


# --- delivery report ----------------------------------------------------------------------------------


def test_delivery_report_for_a_period(client: FlaskClient, app: Flask) -> None:
    at("2027-09-06 09:00")
    response = submit(client, {**application_data(), "whatsapp_consent": True})  # notices by WhatsApp
    assert response.status_code == 201, response.get_json()
    code = response.get_json()["code"]
    for user in ("admin1", "operator1", "dafdud1"):
        finish(client, user, code, STEP_DATA[user])
    at("2027-09-06 14:30")
    arrive(client, code)  # the card came: the parent is told, and collects it at once
    finish(client, "uptd_binawidya", code, STEP_DATA["uptd_binawidya"])
    with app.app_context():  # the WhatsApp and e-mail workers' outcome
        for message in db.session.scalars(select(Outbox)):
            if message.kind == "receipt":
                message.status, message.attempts, message.sent_at = "sent", 1, wib("2027-09-06 09:01")
            elif message.kind == "application_code":
                message.status, message.attempts, message.last_error = "failed", 3, "550 mailbox siti@example.com"
        db.session.commit()

    sign_up_officers(client)
    supervisor = token(client, "supervisor1")
    content = pdf_of(client, "/api/v1/reports/deliveries.pdf?from=2027-09-06&to=2027-09-06", supervisor)
    text = flat(" ".join(pages_text(content)))
    assert_letterhead(text)
    for expected in (
        "LAPORAN PENGIRIMAN DOKUMEN",
        "Nomor: 470/001/Disdukcapil/IX/2027",
        "Yusnita, S.H., M.H. NIP 197402031998032005",
        "Periode 6 September 2027",
        "Jumlah dokumen : 4",
        "Resi permohonan KIA",
        "Kode permohonan",
        "Pemberitahuan KIA siap diambil",
        "KIA diserahkan kepada pemohon",
        "oleh Hendra Gunawan",
        "UPTD Disdukcapil Kecamatan Binawidya",
        "06/09/2027 09.00",
        "06/09/2027 09.01",
        "06/09/2027 14.30",
        "Terkirim",
        "Gagal",
        "Menunggu",
        "Diserahkan",
        "********7890",
        "s***@example.com",
    ):
        assert expected in text, expected
    assert text.count(code) == 4
    assert "081234567890" not in text and "siti@example.com" not in text and "550 mailbox" not in text
    assert "Eskalasi" not in text
    assert_a4_with_embedded_fonts(content)
    first_page_png(content, "delivery-report")

    empty = flat(
        pages_text(pdf_of(client, "/api/v1/reports/deliveries.pdf?from=2027-09-07&to=2027-09-08", supervisor))[0]
    )
    assert "Periode 7 September 2027 s.d. 8 September 2027" in empty and "Tidak ada dokumen" in empty
    assert "Nomor: 470/002/Disdukcapil/IX/2027" in empty  # another paper, the next number
    again = flat(
        pages_text(pdf_of(client, "/api/v1/reports/deliveries.pdf?from=2027-09-06&to=2027-09-06", supervisor))[0]
    )
    assert "Nomor: 470/001/Disdukcapil/IX/2027" in again  # a reprint keeps its number
    for query, status in (
        ("from=2027-09-08&to=2027-09-07", 422),
        ("from=2027-01-01&to=2027-09-07", 422),
        ("from=besok", 422),
        ("from=9999-12-31", 422),
        ("from=0001-01-01", 422),
    ):
        assert client.get(f"/api/v1/reports/deliveries.pdf?{query}", headers=supervisor).status_code == status
    assert client.get("/api/v1/reports/deliveries.pdf", headers=token(client, "operator1")).status_code == 403
    assert client.get("/api/v1/reports/deliveries.pdf").status_code == 401
