"""Browser tests: Playwright drives Debian's Chromium (headless) against the real service.

The service runs as ``kia serve`` in a subprocess on a free loopback port with its own database (SQLite,
then a fresh PostgreSQL database), exactly as ``make run`` starts it (demo accounts, bundled diagram,
built bpmn-js assets). Screenshots go to ``test-artifacts/`` (copies are kept in ``docs/screenshots/``
for the README).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench.server import stop

from .helpers import PDF_BYTES, PG_ADMIN_URL, PNG_BYTES, ROOT, application_data, pg_reachable
from .test_dry_run import with_parallel_merge

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
DEMO_PASSWORD = "demo-kia-2026"


def _requirements() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} missing (make test installs it with `make chromium`)"
    if not (ROOT / "web" / "static" / "dist" / "modeler.js").exists():
        return "bpmn-js bundles not built (make install builds them)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright not installed (test extra)"
    return None


@contextmanager
def database(kind: str, home: Path) -> Iterator[str]:
    """The service's own database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{home}/kia.db"
        return
    problem = pg_reachable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {problem}")
        pytest.skip(f"PostgreSQL not reachable ({problem})")
    name = f"kia_browser_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    problem = _requirements()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    home = tmp_path_factory.mktemp("kia-browser")
    with database(request.param, home) as url:
        yield from _serve(home, url)


@contextmanager
def service_with_seeder(kind: str, home: Path) -> Iterator[tuple[str, Any]]:
    """The service as ``make run`` serves it on a fresh ``kind`` database, and an app on the same database
    that seeds it from this process (``helpers.seed_applications``): ``(base URL, seeder app)``."""
    from api import create_app

    with database(kind, home) as url:
        serving = _serve(home, url)
        base = next(serving)
        try:
            seeder = create_app(
                {
                    "TESTING": True,
                    "SQLALCHEMY_DATABASE_URI": url,
                    "DOCUMENT_DIR": str(home / "documents"),
                    "KIA_WORKING_TIME": False,
                    "KIA_SCHEDULER": False,
                    "SECRET_KEY": "seeder",
                }
            )
            yield base, seeder
        finally:
            serving.close()


def _serve(home: Path, database_url: str, working_time: bool = False) -> Iterator[str]:
    """``kia demo`` then ``kia serve`` on a free loopback port, as ``make run`` does; always stopped.
    ``working_time``: the office calendar (hours, holidays, closed days) instead of a 24-hour office."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "KIA_INSTANCE_PATH": str(home),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "browser-test-secret",
        "KIA_WORKING_TIME": "on" if working_time else "off",
        "KIA_SCHEDULER": "off",
        "KIA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "KIA_STATUS_RATE_LIMIT": "1000",
        "KIA_LOGIN_RATE_LIMIT": "1000",
    }
    kia = [sys.executable, "-c", "from api.cli import main; main()"]
    subprocess.run([*kia, "demo"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(
        [*kia, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-scheduler"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/masuk", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((home / "server.log").read_text()[-2000:]) from None
                time.sleep(0.3)
        yield base
    finally:
        stop(process, 10)
        log.close()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (its own browser download fails here); closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def console_errors(page) -> list[str]:  # noqa: ANN001
    """The script errors and CSP refusals ``page`` logs from now on (a failed request, e.g. an expected
    422 or 404, logs "Failed to load resource": left out, a test that cares watches the responses)."""
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None
    )
    return errors


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator:
    with chromium() as launched:
        yield launched


def shot(page, name: str) -> Path:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 5000
    return path


def submit_application(page, base: str, nik: str = "1471085005230001") -> dict:  # noqa: ANN001
    response = page.request.post(
        f"{base}/api/v1/applications",
        multipart={
            "data": json.dumps(application_data(nik=nik)),
            "kk": {"name": "kk.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES},
            "akta": {"name": "akta.png", "mimeType": "image/png", "buffer": PNG_BYTES},
        },
    )
    assert response.status == 201, response.text()
    return response.json()


def sign_in(page, base: str, username: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/masuk")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/masuk" not in page.url


def no_horizontal_scroll(page) -> bool:  # noqa: ANN001
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_admin_marks_incomplete_and_applicant_sees_perlu_perbaikan(server: str, browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    page = context.new_page()
    created = submit_application(page, server)
    code = created["code"]

    sign_in(page, server, "admin")
    assert page.url.endswith("/petugas/tugas")
    row = page.locator(f"tr[data-code='{code}']")
    assert "Verifikasi dan validasi" in row.inner_text()
    assert row.locator("time[data-due]").count() == 1  # the deadline as a countdown
    shot(page, "inbox")

    row.get_by_role("button", name="Ambil").click()
    page.wait_for_load_state()
    assert "Anda mengerjakan tugas ini" in page.inner_text("main")
    page.check("input[name=decision][value=incomplete]")
    page.fill("textarea[name=note]", "Foto KK buram, mohon unggah ulang.")
    shot(page, "task")
    page.fill("textarea[name=note]", "")
    page.click("#complete")  # no note: the form's own validation answers in Indonesian
    assert "Catatan wajib diisi" in page.inner_text("main")
    page.check("input[name=decision][value=incomplete]")
    page.fill("textarea[name=note]", "Foto KK buram, mohon unggah ulang.")
    page.click("#complete")
    page.wait_for_load_state()
    assert "selesai" in page.inner_text(".flash.ok")
    assert page.locator(f"tr[data-code='{code}']").count() == 0

    page.goto(f"{server}/petugas/permohonan/{code}")
    page.wait_for_selector("#diagram[data-ready=true]", timeout=20000)
    assert page.locator("#diagram .djs-element.kia-done").count() >= 2  # the path taken
    assert page.locator("#diagram [data-element-id=correct_application].kia-current").count() == 1
    assert "Perlu perbaikan" in page.inner_text("h1")
    shot(page, "application")
    context.close()

    applicant = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="id-ID")
    mobile = applicant.new_page()
    mobile.goto(f"{server}/status/{code}")
    assert "perlu perbaikan" in mobile.inner_text("#status-label").lower()
    assert no_horizontal_scroll(mobile)
    mobile.fill("input[name=pin]", created["pin"])
    mobile.click("form[action$='/pin'] button")
    mobile.wait_for_load_state()
    assert "Foto KK buram" in mobile.inner_text("main")
    assert no_horizontal_scroll(mobile)
    mobile.fill("textarea[name=response]", "Sudah saya perbaiki.")
    shot(mobile, "status")
    mobile.click("#send-correction")
    mobile.wait_for_load_state()
    assert "Perbaikan terkirim" in mobile.inner_text("main")
    assert mobile.inner_text("#status-label") == "Diajukan"
    assert no_horizontal_scroll(mobile)
    applicant.close()


def test_owner_changes_time_standard_in_modeler_and_deploys_version_2(server: str, browser) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="id-ID")
    page = context.new_page()
    sign_in(page, server, "pemilik")
    page.goto(f"{server}/pemilik/modeler")
    page.wait_for_selector("#modeler[data-ready=true]", timeout=30000)
    page.click("#modeler [data-element-id=verify_application]")
    # the time standard in the office's terms: 1 jam, counted in working time (PT1H underneath)
    amount, unit = (
        page.locator("#properties input[name=time_amount]"),
        page.locator("#properties select[name=time_unit]"),
    )
    assert (amount.input_value(), unit.input_value()) == ("1", "jam")
    assert page.locator("#properties select[name=time_basis]").input_value() == "working"
    assert page.locator("#properties select[name=form_key]").input_value() == "verification"

    amount.fill("")  # no time standard: validate marks the element
    amount.dispatch_event("change")
    page.click("#validate")
    page.wait_for_selector("#modeler-status[data-kind=error]")
    assert page.locator("#modeler [data-element-id=verify_application].kia-error").count() == 1
    assert "verify_application" in page.inner_text("#problems")

    page.click("#problems li.clickable")  # a problem in the list selects its element
    unit = page.locator("#properties select[name=time_unit]")
    unit.select_option("hari")
    amount = page.locator("#properties input[name=time_amount]")
    amount.fill("2")
    amount.dispatch_event("change")
    assert "P2D" in page.inner_text("#properties [data-iso]")
    unit.select_option("jam")  # 2 jam
    assert "PT2H" in page.inner_text("#properties [data-iso]")
    page.click("#validate")
    page.wait_for_selector("#modeler-status[data-kind=ok]")
    assert page.locator("#modeler .kia-error").count() == 0
    assert "9 dari 9 jalur uji coba berhasil" in page.inner_text("#modeler-status")
    shot(page, "modeler")
    page.click("#deploy")  # asks first, with the change note
    page.fill("#deploy-dialog textarea[name=note]", "Verifikasi diberi waktu 2 jam")
    page.click("#deploy-confirm")
    page.locator("#modeler-status", has_text="Versi 2 berhasil di-deploy").wait_for()

    page.goto(f"{server}/pemilik/versi")
    assert page.locator("tr[data-version='2']").count() == 1
    assert "Versi 2" in page.inner_text("table.versions")
    diff = page.inner_text("table.diff")
    assert "property time_standard" in diff and "PT1H" in diff and "PT2H" in diff
    shot(page, "versions")
    context.close()


def test_modeler_colours_the_failing_path_of_the_dry_run(server: str, browser) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="id-ID")
    page = context.new_page()
    sign_in(page, server, "pemilik")
    page.goto(f"{server}/pemilik/modeler")
    page.wait_for_selector("#modeler[data-ready=true]", timeout=30000)
    # the resubmission merge turned into a parallel gateway: it lints clean, but every run stalls there
    page.evaluate("xml => window.kiaModeler.importXML(xml)", with_parallel_merge())
    page.click("#validate")
    page.wait_for_selector("#modeler-status[data-kind=error]")
    assert "0 dari 1 jalur uji coba berhasil" in page.inner_text("#modeler-status")
    failed = page.locator("#modeler .kia-path-failed")
    walked = {failed.nth(i).get_attribute("data-element-id") for i in range(failed.count())}
    assert {"start_application", "submit_application", "gw_resubmit", "flow_start"} <= walked
    assert not walked & {"verify_application", "print_card", "hand_over_card"}  # beyond the stall: not coloured
    assert page.locator("#modeler [data-element-id=gw_resubmit].kia-error").count() == 1
    assert "macet" in page.inner_text("#problems li.path")
    shot(page, "modeler-dry-run")
    context.close()


def _leaving_asks(page) -> bool:  # noqa: ANN001
    """Whether leaving the page now would ask first (the modeler's beforeunload handler)."""
    return page.evaluate(
        "() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e);"
        " return e.defaultPrevented; }"
    )


def test_owner_deploys_with_a_note_and_rolls_back(server: str, browser) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="id-ID")
    page = context.new_page()
    sign_in(page, server, "pemilik")
    page.goto(f"{server}/pemilik/modeler")
    page.wait_for_selector("#modeler[data-ready=true]", timeout=30000)
    assert not _leaving_asks(page)
    page.click("#modeler [data-element-id=print_card]")
    amount = page.locator("#properties input[name=time_amount]")
    amount.fill("3")  # 3 jam
    amount.dispatch_event("change")
    assert "PT3H" in page.inner_text("#properties [data-iso]")
    assert _leaving_asks(page)  # unsaved changes

    page.click("#deploy")
    assert page.locator("#deploy-dialog").is_visible()
    page.click("#deploy-dialog button[value=cancel]")  # changed my mind: nothing deployed
    assert not page.locator("#deploy-dialog").is_visible()
    assert "berhasil" not in page.inner_text("#modeler-status")
    page.click("#deploy")
    page.click("#deploy-confirm")  # the note is required: the dialog stays open
    assert page.locator("#deploy-dialog").is_visible()
    page.fill("#deploy-dialog textarea[name=note]", "Pencetakan diberi waktu 3 jam")
    shot(page, "modeler-deploy-note")
    page.click("#deploy-confirm")
    status = page.locator("#modeler-status", has_text="berhasil di-deploy dan kini aktif")
    status.wait_for()
    number = int(status.inner_text().split("Versi ", 1)[1].split()[0])
    assert number >= 2 and not _leaving_asks(page)

    page.goto(f"{server}/pemilik/versi")
    row = page.locator(f"tr[data-version='{number}']")
    assert "Pencetakan diberi waktu 3 jam" in row.inner_text() and "aktif" in row.locator(".badge").inner_text()
    first = page.locator("tr[data-version='1']")
    first.locator("summary", has_text="Aktifkan kembali").click()
    first.locator("textarea[name=reason]").fill("Standar 3 jam belum disetujui Kepala Dinas")
    first.get_by_role("button", name="Aktifkan versi 1").click()
    page.wait_for_load_state()
    assert "Versi 1 aktif" in page.inner_text(".flash.ok")
    assert page.locator("tr[data-version='1'] .badge").inner_text() == "aktif"
    assert page.locator(f"tr[data-version='{number}'] .badge").count() == 0
    assert "Standar 3 jam belum disetujui Kepala Dinas" in page.inner_text("table.activations")
    shot(page, "versions-rollback")

    def running() -> dict[str, str]:
        page.goto(f"{server}/pemilik/versi")
        rows = page.locator("table.versions tbody tr")
        return {
            rows.nth(i).get_attribute("data-version"): rows.nth(i).locator("td.running").inner_text()
            for i in range(rows.count())
        }

    before = running()
    submit_application(page, server, "1471085005230042")  # new applications start on version 1 again
    after = running()
    assert int(after["1"]) == int(before["1"]) + 1 and after[str(number)] == before[str(number)]
    context.close()


def test_screenshots_are_copied_for_the_readme() -> None:
    """The README shows docs/screenshots; they must exist (refreshed from test-artifacts by hand)."""
    for name in ("inbox", "task", "application", "modeler", "status"):
        assert (ROOT / "docs" / "screenshots" / f"{name}.png").stat().st_size > 5000, name


if __name__ == "__main__":  # refresh the README's copies after a run
    for png in ARTIFACTS.glob("*.png"):
        shutil.copy(png, ROOT / "docs" / "screenshots" / png.name)
