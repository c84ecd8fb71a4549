"""Browser test of the supervisor's pages (issue 19, point 5): Playwright drives Debian's Chromium against
``kia serve`` (SQLite, then PostgreSQL) on the office calendar. A supervisor adds an officer (who signs in
with the temporary password and must change it), resets a password (temporary, then a one-time link),
closes today (an open step's deadline moves on its task page), and filters the audit log. Screenshots of
each page go to ``test-artifacts/`` (copies in ``docs/screenshots/``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import ROOT
from .test_browser import (
    _requirements,
    _serve,
    chromium,
    console_errors,
    database,
    shot,
    sign_in,
    submit_application,
)

pytestmark = pytest.mark.browser

SCREENSHOTS = ("staff_accounts", "staff_account", "own_password", "reset_password", "calendar", "audit")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    problem = _requirements()
    if problem:
        pytest.skip(problem)
    home = tmp_path_factory.mktemp("kia-browser-supervisor")
    with database(request.param, home) as url:
        serving = _serve(home, url, working_time=True)
        base = next(serving)
        try:
            yield {"base": base, "kind": request.param}
        finally:
            serving.close()


def sign_in_with(page, base: str, username: str, password: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/masuk")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def choose_password(page, current: str | None, new: str) -> None:  # noqa: ANN001
    if current is not None:
        page.fill("input[name=current]", current)
    page.fill("input[name=new]", new)
    page.fill("input[name=repeated]", new)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_supervisor_adds_an_officer_resets_a_password_closes_a_day_and_reads_the_audit_log(
    served: dict[str, Any],
) -> None:
    base = served["base"]
    with chromium() as browser:
        boss = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID").new_page()
        errors = console_errors(boss)  # a refused form (422) or a used link (404) is expected: not listed
        code = submit_application(boss, base)["code"]

        # add an officer: the temporary password is shown once
        sign_in(boss, base, "supervisor")
        boss.click("nav >> text=Akun petugas")
        assert boss.url.endswith("/supervisor/akun")
        boss.fill("input[name=username]", "rina.admin")
        boss.fill("input[name=full_name]", "Rina Marlina")
        boss.check("input[name=roles][value=admin]")
        boss.get_by_role("button", name="Tambah petugas").click()
        temporary = boss.inner_text("#temporary-password").strip()
        assert re.fullmatch(r"[a-z0-9]{12}", temporary)
        assert "Rina Marlina" in boss.inner_text("table.accounts")
        shot(boss, "staff_accounts")

        # the officer signs in with it and must choose a new password first
        officer = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID").new_page()
        sign_in_with(officer, base, "rina.admin", temporary)
        assert officer.url.endswith("/akun/kata-sandi")
        assert "kata sandi sementara" in officer.inner_text("main")
        shot(officer, "own_password")
        officer.goto(f"{base}/petugas/tugas")
        assert officer.url.endswith("/akun/kata-sandi")  # nothing else before the new password
        choose_password(officer, temporary, "sandi-rina-2026")
        assert officer.url.endswith("/petugas/tugas")
        assert code in officer.inner_text("table")

        # the supervisor resets it: the officer's session ends, the new temporary password must be changed
        boss.goto(f"{base}/supervisor/akun/rina.admin")
        boss.check("input[name=how][value=password]")
        boss.get_by_role("button", name="Atur ulang kata sandi").click()
        second = boss.inner_text("#temporary-password").strip()
        assert second != temporary
        shot(boss, "staff_account")
        officer.goto(f"{base}/petugas/tugas")
        assert "/masuk" in officer.url
        sign_in_with(officer, base, "rina.admin", "sandi-rina-2026")
        assert "/masuk" in officer.url and "salah" in officer.inner_text("main")
        sign_in_with(officer, base, "rina.admin", second)
        assert officer.url.endswith("/akun/kata-sandi")
        choose_password(officer, second, "sandi-rina-baru")
        assert officer.url.endswith("/petugas/tugas")

        # a one-time link instead: it opens a page that sets the password once
        boss.goto(f"{base}/supervisor/akun/rina.admin")
        boss.check("input[name=how][value=link]")
        boss.get_by_role("button", name="Atur ulang kata sandi").click()
        link = boss.input_value("#reset-link")
        assert link.startswith(f"{base}/akun/atur-sandi?t=")
        visitor = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID").new_page()
        visitor.goto(link)
        assert "Rina Marlina" in visitor.inner_text("main")
        shot(visitor, "reset_password")
        choose_password(visitor, None, "dari-tautan-rina")
        assert visitor.url.endswith("/masuk")
        visitor.goto(link)
        assert "sudah dipakai" in visitor.inner_text("main")
        sign_in_with(visitor, base, "rina.admin", "dari-tautan-rina")
        assert visitor.url.endswith("/petugas/tugas")

        # close today: the open verification step's deadline moves to the next working day
        boss.goto(f"{base}/petugas/tugas")
        boss.click(f"tr[data-code='{code}'] >> text=Buka")
        boss.wait_for_load_state()
        task_url = boss.url
        before = boss.get_attribute(".deadline time[data-due]", "data-due")
        boss.click("nav >> text=Kalender kerja")
        today = boss.get_attribute("input[name=date]", "min")
        boss.fill("input[name=date]", "2020-01-01")
        boss.fill("input[name=reason]", "Terlambat")
        boss.evaluate("document.querySelector('input[name=date]').removeAttribute('min')")
        boss.get_by_role("button", name="Simpan perubahan kalender").click()
        assert "sudah lewat" in boss.inner_text("main")  # past days refused
        boss.fill("input[name=date]", today)
        boss.check("input[name=open][value='0']")
        boss.fill("input[name=reason]", "Banjir di sekitar kantor")
        boss.get_by_role("button", name="Simpan perubahan kalender").click()
        flash = boss.inner_text(".flash.ok")
        assert "Kantor tutup pada" in flash and "Batas waktu 1 tugas terbuka dihitung ulang" in flash
        assert "Banjir di sekitar kantor" in boss.inner_text(f"tr[data-day='{today}']")
        assert "Hari Raya Natal" in boss.inner_text("table.calendar-days")  # 25 December, this year
        shot(boss, "calendar")
        boss.goto(task_url)
        after = boss.get_attribute(".deadline time[data-due]", "data-due")
        assert after > before and after[:10] > today, (before, after)
        boss.goto(f"{base}/petugas/permohonan/{code}")
        assert "Batas waktu dihitung ulang" in boss.inner_text("main")

        # the audit log, filtered by officer and action, reads as a person would say it
        boss.click("nav >> text=Log audit")
        boss.select_option("select[name=pengguna]", "supervisor")
        boss.select_option("select[name=aksi]", "web.staff_account_reset")
        boss.click("form.filters button[type=submit]")
        table = boss.inner_text("table.audit tbody")
        assert table.count("Mengatur ulang kata sandi petugas") == 2 and "Rina Marlina" in table
        assert "Supervisor Layanan" in table and "web." not in table
        boss.select_option("select[name=aksi]", "")
        boss.select_option("select[name=pengguna]", "")
        boss.fill("input[name=kode]", code)
        boss.click("form.filters button[type=submit]")
        table = boss.inner_text("table.audit tbody")
        assert "Mengambil tugas" not in table and "Membuka tugas" in table and "Verifikasi" in table
        boss.fill("input[name=kode]", "")
        boss.select_option("select[name=pengguna]", "rina.admin")
        boss.click("form.filters button[type=submit]")
        table = boss.inner_text("table.audit tbody")
        assert "Kata sandi diatur lewat tautan sekali pakai" in table and "Masuk" in table
        shot(boss, "audit")
        assert not errors, errors


def test_supervisor_screenshots_are_kept_in_docs() -> None:
    for name in SCREENSHOTS:
        assert (ROOT / "docs" / "screenshots" / f"{name}.png").stat().st_size > 5000, name
