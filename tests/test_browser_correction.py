"""Browser test of the verification page and the correction loop (issue 19, points 2 and 3): Playwright
drives Debian's Chromium against ``kia serve`` (SQLite, then PostgreSQL) with the demo population. The
admin sees the entry against the population records with the mismatch marked on the data, the documents
previewed in the page and the decision form beside them; the override reason appears only when accepting
a file that disagrees. Sent back with the questioned fields ticked, the applicant's correction form opens
with the officer's note, their own entry and the questioned fields marked; their answer, the changed field
(old and new) and the new document then show to the verifier, on the control card and in the history."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import application_data
from .test_browser import _requirements, _serve, chromium, database, shot, sign_in

pytestmark = pytest.mark.browser

ENTERED_ADDRESS = "Jl. Garuda Sakti 3"
RECORD_ADDRESS = "Jl. Garuda Sakti Km 3 No. 12"  # the demo population's KK address
NOTE = "Alamat anak tidak sesuai KK. Mohon tulis alamat lengkap sesuai KK dan unggah ulang KK yang jelas."
ANSWER = "Alamat sudah saya tulis lengkap sesuai KK, dan KK saya pindai ulang."


def scanned(title: str, lines: list[str]) -> bytes:
    """A one-page PDF that looks like a scanned paper (rendered with WeasyPrint, as the service's own PDFs)."""
    from weasyprint import HTML

    rows = "".join(f"<p>{line}</p>" for line in lines)
    return HTML(string=f"<h1 style='font-family:sans-serif'>{title}</h1>{rows}").write_pdf()


def photo_of_paper(title: str, size: tuple[int, int] = (640, 420)) -> bytes:
    """A PNG standing for a photographed certificate."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (250, 246, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, size[0] - 10, size[1] - 10), outline=(90, 90, 140), width=4)
    draw.text((40, 40), title, fill=(20, 20, 60))
    for n in range(6):
        draw.line((40, 110 + 45 * n, size[0] - 40, 110 + 45 * n), fill=(180, 180, 200), width=2)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    problem = _requirements()
    if problem:
        pytest.skip(problem)
    home = tmp_path_factory.mktemp("kia-browser-correction")
    with database(request.param, home) as url:
        serving = _serve(home, url)
        base = next(serving)
        try:
            yield {"base": base, "database": request.param}
        finally:
            serving.close()


def watch(page, errors: list[str], failed: list[str]) -> None:  # noqa: ANN001
    """Script errors and CSP refusals, and any answer of 400 or more, collected for the end of the test."""
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)


def pdf_viewer_in(page, url: str, seconds: float = 15) -> bool:  # noqa: ANN001
    """Whether a frame of ``page`` showing ``url`` holds Chromium's PDF viewer (its plugin ``embed``)."""
    for _ in range(int(seconds * 4)):
        for frame in page.frames:
            if frame.url == url and frame.evaluate("!!document.querySelector('embed')"):
                return True
        page.wait_for_timeout(250)
    return False


def open_verification(page, base: str, code: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/petugas/tugas?q={code}")
    page.click(f'tr[data-code="{code}"] a.button')
    page.wait_for_selector("#decision-form")


def test_verification_page_and_a_correction_loop_both_sides_follow(served: dict[str, Any]) -> None:
    base = served["base"]
    errors: list[str] = []
    failed: list[str] = []
    with chromium() as browser:
        office = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="id-ID")
        page = office.new_page()
        watch(page, errors, failed)
        created = page.request.post(
            f"{base}/api/v1/applications",
            multipart={
                "data": json.dumps(application_data(address=ENTERED_ADDRESS)),
                "kk": {"name": "kk.png", "mimeType": "image/png", "buffer": photo_of_paper("KARTU KELUARGA")},
                "akta": {
                    "name": "akta.pdf",
                    "mimeType": "application/pdf",
                    "buffer": scanned(
                        "KUTIPAN AKTA KELAHIRAN", ["No. 1471-LT-15062023-0001", "Aisyah Putri Ramadhani"]
                    ),
                },
            },
        )
        assert created.status == 201, created.text()
        code, pin = created.json()["code"], created.json()["pin"]

        # the verification page: the evidence first, the decision beside it
        sign_in(page, base, "admin")
        open_verification(page, base, code)
        evidence, decision = page.locator(".evidence").bounding_box(), page.locator("#decision-form").bounding_box()
        assert decision["x"] > evidence["x"] + evidence["width"] - 1  # two columns, the form on the right
        assert decision["y"] < evidence["y"] + 50
        address = page.locator('#verification tr[data-field="child.address"]')
        assert "result-mismatch" in address.get_attribute("class")
        assert (
            ENTERED_ADDRESS in address.inner_text() and f"Data kependudukan: {RECORD_ADDRESS}" in address.inner_text()
        )
        assert "result-match" in page.locator('#verification tr[data-field="child.name"]').get_attribute("class")
        kk = page.locator('#documents figure[data-kind="kk"] img')  # an image: shown as such
        kk.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth === 640", arg=kk.element_handle())
        akta = page.locator('#documents figure[data-kind="akta"] iframe')  # a PDF: in a frame of the page
        assert "/documents/" in akta.get_attribute("src") and akta.bounding_box()["height"] > 300
        akta_response = page.request.get(base + akta.get_attribute("src"))
        assert akta_response.headers["content-type"] == "application/pdf"
        assert "frame-ancestors 'self'" in akta_response.headers["content-security-policy"]
        assert pdf_viewer_in(page, base + akta.get_attribute("src"))  # Chromium's PDF viewer took the frame

        reason = page.locator("textarea[name=override_reason]")
        assert reason.is_hidden() and page.locator("textarea[name=note]").is_hidden()  # no decision yet
        page.click("#claim")
        page.wait_for_selector("#decision-form input[name=decision]")
        page.check("input[name=decision][value=incomplete]")
        assert reason.is_hidden() and page.locator("textarea[name=note]").is_visible()
        page.fill("textarea[name=note]", NOTE)
        page.check('input[name=questioned_fields][value="child.address"]')
        page.check('input[name=questioned_fields][value="documents.kk"]')
        page.wait_for_timeout(1500)  # the PDF viewer in the frame draws its page
        shot(page, "verification")
        page.check("input[name=decision][value=complete]")
        assert reason.is_visible() and reason.evaluate("r => r.required")  # accepting a mismatch: a reason
        assert page.locator("textarea[name=note]").is_hidden()
        page.click("#complete")  # without it: the server refuses too, and keeps what was chosen
        page.wait_for_load_state()
        assert "isi alasan bila berkas tetap diterima" in page.inner_text("#decision-form")
        assert page.is_checked('input[name=questioned_fields][value="documents.kk"]')
        page.check("input[name=decision][value=incomplete]")
        assert reason.is_hidden() and page.input_value("textarea[name=note]") == NOTE
        page.click("#complete")
        page.wait_for_load_state()
        assert "selesai" in page.inner_text(".flash.ok")

        # the applicant: the correction form opens with the note, their own entry, the questioned fields marked
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="id-ID")
        mobile = phone.new_page()
        watch(mobile, errors, failed)
        mobile.goto(f"{base}/status/{code}")
        mobile.fill("input[name=pin]", pin)
        mobile.click("form[action$='/pin'] button")
        mobile.wait_for_load_state()
        request = mobile.inner_text("#correction-request")
        assert NOTE in request and "Alamat sesuai KK, Dokumen Kartu Keluarga" in request
        assert mobile.input_value('textarea[name="child.address"]') == ENTERED_ADDRESS
        assert mobile.input_value('input[name="child.name"]') == "Aisyah Putri Ramadhani"
        assert mobile.is_checked('input[name="child.sex"][value=P]')
        questioned = mobile.eval_on_selector_all(".field.questioned", "fs => fs.map(f => f.dataset.field)")
        assert questioned == ["child.address", "documents.kk"]
        assert RECORD_ADDRESS not in mobile.inner_text("main")  # never the population records
        assert "Hendra Saputra" not in mobile.inner_text("main")
        mobile.fill("textarea[name=response]", ANSWER)
        mobile.fill('textarea[name="child.address"]', RECORD_ADDRESS)
        mobile.set_input_files(
            "input[name=kk]",
            files=[
                {
                    "name": "kk-baru.pdf",
                    "mimeType": "application/pdf",
                    "buffer": scanned("KARTU KELUARGA", ["No. 1471081506230002", f"Alamat: {RECORD_ADDRESS}"]),
                }
            ],
        )
        shot(mobile, "correction-form")
        mobile.click("#send-correction")
        mobile.wait_for_load_state()
        assert "Perbaikan terkirim" in mobile.inner_text("main")
        phone.close()

        # back at the office: the answer and the changed field before the evidence
        open_verification(page, base, code)
        answer = page.locator("#correction-answer")
        assert ANSWER in answer.inner_text()
        changed = answer.locator('tr[data-change="child.address"]')
        assert ENTERED_ADDRESS in changed.inner_text() and RECORD_ADDRESS in changed.inner_text()
        assert "ditanyakan" in changed.inner_text() and answer.locator("tr[data-change]").count() == 1
        assert "Kartu Keluarga" in answer.inner_text()
        row = page.locator('#verification tr[data-field="child.address"]')
        assert "diubah pemohon" in row.inner_text() and "result-match" in row.get_attribute("class")
        assert page.locator('#documents figure[data-kind="kk"] .badge').inner_text() == "baru"
        assert page.locator('#documents figure[data-kind="kk"] iframe').count() == 1  # the new KK is a PDF
        assert page.locator("textarea[name=override_reason]").count() == 0  # all agrees now: no reason asked
        assert "Perbaikan dikirim pemohon" in page.inner_text("#task-history")
        assert ANSWER in page.inner_text("#task-history")
        shot(page, "verification-answer")

        page.goto(f"{base}/petugas/permohonan/{code}")
        card = page.inner_text("#control-card")
        assert f"Tanggapan pemohon: {ANSWER}" in card and f"{ENTERED_ADDRESS} → {RECORD_ADDRESS}" in card
        assert "Dikembalikan ke pemohon: Alamat sesuai KK, Dokumen Kartu Keluarga" in card
        office.close()
    # no CSP refusal nor script error (a refused form answers 422, which the console reports as a failed load)
    assert not [e for e in errors if "Failed to load resource" not in e], errors
    assert all(f.startswith("422 ") or f.endswith("/favicon.ico") for f in failed), failed  # the refusal only
    assert len([f for f in failed if f.startswith("422 ")]) == 1
