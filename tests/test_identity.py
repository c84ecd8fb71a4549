"""NIK and KK number decoding, KIA age rules and the seed region tables."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.kia.identity import (
    IdentityError,
    KkInfo,
    NikInfo,
    age_on,
    check_child_age,
    jakarta_today,
    nik_mismatches,
    parse_kk_number,
    parse_nik,
)
from engine.kia.regions import PEKANBARU_KECAMATAN, PROVINCES, RIAU_REGENCIES
from engine.workflow.clock import clock

ON = date(2025, 6, 1)
DATE_WARNING = "Tanggal lahir menurut NIK (12-05-2020) berbeda dengan tanggal lahir yang diisi (13-05-2020)."
SEX_WARNING = "Jenis kelamin menurut NIK (Perempuan) berbeda dengan jenis kelamin yang diisi (Laki-laki)."


# NIK -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nik", "birth_date", "sex"),
    [
        ("1471080505150001", date(2015, 5, 5), "L"),  # boy: day as is
        ("1471084505150001", date(2015, 5, 5), "P"),  # girl: day + 40
        ("1471080101200002", date(2020, 1, 1), "L"),
        ("1471084101200002", date(2020, 1, 1), "P"),  # girl born on the 1st: 41
        ("1471083112190003", date(2019, 12, 31), "L"),
        ("1471087112190003", date(2019, 12, 31), "P"),  # girl born on the 31st: 71
        ("1471082902200001", date(2020, 2, 29), "L"),  # 29 February in a leap year
        ("1471086902200001", date(2020, 2, 29), "P"),
        ("1471082902000001", date(2000, 2, 29), "L"),  # 2000 was a leap year
        ("1471080101990001", date(1999, 1, 1), "L"),  # 20YY in the future: 19YY
        ("1471080106250001", date(2025, 6, 1), "L"),  # born on the application date
        ("1471080206250001", date(1925, 6, 2), "L"),  # a day later would be the future
    ],
)
def test_parse_nik_birth_date_and_sex(nik: str, birth_date: date, sex: str) -> None:
    info = parse_nik(nik, on=ON)
    assert info.birth_date == birth_date
    assert info.sex == sex


def test_parse_nik_fields() -> None:
    assert parse_nik("1471085205200001", on=ON) == NikInfo(
        province="14",
        regency="14.71",
        district="14.71.08",
        birth_date=date(2020, 5, 12),
        sex="P",
        serial="0001",
    )


def test_parse_nik_is_frozen() -> None:
    info = parse_nik("1471085205200001", on=ON)
    with pytest.raises(AttributeError):
        info.sex = "L"  # type: ignore[misc]


def test_parse_nik_century_follows_application_date() -> None:
    assert parse_nik("1471080101250001", on=date(2025, 6, 1)).birth_date == date(2025, 1, 1)
    assert parse_nik("1471080101250001", on=date(2024, 6, 1)).birth_date == date(1925, 1, 1)


@pytest.mark.parametrize(
    ("nik", "message"),
    [
        ("147108050515001", "NIK harus terdiri dari 16 digit angka."),  # 15 digits
        ("14710805051500011", "NIK harus terdiri dari 16 digit angka."),  # 17 digits
        ("14710805051500O1", "NIK harus terdiri dari 16 digit angka."),  # letter O
        ("1471 0805 0515 0001", "NIK harus terdiri dari 16 digit angka."),
        ("١٤٧١٠٨٠٥٠٥١٥٠٠٠١", "NIK harus terdiri dari 16 digit angka."),  # Arabic-Indic digits
        ("", "NIK harus terdiri dari 16 digit angka."),
        (None, "NIK harus terdiri dari 16 digit angka."),
        (1471080505150001, "NIK harus terdiri dari 16 digit angka."),
        ("1471080505150000", "Nomor urut pada NIK tidak boleh 0000."),
        ("1471082902210001", "Tanggal lahir pada NIK tidak sah."),  # 2021 is no leap year
        ("1471086902210001", "Tanggal lahir pada NIK tidak sah."),  # same for a girl
        ("1471083201150001", "Tanggal lahir pada NIK tidak sah."),  # day 32
        ("1471084001150001", "Tanggal lahir pada NIK tidak sah."),  # day 40: neither
        ("1471087201150001", "Tanggal lahir pada NIK tidak sah."),  # girl's day 32
        ("1471080001150001", "Tanggal lahir pada NIK tidak sah."),  # day 0
        ("1471080113150001", "Tanggal lahir pada NIK tidak sah."),  # month 13
        ("1471083104150001", "Tanggal lahir pada NIK tidak sah."),  # 31 April
        ("2071080505150001", "Kode provinsi pada NIK tidak dikenal."),
        ("1071080505150001", "Kode provinsi pada NIK tidak dikenal."),
        ("9771080505150001", "Kode provinsi pada NIK tidak dikenal."),
        ("1400080505150001", "Kode kabupaten/kota pada NIK tidak dikenal."),
        ("1471000505150001", "Kode kecamatan pada NIK tidak sah."),
    ],
)
def test_parse_nik_errors(nik: object, message: str) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_nik(nik, on=ON)  # type: ignore[arg-type]
    assert caught.value.message == message
    assert str(caught.value) == message


def test_parse_nik_29_february_2000_before_it_happened() -> None:
    with pytest.raises(IdentityError, match="Tanggal lahir pada NIK tidak sah."):
        parse_nik("1471082902000001", on=date(1999, 12, 31))


@pytest.mark.parametrize(
    ("nik", "known", "message"),
    [
        ("1471080505150001", set(RIAU_REGENCIES), None),
        ("1473010505150001", set(RIAU_REGENCIES), None),
        ("1472010505150001", set(RIAU_REGENCIES), "Kode kabupaten/kota pada NIK tidak dikenal."),
        ("3171010505150001", set(RIAU_REGENCIES), "Kode provinsi pada NIK tidak dikenal."),
        ("3171010505150001", None, None),  # any real province without a regency list
        ("3171010505150001", {"31.71", "14.71"}, None),
        ("9901010505150001", {"99.01"}, None),  # the editable list wins over the seed
    ],
)
def test_parse_nik_known_regions(nik: str, known: set[str] | None, message: str | None) -> None:
    if message is None:
        assert parse_nik(nik, known, on=ON).regency == f"{nik[:2]}.{nik[2:4]}"
    else:
        with pytest.raises(IdentityError, match=message):
            parse_nik(nik, known, on=ON)


def test_parse_nik_defaults_to_today() -> None:
    assert parse_nik("1471080101100001").birth_date == date(2010, 1, 1)


# KK number -----------------------------------------------------------------------------------


def test_parse_kk_number_fields() -> None:
    assert parse_kk_number("1471081501150003", on=ON) == KkInfo(
        province="14",
        regency="14.71",
        district="14.71.08",
        issue_date=date(2015, 1, 15),
        serial="0003",
    )


@pytest.mark.parametrize(
    ("kk", "on", "issued"),
    [
        ("1471082902200001", ON, date(2020, 2, 29)),  # leap year
        ("1471080106250001", ON, date(2025, 6, 1)),  # issued on the application date
        ("1471080101000001", ON, date(2000, 1, 1)),
    ],
)
def test_parse_kk_number_issue_date(kk: str, on: date, issued: date) -> None:
    assert parse_kk_number(kk, on=on).issue_date == issued


@pytest.mark.parametrize(
    ("kk", "known", "message"),
    [
        ("147108150115000", None, "Nomor KK harus terdiri dari 16 digit angka."),
        ("14710815011500031", None, "Nomor KK harus terdiri dari 16 digit angka."),
        ("1471-0815-0115-03", None, "Nomor KK harus terdiri dari 16 digit angka."),
        ("1471081501150000", None, "Nomor urut pada nomor KK tidak boleh 0000."),
        ("1471082902210001", None, "Tanggal penerbitan pada nomor KK tidak sah."),
        ("1471083002200001", None, "Tanggal penerbitan pada nomor KK tidak sah."),
        ("1471080113200001", None, "Tanggal penerbitan pada nomor KK tidak sah."),
        ("1471080206250001", None, "Tanggal penerbitan pada nomor KK tidak boleh di masa depan."),
        ("1471080101300001", None, "Tanggal penerbitan pada nomor KK tidak boleh di masa depan."),
        ("2071081501150003", None, "Kode provinsi pada nomor KK tidak dikenal."),
        (
            "1472081501150003",
            set(RIAU_REGENCIES),
            "Kode kabupaten/kota pada nomor KK tidak dikenal.",
        ),
        ("1471001501150003", None, "Kode kecamatan pada nomor KK tidak sah."),
    ],
)
def test_parse_kk_number_errors(kk: str, known: set[str] | None, message: str) -> None:
    with pytest.raises(IdentityError) as caught:
        parse_kk_number(kk, known, on=ON)
    assert caught.value.message == message


# Age and KIA kind ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "on", "age"),
    [
        (date(2020, 6, 1), date(2025, 5, 31), 4),
        (date(2020, 6, 1), date(2025, 6, 1), 5),
        (date(2020, 2, 29), date(2021, 2, 28), 0),  # leap-day child ages on 1 March
        (date(2020, 2, 29), date(2021, 3, 1), 1),
        (date(2020, 2, 29), date(2024, 2, 29), 4),
        (date(2025, 6, 1), date(2025, 6, 1), 0),
    ],
)
def test_age_on(birth_date: date, on: date, age: int) -> None:
    assert age_on(birth_date, on) == age


@pytest.mark.parametrize(
    ("birth_date", "on", "kind"),
    [
        (date(2025, 6, 1), date(2025, 6, 1), "under_5"),  # newborn
        (date(2020, 6, 1), date(2025, 5, 31), "under_5"),  # 4 years 364 days
        (date(2020, 6, 1), date(2025, 6, 1), "5_to_17"),  # 5th birthday
        (date(2008, 6, 2), date(2025, 6, 1), "5_to_17"),  # 17 tomorrow
    ],
)
def test_kia_kind(birth_date: date, on: date, kind: str) -> None:
    """By the bundled kia_rules decision table (bpmn/kia_rules.dmn), through the restricted evaluator."""
    from engine.kia import rules

    rule = rules.decide(None, age_on(birth_date, on))
    assert (rule.kind, rule.photo_required) == (kind, kind == "5_to_17")


@pytest.mark.parametrize(
    ("birth_date", "message"),
    [
        (date(2008, 6, 2), None),  # turns 17 tomorrow: still a child today
        (date(2025, 6, 1), None),  # born today
        (date(2008, 6, 1), "Anak sudah berusia 17 tahun atau lebih"),  # 17 today
        (date(2000, 1, 1), "Anak sudah berusia 17 tahun atau lebih"),
        (date(2025, 6, 2), "Tanggal lahir tidak boleh di masa depan."),
    ],
)
def test_check_child_age(birth_date: date, message: str | None) -> None:
    if message is None:
        assert check_child_age(birth_date, ON) is None
    else:
        with pytest.raises(IdentityError, match=message):
            check_child_age(birth_date, ON)


# NIK versus entered data ---------------------------------------------------------------------

GIRL = parse_nik("1471085205200001", on=ON)  # girl born 12 May 2020


@pytest.mark.parametrize(
    ("birth_date", "sex", "expected"),
    [
        (date(2020, 5, 12), "P", []),
        (
            date(2020, 5, 13),
            "P",
            [DATE_WARNING],
        ),
        (
            date(2020, 5, 12),
            "L",
            [SEX_WARNING],
        ),
    ],
)
def test_nik_mismatches(birth_date: date, sex: str, expected: list[str]) -> None:
    assert nik_mismatches(GIRL, birth_date, sex) == expected


def test_nik_mismatches_both() -> None:
    assert len(nik_mismatches(GIRL, date(2019, 5, 12), "L")) == 2


# Seed data -----------------------------------------------------------------------------------


def test_provinces() -> None:
    assert len(PROVINCES) == 38
    assert PROVINCES["11"] == "Aceh"
    assert PROVINCES["14"] == "Riau"
    assert PROVINCES["96"] == "Papua Barat Daya"
    assert all(11 <= int(code) <= 96 for code in PROVINCES)


def test_riau_regencies() -> None:
    assert len(RIAU_REGENCIES) == 12
    assert RIAU_REGENCIES["14.01"] == "Kampar"
    assert RIAU_REGENCIES["14.10"] == "Kepulauan Meranti"
    assert RIAU_REGENCIES["14.71"] == "Kota Pekanbaru"
    assert RIAU_REGENCIES["14.73"] == "Kota Dumai"


def test_pekanbaru_kecamatan() -> None:
    assert list(PEKANBARU_KECAMATAN) == [f"14.71.{n:02d}" for n in range(1, 16)]
    assert list(PEKANBARU_KECAMATAN.values()) == [
        "Sukajadi",
        "Pekanbaru Kota",
        "Sail",
        "Limapuluh",
        "Senapelan",
        "Rumbai Barat",
        "Bukit Raya",
        "Binawidya",
        "Marpoyan Damai",
        "Tenayan Raya",
        "Payung Sekaki",
        "Rumbai",
        "Tuahmadani",
        "Kulim",
        "Rumbai Timur",
    ]


def test_jakarta_today_is_the_engine_clock_s_date_in_jakarta() -> None:
    utc_today = clock.now().date()
    assert jakarta_today() - utc_today in (timedelta(0), timedelta(days=1), timedelta(days=-1))


# The whole application with the database's region codes (forms.validate_application) --------------

KNOWN = frozenset({*PROVINCES, *RIAU_REGENCIES, *PEKANBARU_KECAMATAN})  # what reference.seed stores
TOO_OLD = "Anak sudah berusia 17 tahun atau lebih; KIA hanya untuk anak di bawah 17 tahun."


@pytest.mark.parametrize(
    ("changes", "on", "field", "message"),
    [
        # girls: day + 40, on the 1st (41) and the 31st (71)
        ({"nik": "1471084505150001", "birth_date": "2015-05-05", "sex": "P"}, ON, None, None),
        ({"nik": "1471084101200002", "birth_date": "2020-01-01", "sex": "P"}, ON, None, None),
        ({"nik": "1471087112190003", "birth_date": "2019-12-31", "sex": "P"}, ON, None, None),
        (
            {"nik": "1471087201150001", "birth_date": "2015-01-01", "sex": "P"},
            ON,
            "nik",
            "Tanggal lahir pada NIK tidak sah.",
        ),
        # 29 February: real in 2020, not in 2021
        ({"nik": "1471086902200001", "birth_date": "2020-02-29", "sex": "P"}, ON, None, None),
        (
            {"nik": "1471082902210001", "birth_date": "2021-02-28", "sex": "L"},
            ON,
            "nik",
            "Tanggal lahir pada NIK tidak sah.",
        ),
        ({"kk_number": "1471082902210001"}, ON, "kk_number", "Tanggal penerbitan pada nomor KK tidak sah."),
        # the reused kecamatan codes: an old NIK's district is accepted whatever the domicile is today
        ({"nik": "1471060505150001", "birth_date": "2015-05-05", "sex": "L", "kecamatan": "14.71.15"}, ON, None, None),
        ({"nik": "1471080505150001", "birth_date": "2015-05-05", "sex": "L", "kecamatan": "14.71.13"}, ON, None, None),
        ({"nik": "1471120505150001", "birth_date": "2015-05-05", "sex": "L", "kecamatan": "14.71.12"}, ON, None, None),
        ({"kk_number": "1471061501150003", "kecamatan": "14.71.12"}, ON, None, None),
        # turning 17 on the application date: refused; the day before: a KIA with photo
        ({"nik": "1471080106080001", "birth_date": "2008-06-01", "sex": "L"}, ON, "birth_date", TOO_OLD),
        ({"nik": "1471080206080001", "birth_date": "2008-06-02", "sex": "L"}, ON, None, None),
        # a 29 February child turns 17 on 1 March of a common year
        ({"nik": "1471082902080001", "birth_date": "2008-02-29", "sex": "L"}, date(2025, 2, 28), None, None),
        ({"nik": "1471082902080001", "birth_date": "2008-02-29", "sex": "L"}, date(2025, 3, 1), "birth_date", TOO_OLD),
        # region codes from the database: Riau lists its regencies; a Jakarta-born child is accepted
        (
            {"nik": "1472080505150001", "birth_date": "2015-05-05", "sex": "L"},
            ON,
            "nik",
            "Kode kabupaten/kota pada NIK tidak dikenal.",
        ),
        ({"kk_number": "1499081501150003"}, ON, "kk_number", "Kode kabupaten/kota pada nomor KK tidak dikenal."),
        ({"nik": "3171080505150001", "birth_date": "2015-05-05", "sex": "L"}, ON, None, None),
        (
            {"nik": "9971080505150001", "birth_date": "2015-05-05", "sex": "L"},
            ON,
            "nik",
            "Kode provinsi pada NIK tidak dikenal.",
        ),
        (
            {"nik": "1471080505150000", "birth_date": "2015-05-05", "sex": "L"},
            ON,
            "nik",
            "Nomor urut pada NIK tidak boleh 0000.",
        ),
    ],
)
def test_validate_application_table(changes: dict, on: date, field: str | None, message: str | None) -> None:
    from forms import FormValidationError, validate_application
    from tests.helpers import application_data

    data = application_data(**{"kk_number": "1471081501150003", **changes})
    if field is None:
        cleaned = validate_application(data, on=on, known_regions=KNOWN)
        birth = date.fromisoformat(cleaned["child"]["birth_date"])
        assert cleaned["child_age"] == age_on(birth, on)
        assert cleaned["warnings"] == []
        assert cleaned["child"]["kecamatan"] == data["child"]["kecamatan"]  # never taken from the NIK
    else:
        with pytest.raises(FormValidationError) as caught:
            validate_application(data, on=on, known_regions=KNOWN)
        assert caught.value.fields == {"child": {field: [message]}}


def test_validate_application_warns_when_the_nik_disagrees() -> None:
    from forms import validate_application
    from tests.helpers import application_data

    data = application_data(nik="1471085205200001", birth_date="2020-05-13", sex="L", kk_number="1471081501150003")
    warnings = validate_application(data, on=ON, known_regions=KNOWN)["warnings"]
    assert warnings == [
        DATE_WARNING,
        "Jenis kelamin menurut NIK (Perempuan) berbeda dengan jenis kelamin yang diisi (Laki-laki).",
    ]
