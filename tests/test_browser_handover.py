"""Browser test of the hand-over at the UPTD (issue 20.3): Playwright drives Debian's Chromium against
``kia serve`` (SQLite, then PostgreSQL; ``kia demo`` loads the demo family into the population records).
The Ka. UPTD opens the hand-over, sees who in the KK may collect and the printed card number; a
grandmother not in the KK is refused at the NIK field with the reason; given as a proxy with the parents'
letter (uploaded on the page) she receives the card; the page links the tanda terima (a PDF naming her
and the card number) and the application's control card shows her as the proxy. The form and the
refusal are kept as screenshots (``docs/screenshots/handover*.png``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from .helpers import PDF_BYTES, seed_applications
from .pdfcheck import pages_text
from .test_browser import CHROMIUM, CHROMIUM_ARGS, _requirements, service_with_seeder, shot, sign_in

pytestmark = pytest.mark.browser

CARD = "KIA-2026-004711"
GRANDMOTHER = ("Rosmawati", "1471084407650001")  # structurally valid, in no KK of the demo population


def at_handover(seeder: Any, code: str) -> None:
    """Verification, printing (with the card number) and grouping through the engine's use case."""
    import forms
    from api.extensions import db
    from engine.kia import applications, completion
    from engine.models import TaskRow, TaskRowState

    steps = (
        ("verify_application", {"decision": "complete"}, "admin"),
        ("print_card", {"decision": "issued", "card_number": CARD}, "operator"),
        ("group_cards", {"batch": "Binawidya 1"}, "dafdud"),
    )
    with seeder.app_context():
        instance_id = applications.by_code(db.session, code).instance_id
        for step, raw, actor in steps:
            row = db.session.scalar(
                select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.state == TaskRowState.OPEN)
            )
            assert row is not None and row.step == step
            completion.complete_validated(db.session, row, forms.load_form(row.form_key, raw), actor)
            db.session.commit()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The service with one card waiting at the Binawidya UPTD (the demo family's child)."""
    problem = _requirements()
    if problem:
        pytest.skip(problem)
    home = tmp_path_factory.mktemp("kia-browser-handover")
    with service_with_seeder(request.param, home) as (base, seeder):
        [code] = seed_applications(seeder, [{}])
        at_handover(seeder, code)
        letter = home / "surat-kuasa.pdf"
        letter.write_bytes(PDF_BYTES)
        yield {"base": base, "code": code, "database": request.param, "letter": str(letter)}


def test_the_ka_uptd_hands_the_card_to_a_proxy_with_a_letter(served: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    base, code = served["base"], served["code"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None
        )
        sign_in(page, base, "uptd.binawidya")
        page.goto(f"{base}/petugas/tugas")
        page.click(f'tr[data-code="{code}"] a.button')
        page.wait_for_load_state()

        rule = page.inner_text("#handover-rule")
        assert "Siti Rahmawati" in rule and "Hendra Saputra" in rule and "Aisyah" not in rule
        assert f"Nomor kartu yang dicetak: {CARD}" in rule
        assert page.input_value("input[name=card_number]") == CARD  # pre-filled
        options = page.locator("select[name=recipient_relationship] option").all_inner_texts()
        assert "Penerima kuasa (dengan surat kuasa)" in options and "Ibu" in options
        page.select_option("select[name=recipient_relationship]", "keluarga")
        page.fill("input[name=recipient_name]", GRANDMOTHER[0])
        page.fill("input[name=recipient_nik]", GRANDMOTHER[1])
        if served["database"] == "sqlite":
            shot(page, "handover_form")
        page.click("#complete")
        page.wait_for_load_state()

        # refused at the NIK, with the reason and the way out; what was typed is kept
        nik_field = page.locator('[data-field="recipient_nik"]')
        assert "tidak tercantum dalam Kartu Keluarga (KK)" in nik_field.inner_text()
        assert "surat kuasa" in nik_field.inner_text()
        assert "Periksa kembali isian yang ditandai." in page.inner_text("body")
        assert page.input_value("input[name=recipient_nik]") == GRANDMOTHER[1]
        if served["database"] == "sqlite":
            shot(page, "handover_refused")

        # as a proxy without the letter: asked for it; with it: handed over
        page.select_option("select[name=recipient_relationship]", "kuasa")
        page.click("#complete")
        page.wait_for_load_state()
        assert "Surat kuasa wajib diunggah" in page.inner_text('[data-field="documents.proxy_letter"]')
        page.select_option("select[name=recipient_relationship]", "kuasa")
        page.set_input_files("input[name=proxy_letter]", served["letter"])
        page.click("#complete")
        page.wait_for_load_state()
        assert "/petugas/tugas" in page.url and "selesai" in page.inner_text("body")
        receipt = page.locator("#handover-receipt-flash")
        assert receipt.count() == 1
        pdf = page.request.get(f"{base}{receipt.get_attribute('href')}")
        assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
        text = " ".join(pages_text(pdf.body())[0].split())
        for expected in ("TANDA TERIMA PENYERAHAN", "Rosmawati", CARD, "Yang menerima, penerima kuasa", "NIP"):
            assert expected in text, expected
        assert GRANDMOTHER[1] not in text

        page.goto(f"{base}/petugas/permohonan/{code}")
        recipient = page.inner_text("#card-recipient")
        assert "Diterima oleh: Rosmawati (Penerima kuasa (dengan surat kuasa))" in recipient
        assert "NIK ************0001" in recipient and CARD in recipient
        assert "lihat surat kuasa" in recipient and "tidak tercantum dalam KK" in recipient
        assert page.locator("a.paper", has_text="Tanda terima penyerahan (PDF)").count() == 1
        letter = page.request.get(f"{base}{page.locator('#card-recipient a').get_attribute('href')}")
        assert letter.status == 200 and letter.body() == PDF_BYTES
        assert not errors, errors
        browser.close()
