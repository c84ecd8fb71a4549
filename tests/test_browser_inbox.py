"""Browser test of the inbox for hundreds of files (issue 19, point 1): Playwright drives Debian's Chromium
against ``kia serve`` (SQLite, then PostgreSQL) holding 250 open files. The admin sees the total, reaches the
oldest and the newest, finds one by code and by name, verifies one with "Simpan & berikutnya" and is told of
a file that arrived after the page was loaded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from engine.kia.security import display_code

from .helpers import seed_applications, seeded_name
from .test_browser import _requirements, chromium, console_errors, service_with_seeder, shot, sign_in

pytestmark = pytest.mark.browser

FILES = 250


def child(i: int) -> dict[str, str]:
    return {"name": seeded_name(i), "nik": f"147108500523{i + 1:04d}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The service with 250 open files, submitted through the engine's use case from this process."""
    problem = _requirements()
    if problem:
        pytest.skip(problem)
    home = tmp_path_factory.mktemp("kia-browser-inbox")
    with service_with_seeder(request.param, home) as (base, seeder):
        codes = seed_applications(seeder, [child(i) for i in range(FILES)])
        yield {"base": base, "seeder": seeder, "codes": codes}


def rows(page) -> list[str]:  # noqa: ANN001
    return page.eval_on_selector_all("tr[data-code]", "rows => rows.map(r => r.dataset.code)")


def count_text(page) -> str:  # noqa: ANN001
    return page.inner_text("nav.pager .count")


def test_admin_pages_searches_and_verifies_with_simpan_dan_berikutnya(served: dict[str, Any]) -> None:
    base, codes = served["base"], served["codes"]
    with chromium() as browser:
        page = browser.new_page()
        errors = console_errors(page)  # a failed request is listed by its address (below)
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        sign_in(page, base, "admin")

        page.goto(f"{base}/petugas/tugas")
        assert count_text(page) == f"Menampilkan 1–50 dari {FILES} berkas"
        assert rows(page) == codes[:50]  # the oldest first (deadline order, one standard for all)
        page.click("nav.pager >> nth=0 >> a[rel=last]")
        page.wait_for_load_state()
        assert count_text(page) == f"Menampilkan 201–{FILES} dari {FILES} berkas"
        assert rows(page)[-1] == codes[-1]  # the newest is reachable
        page.click("nav.pager >> nth=0 >> a[rel=prev]")
        assert count_text(page) == f"Menampilkan 151–200 dari {FILES} berkas"
        shot(page, "inbox_paging")

        page.fill("#inbox-q", display_code(codes[123]).lower())
        page.click("form.filters button[type=submit]")
        page.wait_for_load_state()
        assert rows(page) == [codes[123]] and count_text(page) == "Menampilkan 1–1 dari 1 berkas"
        page.fill("#inbox-q", seeded_name(77).split()[1].upper())
        page.click("form.filters button[type=submit]")
        page.wait_for_load_state()
        assert rows(page) == [codes[77]]
        shot(page, "inbox_search")

        page.goto(f"{base}/petugas/tugas")
        page.click(f'tr[data-code="{codes[0]}"] a.button')
        page.click("#claim")
        page.wait_for_load_state()
        page.check("input[name=decision][value=complete]")
        if page.locator("[name=override_reason]").count():  # the demo population has no such NIK
            page.fill("[name=override_reason]", "Dokumen asli sudah diperiksa di loket.")
        page.click("#complete-next")
        page.wait_for_load_state()
        assert re.search(r"/petugas/tugas/[0-9a-f-]{36}$", page.url), page.url
        assert codes[1] in page.inner_text("p.crumbs")  # the next file of the lane, by deadline
        assert "selesai" in page.inner_text("body")

        page.goto(f"{base}/petugas/tugas")
        assert count_text(page) == f"Menampilkan 1–50 dari {FILES - 1} berkas"
        assert page.is_hidden("#new-tasks")
        [late] = seed_applications(served["seeder"], [child(FILES)])
        page.evaluate("document.getElementById('new-tasks').dispatchEvent(new Event('kia:poll'))")
        page.wait_for_selector("#new-tasks:not([hidden])", timeout=10_000)
        assert "1 berkas baru masuk" in page.inner_text("#new-tasks")
        page.click("#new-tasks a")
        page.wait_for_load_state()
        assert count_text(page) == f"Menampilkan 1–50 dari {FILES} berkas"
        assert not errors, errors  # no CSP violation, no script error
        assert not [f for f in failed if not f.endswith("/favicon.ico")], failed
    assert late
