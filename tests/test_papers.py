"""What the signed papers are made of (issue 20.5): officers' full name and NIP through the users API, the
Ka. UPTD's NIP in the reference data, the letterhead from the settings, and letter numbers that two
papers never share, also when printed at the same moment (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pypdf
import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from api import papers as paper_settings
from api.extensions import db
from engine.kia import letters
from engine.models import Letter, LetterSequence
from handlers.pdf import render

from .helpers import submit, token
from .pdfcheck import first_page_png, pages_text
from .scripted import at

VALID_NIP = "198703152010012003"  # born 15 March 1987, appointed January 2010, woman, serial 003


# --- the officer's full name and NIP -------------------------------------------------------------------


def test_an_officer_sets_their_full_name_and_nip(client: FlaskClient) -> None:
    headers = token(client, "admin1")
    response = client.put(
        "/api/v1/users/me",
        json={"full_name": "  Rina   Marlina, S.Kom. ", "nip": "19870315 201001 2 003"},
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["full_name"] == "Rina Marlina, S.Kom." and body["nip"] == VALID_NIP  # spaces taken out
    assert client.get("/api/v1/users/me", headers=headers).get_json()["nip"] == VALID_NIP
    # a supervisor edits another officer's; an empty NIP clears it
    supervisor = token(client, "supervisor1")
    cleared = client.put("/api/v1/users/admin1", json={"nip": ""}, headers=supervisor)
    assert cleared.status_code == 200 and cleared.get_json()["nip"] is None
    assert cleared.get_json()["full_name"] == "Rina Marlina, S.Kom."
    # anyone else may not
    other = client.put("/api/v1/users/admin1", json={"nip": VALID_NIP}, headers=token(client, "operator1"))
    assert other.status_code == 403
    assert client.put("/api/v1/users/admin1", json={"nip": VALID_NIP}).status_code == 401


@pytest.mark.parametrize(
    ("nip", "message"),
    [
        ("12345", "NIP harus 18 digit angka."),
        ("19870315201001200A", "NIP harus 18 digit angka."),
        ("1987031520100120031", "NIP harus 18 digit angka."),
        ("198713152010012003", "Tanggal lahir pada NIP (digit 1-8) tidak sah."),
        ("198702302010012003", "Tanggal lahir pada NIP (digit 1-8) tidak sah."),
        ("198703152010132003", "Bulan pengangkatan pada NIP (digit 9-14) tidak sah."),
        ("198703151999012003", "Bulan pengangkatan pada NIP (digit 9-14) tidak sah."),  # appointed at 11
        ("198703152010013003", "Kode jenis kelamin pada NIP (digit 15) harus 1 atau 2."),
        ("198703152010012000", "Nomor urut pada NIP (digit 16-18) tidak sah."),
    ],
)
def test_a_nip_that_cannot_be_real_is_refused_with_its_field_message(
    client: FlaskClient, nip: str, message: str
) -> None:
    headers = token(client, "admin1")
    response = client.put("/api/v1/users/me", json={"nip": nip, "full_name": "Nama Baru"}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"nip": [message]}
    body = client.get("/api/v1/users/me", headers=headers).get_json()
    assert body["nip"] is None and body["full_name"] == "Admin1"  # nothing changed


def test_profile_fields_refused_by_type_and_length(client: FlaskClient) -> None:
    headers = token(client, "admin1")
    for body, field in (
        ({"nip": 198703152010012003}, "nip"),
        ({"full_name": ""}, "full_name"),
        ({"full_name": "   "}, "full_name"),
        ({"full_name": "x" * 201}, "full_name"),
        ({"full_name": None}, "full_name"),
    ):
        response = client.put("/api/v1/users/me", json=body, headers=headers)
        assert response.status_code == 422, body
        assert list(response.get_json()["error"]["fields"]) == [field], body


def test_the_ka_uptd_nip_in_the_reference_data(client: FlaskClient) -> None:
    supervisor = token(client, "supervisor1")
    url = "/api/v1/reference/kecamatan/14.71.08"
    assert client.get(url, headers=supervisor).get_json()["uptd_head_nip"] == ""
    response = client.put(
        url, json={"uptd_head": "Drs. Ahmad Fauzi", "uptd_head_nip": "196905121994031006"}, headers=supervisor
    )
    assert response.status_code == 200 and response.get_json()["uptd_head_nip"] == "196905121994031006"
    refused = client.put(url, json={"uptd_head_nip": "1969"}, headers=supervisor)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["fields"] == {"uptd_head_nip": ["NIP harus 18 digit angka."]}
    assert client.get(url, headers=supervisor).get_json()["uptd_head_nip"] == "196905121994031006"
    assert client.put(url, json={"uptd_head_nip": ""}, headers=supervisor).get_json()["uptd_head_nip"] == ""
    assert (
        client.put(url, json={"uptd_head_nip": VALID_NIP}, headers=token(client, "uptd_binawidya")).status_code == 403
    )


# --- the letterhead from the settings ------------------------------------------------------------------


def test_the_letterhead_comes_from_the_settings(client: FlaskClient, app: Flask, tmp_path: Path) -> None:
    logo = tmp_path / "logo-kantor.png"
    Image.new("RGB", (120, 140), (20, 60, 140)).save(logo)
    settings = {
        **app.config,
        "LETTERHEAD_GOVERNMENT": "Pemerintah Kota Contoh",
        "LETTERHEAD_OFFICE": "Dinas Kependudukan dan Pencatatan Sipil Kota Contoh",
        "LETTERHEAD_ADDRESS": "Jl. Merdeka No. 5, Kota Contoh",
        "LETTERHEAD_PHONE": "(0761) 123456",
        "LETTERHEAD_WEBSITE": "disdukcapil.contoh.test",
        "LETTERHEAD_LOGO": str(logo),
    }
    created = submit(client).get_json()
    url = f"/api/v1/applications/{created['code']}/receipt.pdf"
    try:
        paper_settings.configure_papers(settings)
        content = client.get(url, headers=token(client, "admin1")).get_data()
    finally:
        paper_settings.configure_papers(app.config)
    text = " ".join(pages_text(content)[0].split())
    for expected in (
        "PEMERINTAH KOTA CONTOH",
        "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL KOTA CONTOH",
        "Jl. Merdeka No. 5, Kota Contoh",
        "Telepon (0761) 123456 · Laman disdukcapil.contoh.test",
    ):
        assert expected in text, expected
    [image] = pypdf.PdfReader(io.BytesIO(content)).pages[0].images  # the logo file, as an image
    assert image.image.size == (120, 140)
    first_page_png(content, "receipt-own-letterhead")
    # back to the suite's settings
    again = " ".join(pages_text(client.get(url, headers=token(client, "admin1")).get_data())[0].split())
    assert "PEMERINTAH KOTA PEKANBARU" in again and "Kota Contoh" not in again


def test_settings_the_papers_cannot_use_refuse_to_start(app: Flask, tmp_path: Path) -> None:
    with pytest.raises(render.LetterheadError, match="does not exist"):
        paper_settings.configure_papers({**app.config, "LETTERHEAD_LOGO": str(tmp_path / "none.png")})
    (tmp_path / "logo.gif").write_bytes(b"GIF89a")
    with pytest.raises(render.LetterheadError, match="not an SVG, PNG or JPEG"):
        paper_settings.configure_papers({**app.config, "LETTERHEAD_LOGO": str(tmp_path / "logo.gif")})
    for template in ("470/Disdukcapil/{year}", "470/{seq}/{tahun}", "470/{seq:03x}/{month:s}", "{seq:{year}}" * 30):
        with pytest.raises(letters.LetterFormatError):
            paper_settings.configure_papers({**app.config, "LETTER_NUMBER_FORMAT": template})
    paper_settings.configure_papers(app.config)
    assert render.letterhead().logo == render.DEFAULT_LOGO


# --- letter numbers ------------------------------------------------------------------------------------


def test_letter_numbers_count_per_year_and_a_reprint_keeps_its_number(app: Flask) -> None:
    at("2027-12-31 23:50")
    with app.app_context():
        first = letters.letter_number(db.session, "distribution:batch:1:14.71.08", "dafdud1")
        second = letters.letter_number(db.session, "distribution:batch:1:14.71.01", "dafdud1")
        db.session.commit()
        assert (first.number, second.number) == ("470/001/Disdukcapil/XII/2027", "470/002/Disdukcapil/XII/2027")
        at("2028-01-02 08:00")
        assert letters.letter_number(db.session, "distribution:batch:1:14.71.08", "supervisor1").number == first.number
        assert letters.letter_number(db.session, "deliveries:2028-01-02:2028-01-02", "x").number == (
            "470/001/Disdukcapil/I/2028"
        )
        try:
            letters.configure("KIA/{year}/{month:02d}/{seq:05d}")
            assert letters.letter_number(db.session, "day:2028-01-02:14.71.08", "x").number == "KIA/2028/01/00002"
        finally:
            letters.configure(app.config["LETTER_NUMBER_FORMAT"])
        db.session.commit()
        assert dict(db.session.execute(select(LetterSequence.year, LetterSequence.last)).all()) == {2027: 2, 2028: 2}


def test_papers_printed_at_the_same_moment_never_share_a_number(app: Flask) -> None:
    """Eight requests number eight papers at once, and four more print one paper at once: every paper
    has its own number, 1..9 without a gap, and the one paper printed four times has one number."""
    at("2027-09-06 10:00")
    with app.app_context():
        sessions = sessionmaker(bind=db.engine, expire_on_commit=False)
    start = threading.Barrier(12)
    got: dict[str, list[str]] = {}
    failures: list[BaseException] = []

    def number(subject: str) -> None:
        try:
            start.wait(10)
            with sessions() as session:
                letter = letters.letter_number(session, subject, "dafdud1")
                session.commit()
                got.setdefault(subject, []).append(letter.number)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    subjects = [f"distribution:batch:{i}:14.71.08" for i in range(8)] + ["deliveries:2027-09-06:2027-09-06"] * 4
    threads = [threading.Thread(target=number, args=(s,)) for s in subjects]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    assert len(set(got["deliveries:2027-09-06:2027-09-06"])) == 1 and len(got["deliveries:2027-09-06:2027-09-06"]) == 4
    numbers = sorted(n[0] for n in got.values())
    assert numbers == [f"470/{i:03d}/Disdukcapil/IX/2027" for i in range(1, 10)]
    with app.app_context():
        assert sorted(db.session.scalars(select(Letter.seq))) == list(range(1, 10))
