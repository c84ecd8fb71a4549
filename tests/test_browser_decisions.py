"""Browser test of decision tables (issue 21.2): Playwright drives Debian's Chromium against ``kia serve``
(SQLite, then PostgreSQL). The process owner opens the modeler's "Tabel keputusan" tab, changes the photo
rule of the kia_rules table in dmn-js (a photo from age 4), tries it in "coba tabel ini" and deploys it
with the diagram; the new version then asks a 4-year-old's application for the photo. The tab is kept
as a screenshot (``test-artifacts/modeler-dmn.png``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import PDF_BYTES, PNG_BYTES, application_data, today
from .test_browser import _requirements, chromium, service_with_seeder, shot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    problem = _requirements()
    if problem:
        pytest.skip(problem)
    with service_with_seeder(request.param, tmp_path_factory.mktemp("kia-browser-dmn")) as (base, _):
        yield base


def four_years_old() -> str:
    now = today()  # the served process runs on the suite's clock too (KIA_CLOCK_OFFSET)
    return now.replace(year=now.year - 4, day=min(now.day, 28)).isoformat()


def submit_without_photo(page: Any, base: str, birth_date: str, nik: str) -> Any:
    return page.request.post(
        f"{base}/api/v1/applications",
        multipart={
            "data": json.dumps(application_data(birth_date=birth_date, nik=nik)),
            "kk": {"name": "kk.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES},
            "akta": {"name": "akta.png", "mimeType": "image/png", "buffer": PNG_BYTES},
        },
    )


def test_owner_edits_the_photo_rule_tries_it_and_deploys(served: str) -> None:
    from playwright.sync_api import expect

    base = served
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1440, "height": 900}, locale="id-ID")
        assert submit_without_photo(page, base, four_years_old(), "1471085005230001").status == 201  # version 1

        sign_in(page, base, "pemilik")
        page.goto(f"{base}/pemilik/modeler")
        page.wait_for_selector("#modeler[data-ready=true]", timeout=30000)
        page.wait_for_selector("#dmn-editor[data-ready=true]", state="attached", timeout=30000)
        # the diagram's business-rule task names the table it calls, chosen among the version's tables
        page.hover("#modeler")
        page.mouse.wheel(-300, 0)  # the diagram moves right, from under the palette
        page.click("#modeler [data-element-id=decide_kia_kind]")
        called = page.locator("#properties select[name=called_decision]")
        assert called.input_value() == "kia_rules"
        assert called.locator("option").all_inner_texts() == ["kia_rules"]
        page.click("button[data-tab=dmn-tab]")
        page.wait_for_selector("#dmn-editor[data-ready=true]", timeout=30000)
        assert page.locator("#modeler").is_hidden()
        assert "Jika" in page.inner_text("#dmn-canvas")  # dmn-js in Bahasa Indonesia
        assert page.locator("#dmn-file option").all_inner_texts() == ["kia_rules.dmn"]

        # before the change: a 4-year-old needs no photo
        page.fill("#dmn-inputs input[name=child_age]", "4")
        page.click("#dmn-try")
        result = page.locator("#dmn-result")
        result.get_by_text("Aturan yang cocok: 1").wait_for()
        assert "Pas foto wajib (photo_required)\ntidak (False)" in result.inner_text()

        # the photo cell of the first rule (under 5): required from age 4
        cell = page.locator("#dmn-canvas td[data-element-id=rule_under_5_photo] [contenteditable=true]")
        cell.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("child_age >= 4")
        page.locator("#dmn-canvas td[data-element-id=rule_under_5_kind]").click()  # leaves the cell
        page.click("#dmn-try")
        expect(result).to_contain_text("ya (True)")
        text = result.inner_text()
        assert "Aturan yang cocok: 1" in text and "Jenis KIA (kia_kind)\nunder_5" in text
        page.fill("#dmn-inputs input[name=child_age]", "3")
        page.click("#dmn-try")
        expect(result).to_contain_text("tidak (False)")

        # an overlapping rule is a warning in the panel, before anything is deployed
        age_cell = page.locator("#dmn-canvas td[data-element-id=rule_5_to_17_age] [contenteditable=true]")
        age_cell.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("4 <= ? < 17")
        page.locator("#dmn-canvas td[data-element-id=rule_under_5_kind]").click()
        page.click("#dmn-describe")
        expect(result).to_contain_text("aturan 1 dan 2 tumpang tindih")
        age_cell.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("5 <= ? < 17")
        page.locator("#dmn-canvas td[data-element-id=rule_under_5_kind]").click()
        page.click("#dmn-describe")
        expect(result).not_to_contain_text("tumpang tindih")
        shot(page, "modeler-dmn")

        page.click("#deploy")  # the diagram's deploy sends the tables with it
        page.fill("#deploy-dialog textarea[name=note]", "Pas foto wajib mulai usia 4 tahun")
        page.click("#deploy-confirm")
        expect(page.locator("#modeler-status")).to_contain_text("Versi 2 berhasil di-deploy", timeout=60000)

        stored = page.request.get(f"{base}/api/v1/processes/kia_whatsapp/versions/2").json()
        [table] = stored["decisions"]
        assert table["name"] == "kia_rules.dmn" and "child_age &gt;= 4" in table["xml"]
        refused = submit_without_photo(page, base, four_years_old(), "1471085005230002")
        assert refused.status == 422 and "photo" in refused.json()["error"]["fields"], refused.text()
