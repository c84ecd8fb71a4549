"""Seed reference data: Kemendagri region codes.

These tables are the defaults shipped with the product; the database holds editable copies.
Codes use the dotted Kemendagri style: province "14", regency/city "14.71", district "14.71.08".
"""

from __future__ import annotations

PROVINCES: dict[str, str] = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "Daerah Istimewa Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}

RIAU_REGENCIES: dict[str, str] = {
    "14.01": "Kampar",
    "14.02": "Indragiri Hulu",
    "14.03": "Bengkalis",
    "14.04": "Indragiri Hilir",
    "14.05": "Pelalawan",
    "14.06": "Rokan Hulu",
    "14.07": "Rokan Hilir",
    "14.08": "Siak",
    "14.09": "Kuantan Singingi",
    "14.10": "Kepulauan Meranti",
    "14.71": "Kota Pekanbaru",
    "14.73": "Kota Dumai",
}

# Perda Kota Pekanbaru 2/2020. Codes .06, .08 and .12 were reused in the split (formerly Rumbai,
# Tampan and Rumbai Pesisir), so an old NIK's district code says nothing about today's domicile.
PEKANBARU_KECAMATAN: dict[str, str] = {
    "14.71.01": "Sukajadi",
    "14.71.02": "Pekanbaru Kota",
    "14.71.03": "Sail",
    "14.71.04": "Limapuluh",
    "14.71.05": "Senapelan",
    "14.71.06": "Rumbai Barat",
    "14.71.07": "Bukit Raya",
    "14.71.08": "Binawidya",
    "14.71.09": "Marpoyan Damai",
    "14.71.10": "Tenayan Raya",
    "14.71.11": "Payung Sekaki",
    "14.71.12": "Rumbai",
    "14.71.13": "Tuahmadani",
    "14.71.14": "Kulim",
    "14.71.15": "Rumbai Timur",
}
