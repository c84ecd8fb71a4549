"""Browser test of a lane's scope (issue 21.3): whether a lane's tasks go to its officers of the
application's kecamatan is a property of the lane the process owner sets in the modeler, not code.
Playwright drives Debian's Chromium against ``kia serve`` (SQLite, then PostgreSQL)."""

from __future__ import annotations

import re

import pytest

from .test_browser import browser, server, sign_in  # noqa: F401  (the module's server and browser)

pytestmark = pytest.mark.browser

LANE_SCOPE = re.compile(
    r'<bpmn:lane id="dafdud"[^>]*>\s*<bpmn:extensionElements>\s*<spiffworkflow:properties>\s*'
    r'<spiffworkflow:property name="scope" value="kecamatan"\s*/>'
)


def select(page, element_id: str) -> None:  # noqa: ANN001
    page.evaluate(
        "id => window.kiaModeler.get('selection').select(window.kiaModeler.get('elementRegistry').get(id))",
        element_id,
    )


def test_owner_scopes_a_lane_by_kecamatan_in_the_modeler(server: str, browser) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="id-ID")
    page = context.new_page()
    sign_in(page, server, "pemilik")
    page.goto(f"{server}/pemilik/modeler")
    page.wait_for_selector("#modeler[data-ready=true]", timeout=30000)
    select(page, "uptd")  # the bundled UPTD lane is scoped by kecamatan
    assert "Peran petugas bagian (lane) ini: uptd" in page.inner_text("#properties")
    assert page.locator("#properties input[name=scope]").is_checked()
    select(page, "dafdud")
    scope = page.locator("#properties input[name=scope]")
    assert not scope.is_checked()
    scope.check()
    page.click("#validate")
    page.wait_for_selector("#modeler-status[data-kind=ok]")
    page.click("#deploy")
    page.fill("#deploy-dialog textarea[name=note]", "Dafdud bekerja per kecamatan")
    page.click("#deploy-confirm")
    page.locator("#modeler-status", has_text="berhasil di-deploy").wait_for()

    xml = page.evaluate(
        "() => fetch('/api/v1/processes/kia_whatsapp/bpmn', {credentials: 'same-origin'}).then(r => r.text())"
    )
    assert LANE_SCOPE.search(xml), xml[:2000]
    page.goto(f"{server}/pemilik/versi")
    assert "property scope" in page.inner_text("table.diff") and "kecamatan" in page.inner_text("table.diff")

    # the supervisor's account form now asks a kecamatan of Dafdud's officers too
    sign_in(page, server, "supervisor")
    page.goto(f"{server}/supervisor/akun")
    assert "wajib untuk Staf Bidang Dafdud, Ka. UPTD" in page.inner_text("main")
    context.close()
