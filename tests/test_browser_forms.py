"""Browser test of owner-designed forms (issue 21.1): the process owner creates a form in the modeler's
"Formulir" tab (bpmn.io's form-js editor), names it as a step's form and deploys it with the diagram.
Playwright drives Debian's Chromium against ``kia serve`` (SQLite, then PostgreSQL). The tab is kept as a
screenshot (``test-artifacts/modeler-form.png``)."""

from __future__ import annotations

from typing import Any

import pytest

from .diagrams import KASI_STEP, with_kasi_approval
from .test_browser import browser, server, shot, sign_in  # noqa: F401  (the module's server and browser)
from .test_browser_lanes import select

pytestmark = pytest.mark.browser

FORM_ID = "persetujuan_kasi"


def drawn(xml: bytes) -> str:
    """The diagram with a shape for the Kasi's step (tests.diagrams adds its elements without a layout), so
    that the modeler draws it and it can be selected."""
    shape = (
        f'<bpmndi:BPMNShape id="{KASI_STEP}_di" bpmnElement="{KASI_STEP}">'
        '<dc:Bounds x="1680" y="1000" width="100" height="80"/></bpmndi:BPMNShape>'
    )
    return xml.decode("utf-8").replace("</bpmndi:BPMNPlane>", shape + "</bpmndi:BPMNPlane>", 1)


def add_field(page: Any, kind: str) -> None:
    """A component of ``kind`` from the editor's palette, added at the end of the form (Enter on the palette
    entry, the editor's keyboard way), then selected for its properties."""
    from playwright.sync_api import expect

    before = page.locator(f"#form-canvas .fjs-form-field-{kind}").count()
    page.focus(f"#form-canvas .fjs-palette-field[data-field-type={kind}]")
    page.keyboard.press("Enter")
    field = page.locator(f"#form-canvas .fjs-form-field-{kind}")
    expect(field).to_have_count(before + 1)
    field.last.click()
    open_group(page, "general")
    page.wait_for_selector("#bio-properties-panel-key")


def open_group(page: Any, group: str) -> None:
    header = page.locator(f"#form-canvas [data-group-id=group-{group}] .bio-properties-panel-group-header")
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def open_option(page: Any, index: int) -> None:
    """The select's option ``index`` unfolded in the properties panel (its label and value inputs)."""
    if not page.locator(f"#bio-properties-panel-staticOptions-{index}-label").is_visible():
        page.click(f"#form-canvas [data-entry-id=staticOptions-{index}] .bio-properties-panel-collapsible-entry-header")


def set_property(page: Any, entry: str, value: str) -> None:
    """Type ``value`` into a property of the selected component; waits until the form holds it."""
    page.fill(f"#bio-properties-panel-{entry}", value)
    page.wait_for_function(
        "v => JSON.stringify(window.kiaForms.editor.saveSchema()).includes(JSON.stringify(v))", arg=value
    )


def test_owner_creates_a_form_names_it_on_a_step_and_deploys(server: str, browser) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="id-ID")
    page = context.new_page()
    sign_in(page, server, "pemilik")
    page.goto(f"{server}/pemilik/modeler")
    page.wait_for_selector("#modeler[data-ready=true]", timeout=30000)
    page.wait_for_selector("#form-editor[data-ready=true]", state="attached", timeout=30000)
    # the owner's new step, drawn as tests.diagrams draws it: the Kasi's approval, without a form yet
    page.evaluate("xml => window.kiaModeler.importXML(xml)", drawn(with_kasi_approval(form_key="")))
    page.click("#validate")
    page.wait_for_selector("#modeler-status[data-kind=error]")
    assert "formulir '' tidak dikenal" in page.inner_text("#problems")

    # the form, in the form editor: a required choice and a short note
    page.click("button[data-tab=form-tab]")
    page.fill("#form-new-id", FORM_ID)
    page.click("#form-new")
    assert page.locator("#form-file").input_value() == "0"
    assert FORM_ID in page.inner_text("#form-message")
    add_field(page, "select")
    set_property(page, "label", "Keputusan Kasi")
    set_property(page, "key", "keputusan")
    # the editor speaks Indonesian (web/src/forms-id.js); the owner's own label stays as typed
    palette = page.inner_text("#form-canvas .fjs-palette")
    assert "Komponen" in palette and "Daftar pilihan" in palette and "Isian teks" in palette, palette
    assert not {"Components", "Select", "Input"} & set(palette.split()), palette
    panel = page.inner_text("#form-canvas .fjs-properties-panel")
    assert "Umum" in panel and "Label isian" in panel and "Field label" not in panel, panel
    assert "Keputusan Kasi" in page.inner_text("#form-canvas .fjs-form-field-select")
    open_group(page, "staticOptions")
    open_option(page, 0)
    set_property(page, "staticOptions-0-label", "Setuju")  # the select's first option
    set_property(page, "staticOptions-0-value", "setuju")
    page.click("#form-canvas [data-group-id=group-staticOptions] .bio-properties-panel-add-entry")
    open_option(page, 1)
    set_property(page, "staticOptions-1-label", "Tolak")
    set_property(page, "staticOptions-1-value", "tolak")
    open_group(page, "validation")
    page.check("#bio-properties-panel-required")
    add_field(page, "textarea")
    set_property(page, "label", "Catatan")
    set_property(page, "key", "catatan")
    open_group(page, "validation")
    page.fill("#bio-properties-panel-maxLength", "200")
    page.wait_for_function('() => JSON.stringify(window.kiaForms.editor.saveSchema()).includes(\'"maxLength":"200"\')')
    shot(page, "modeler-form")

    # the step names it; the diagram with its form passes the lint and the dry run, then is deployed
    page.click("button[data-tab=diagram-tab]")
    select(page, KASI_STEP)
    page.locator("#properties select[name=form_key]").select_option(FORM_ID)
    page.click("#validate")
    page.wait_for_selector("#modeler-status[data-kind=ok]", timeout=60000)
    page.click("#deploy")
    page.fill("#deploy-dialog textarea[name=note]", "Persetujuan Kasi Pelayanan dengan formulirnya")
    page.click("#deploy-confirm")
    page.locator("#modeler-status", has_text="Versi 2 berhasil di-deploy").wait_for(timeout=60000)

    stored = page.request.get(f"{server}/api/v1/processes/kia_whatsapp/versions/2").json()
    (form,) = stored["forms"]
    fields = {c["key"]: c for c in form["components"] if "key" in c}
    assert form["id"] == FORM_ID and sorted(fields) == ["catatan", "keputusan"]
    assert (fields["keputusan"]["type"], fields["keputusan"]["validate"]["required"]) == ("select", True)
    assert [v["value"] for v in fields["keputusan"]["values"]] == ["setuju", "tolak"]
    # the editor writes the limit as text ("200"); the server reads it as the number
    assert (fields["catatan"]["type"], fields["catatan"]["validate"]["maxLength"]) == ("textarea", "200")
    xml = page.evaluate(
        "() => fetch('/api/v1/processes/kia_whatsapp/bpmn', {credentials: 'same-origin'}).then(r => r.text())"
    )
    assert f'name="form_key" value="{FORM_ID}"' in xml
    context.close()
