"""Browser test of the supervisor's dashboard (issue 19, point 6): Playwright drives Debian's Chromium against
``kia serve`` (SQLite, then PostgreSQL). Files verified by the admin are counted within their standard per
step (in the SOP's order, by name), per kecamatan and per officer; the page switches to weekly counts."""

from __future__ import annotations

from .test_browser import DEMO_PASSWORD, browser, server, shot, sign_in, submit_application  # noqa: F401


def test_supervisor_reads_files_within_and_over_the_standard(server: str, browser) -> None:  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    codes = [submit_application(page, server, f"14710850052300{n}")["code"] for n in (71, 72, 73)]
    admin = page.request.post(f"{server}/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {admin.json()['access_token']}"}
    tasks = page.request.get(f"{server}/api/v1/tasks", headers=headers).json()["items"]
    for task in [t for t in tasks if t["application_code"] in codes[:2]]:
        done = page.request.post(
            f"{server}/api/v1/tasks/{task['id']}/complete",
            headers=headers,
            data={"decision": "complete", "override_reason": "Dokumen asli sudah diperiksa di loket."},
        )
        assert done.status == 200, done.text()

    sign_in(page, server, "supervisor")
    page.goto(f"{server}/dasbor")
    steps = page.eval_on_selector_all("#standard-by-step tbody tr", "rows => rows.map(r => r.cells[0].innerText)")
    assert steps[:2] == ["Mendaftar dan mengajukan permohonan", "Verifikasi dan validasi data dengan SIAK"], steps
    verify = page.locator("#standard-by-step tr", has_text="Verifikasi dan validasi data dengan SIAK")
    assert [verify.locator("td").nth(i).inner_text() for i in (1, 2, 3)] == ["2", "0", "2"]
    assert "Binawidya" in page.inner_text("#standard-by-kecamatan")
    assert "Admin" in page.inner_text("#standard-by-officer")
    open_steps = page.eval_on_selector_all("#by-step tbody tr", "rows => rows.map(r => r.cells[0].innerText)")
    assert open_steps == ["Verifikasi dan validasi data dengan SIAK", "Input data ke SIAK dan cetak KIA"], open_steps
    assert "versi 1: 1 jam (jam kerja)" in page.inner_text("#sla")
    shot(page, "dashboard")

    page.select_option("select[name=per]", "minggu")
    page.click("#standards form button[type=submit]")
    page.wait_for_load_state()
    assert "per minggu" in page.inner_text("#standards h3 >> nth=3")
    assert page.locator("table[data-series=verify_application] tbody tr").count() == 1  # one week
    page.close()
