"""The SIAK port: CSV import (checked rows, upsert by NIK, per-line report), the synthetic population,
the local lookups, and the refused remote configuration."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from flask import Flask

from api import create_app
from api.extensions import db
from engine.kia import population, siak
from engine.kia.siak import SiakNotConfigured
from engine.models import PopulationRecord

HEADER = ",".join(("nik", "kk_number", "name", "sex", "birth_date", "kecamatan", "address", "family_role"))


def _run(app: Flask, *args: str):  # noqa: ANN202
    return app.test_cli_runner().invoke(args=list(args))


def test_generate_and_import_a_synthetic_population(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "penduduk.csv"
    result = _run(app, "siak", "generate", "--families", "300", str(path))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert f"{len(rows)} orang dari 300 keluarga" in result.output
    assert len({r["nik"] for r in rows}) == len(rows)  # unique NIKs
    assert len({r["kk_number"] for r in rows}) == 300
    children = [r for r in rows if r["family_role"] == "anak"]
    ages = {int(r["birth_date"][:4]) for r in children}
    assert max(ages) - min(ages) >= 15  # newborns to teenagers
    moved = [r for r in children if r["nik"][:6] != r["kecamatan"].replace(".", "")]
    assert any(r["nik"][:6] in ("147106", "147108", "147112") for r in moved)  # reused codes, elsewhere today
    assert {r["kecamatan"] for r in rows} <= {f"14.71.{n:02d}" for n in range(1, 16)}

    result = _run(app, "siak", "import", str(path))
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} data dimuat, 0 baris ditolak" in result.output
    with app.app_context():
        assert db.session.query(PopulationRecord).count() == len(rows)
        port = siak.port(db.session)
        child = children[0]
        person = port.lookup_person(child["nik"])
        assert isinstance(person, siak.Person) and person.name == child["name"]
        assert person.birth_date.isoformat() == child["birth_date"]
        family = port.lookup_family(child["kk_number"])
        assert isinstance(family, siak.Family) and family.kecamatan == child["kecamatan"]
        assert family.head is not None and family.members[0] == family.head
        assert port.lookup_person("1471089999990001") is None and port.lookup_family("1471080101990001") is None


def test_bad_rows_are_reported_by_line_and_good_rows_upserted(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "campur.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                "1471085005230001,1471081506230002,Aisyah Putri,P,2023-05-10,14.71.08,Jl. Garuda Sakti,anak",
                "1471085005230002,1471081506230002,,P,2023-05-10,14.71.08,Jl. Garuda Sakti,anak",  # no name
                "1471083205230001,1471081506230002,Budi,L,2023-05-32,14.71.08,Jl. X,anak",  # bad NIK day and date
                "1471080505150001,1471081506230002,Budi,X,2015-05-05,14.71.99,Jl. X,anak",  # sex and kecamatan
                "1472080505150001,1471081506230002,Budi,L,2015-05-05,14.71.08,Jl. X,anak",  # unknown regency
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    result = _run(app, "siak", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "1 data dimuat, 4 baris ditolak, dari 5 baris" in result.output
    assert "baris 3: Kolom name kosong." in result.output
    assert "baris 4: Tanggal lahir pada NIK tidak sah. Tanggal lahir harus berformat YYYY-MM-DD." in result.output
    assert "baris 5: Jenis kelamin harus L atau P. Kecamatan tidak dikenal." in result.output
    assert "baris 6: Kode kabupaten/kota pada NIK tidak dikenal." in result.output
    assert "1471080505150001" not in result.output  # messages never repeat the data

    path.write_text(
        HEADER + "\n1471085005230001,1471081506230002,Aisyah Putri Ramadhani,P,2023-05-10,14.71.13,Jl. Delima 7,anak\n",
        encoding="utf-8",
    )
    assert _run(app, "siak", "import", str(path)).exit_code == 0
    with app.app_context():
        row = db.session.get(PopulationRecord, "1471085005230001")
        assert (row.name, row.kecamatan, row.address) == ("Aisyah Putri Ramadhani", "14.71.13", "Jl. Delima 7")
        assert db.session.query(PopulationRecord).count() == 1


def test_a_file_without_the_required_columns_is_refused(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "salah.csv"
    path.write_text("nik,name\n1471085005230001,Aisyah\n", encoding="utf-8")
    result = _run(app, "siak", "import", str(path))
    assert result.exit_code != 0
    assert "Kolom wajib tidak ada: kk_number, sex, birth_date, kecamatan." in result.output


def test_demo_loads_the_readme_family_and_a_small_population(app: Flask) -> None:
    result = _run(app, "demo")
    assert result.exit_code == 0, result.output
    assert "Data kependudukan contoh:" in result.output
    with app.app_context():
        assert db.session.query(PopulationRecord).count() > 500
        family = siak.port(db.session).lookup_family("1471081506230002")
        assert [m.name for m in family.members] == [r["name"] for r in population.DEMO_FAMILY]
        count = db.session.query(PopulationRecord).count()
    again = _run(app, "demo")
    assert again.exit_code == 0 and "tidak dimuat ulang" in again.output
    with app.app_context():
        assert db.session.query(PopulationRecord).count() == count


def test_the_generator_is_deterministic() -> None:
    first, second = io.StringIO(), io.StringIO()
    population.write_csv(first, population.generate(20, seed=5))
    population.write_csv(second, population.generate(20, seed=5))
    assert first.getvalue() == second.getvalue()


@pytest.mark.parametrize("kind", ["remote", "soap"])
def test_remote_siak_refuses_clearly(kind: str) -> None:
    with pytest.raises(SiakNotConfigured) as caught:
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "KIA_SIAK": kind, "KIA_SCHEDULER": False})
    assert "KIA_SIAK" in caught.value.message
    siak.configure("local")
