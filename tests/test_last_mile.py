"""The card's last mile (issue 20.1, 20.2, 20.4), over a real HTTP server: Dafdud groups the printed cards
on the grouping page (select all per kecamatan, one batch per kecamatan) and sees the past batches."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from . import test_log_privacy
from .helpers import token
from .scripted import at
from .test_documents import _printed_cards
from .test_log_privacy import HttpClient
from .test_web_pages import sign_in

server = test_log_privacy.server  # the app served by werkzeug in a thread, as ``kia serve`` does
TWELVE = {"14.71.01": 5, "14.71.08": 7}  # Sukajadi, Binawidya
NAMES = {"14.71.01": "Sukajadi", "14.71.08": "Binawidya"}


@pytest.fixture
def http(server: str) -> HttpClient:
    return HttpClient(server)


def group_all(http: HttpClient) -> tuple[dict[str, str], list[dict]]:
    """Print the twelve cards, then group them on the grouping page: every kecamatan's 'select all'
    (the page's checkboxes of that kecamatan), one submit. Returns {code: kecamatan} and the batches."""
    made = _printed_cards(http, TWELVE)  # type: ignore[arg-type]  # the same calls, over HTTP
    csrf = sign_in(http, "dafdud1")  # type: ignore[arg-type]
    page = http.get("/petugas/pengelompokan").text
    assert "Pengelompokan KIA per kecamatan" in page and "menunggu dikelompokkan: 12 kartu" in page
    sections = re.findall(r'<section class="kecamatan-group" data-kecamatan="([^"]+)">(.*?)</section>', page, re.S)
    assert [name for name, _ in sections] == ["Binawidya", "Sukajadi"]  # by name, not by code
    chosen = []
    for name, html in sections:
        assert f'aria-label="Pilih semua KIA Kecamatan {name}"' in html
        boxes = re.findall(r'name="task_id" value="([^"]+)" data-group="(\d+)"', html)
        groups = {g for _, g in boxes}
        [group] = groups  # the 'select all' of this kecamatan ticks exactly these
        assert re.search(rf'class="select-all" data-group="{group}"', html)
        assert len(boxes) == TWELVE[next(c for c, n in NAMES.items() if n == name)]
        chosen += [task for task, _ in boxes]
    response = http.post(
        "/petugas/kelompokkan",
        data={"csrf_token": csrf, "from": "pengelompokan", "batch": "Kiriman Senin", "task_id": chosen},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/petugas/pengelompokan")
    after = http.get("/petugas/pengelompokan").text
    assert "12 KIA dikelompokkan \u201cKiriman Senin\u201d" in after
    assert re.search(r"batch \d+ \(Sukajadi, 5 KIA\), batch \d+ \(Binawidya, 7 KIA\)", after)
    assert "Tidak ada KIA yang menunggu dikelompokkan." in after
    listed = http.get("/api/v1/batches", headers=token(http, "dafdud1")).get_json()["items"]  # type: ignore[arg-type]
    assert sorted((b["kecamatan_name"], b["count"], b["state"]) for b in listed) == [
        ("Binawidya", 7, "sent"),
        ("Sukajadi", 5, "sent"),
    ]
    return made, listed


def test_dafdud_groups_twelve_cards_of_two_kecamatan_into_two_batches(app: Flask, http: HttpClient) -> None:
    at("2027-09-06 09:00")  # a Monday
    made, batches = group_all(http)
    assert len(made) == 12
    # the past batches: each with its kecamatan by name, count, state and recap
    page = http.get("/petugas/batch").text
    for batch in batches:
        row = re.search(rf'<tr data-batch="{batch["id"]}">(.*?)</tr>', page, re.S).group(1)
        assert f"Batch {batch['id']}" in row and batch["kecamatan_name"] in row
        assert "Dikirim, belum dikonfirmasi UPTD" in row
        assert f"/api/v1/reports/distribution.pdf?batch={batch['id']}" in row
        recap = http.get(batch["recap_url"])
        assert recap.status_code == 200 and recap.headers["Content-Type"] == "application/pdf"
    # a Ka. UPTD sees only their kecamatan's batch
    sign_in(http, "uptd_sukajadi")  # type: ignore[arg-type]
    own = http.get("/petugas/batch").text
    assert own.count("<tr data-batch=") == 1 and "Sukajadi" in own
    binawidya = next(b for b in batches if b["kecamatan"] == "14.71.08")
    assert http.get(f"/petugas/batch/{binawidya['id']}").status_code == 403
    assert http.get("/petugas/pengelompokan").status_code == 403  # not the UPTD's page
